#pragma once
// A CUDA lane: one worker's cv::cuda::Stream, the device and pinned buffers it reuses, and its nvJPEG decoder
// and encoder state.

#include <memory>

#include "backend/test_fault_injection.h"
#include "codec/gpu/nvjpeg_device.h"
#include "core/device.h"
#include "core/lane.h"

namespace imgproc {

struct CudaCodecOptions {
  bool cuda_decode = true;  // JPEGs the JPEG engine did not take: nvJPEG on the SMs before the CPU
  bool gpu_encode = true;   // JPEG answers: nvJPEG
};

// `codec` may be null (no nvJPEG): then every image is decoded and encoded on the CPU. A lane whose request meets a
// sticky CUDA error answers it with DeviceFailedError (core/device.h), which takes the device out of service.
// `test_fault`: TEST ONLY (--test_fault_injection=illegal_address_after=N); null in production.
LaneFactory CudaLaneFactory(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options,
                            std::shared_ptr<TestFaultCountdown> test_fault = nullptr);

}  // namespace imgproc
