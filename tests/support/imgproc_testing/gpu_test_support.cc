#include "imgproc_testing/gpu_test_support.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "pipeline/plan.h"
#include "transport/request_translation.h"

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

int UsableGpuCount() {
#if IMGPROC_WITH_CUDA
  if (!WhyNoGpu().empty()) return 0;
  absl::StatusOr<std::vector<DeviceDescription>> devices = ProbeCudaDevices();
  return devices.ok() ? static_cast<int>(devices->size()) : 0;
#else
  return 0;
#endif
}

DeviceDescription GpuDeviceDescription() {
  DeviceDescription d;
  d.name = "cuda:0";
  d.kind = "cuda";
  return d;
}

RunCounts RunRequests(WorkerPool& pool, const std::vector<imgproc::v1::ProcessRequest>& requests, int count) {
  std::atomic<int> ok{0}, failed{0}, done{0}, submitted{0};
  for (int i = 0; i < count; ++i) {
    const imgproc::v1::ProcessRequest& r = requests[i % requests.size()];
    absl::StatusOr<Plan> plan = BuildPlan(r, ImageLimits{});
    if (!plan.ok()) {
      ++failed;
      continue;
    }
    Job job;
    job.plan = std::make_shared<const Plan>(*std::move(plan));
    job.input = r.image();
    job.done = [&](absl::StatusOr<JobResult> result) {
      (result.ok() ? ok : failed)++;
      done++;
    };
    ++submitted;
    pool.Submit(std::move(job));  // a refusal, too, is answered through done
  }
  while (done < submitted) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return {ok.load(), failed.load()};
}

}  // namespace imgproc::testing
