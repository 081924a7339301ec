#include "common/gpu_test_support.h"

#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace imgproc::testing {

std::string WhyNoGpu() {
#if IMGPROC_WITH_CUDA
  static const std::string reason = [] {
    absl::StatusOr<std::vector<DeviceDescription>> devices = ProbeCudaDevices();
    if (!devices.ok()) return std::string("no usable CUDA device: ") + std::string(devices.status().message());
    PrepareCudaDevices(static_cast<int>(devices->size()), 0);
    return std::string();
  }();
  return reason;
#else
  return "this build has no CUDA backend (OpenCV without CUDA modules; see scripts/build-opencv-cuda.sh)";
#endif
}

DeviceDescription GpuDeviceDescription() {
  DeviceDescription d;
  d.name = "cuda:0";
  d.kind = "cuda";
  return d;
}

}  // namespace imgproc::testing
