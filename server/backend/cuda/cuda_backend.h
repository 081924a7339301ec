#pragma once
// The CUDA backend: for each visible GPU a pool of workers whose lanes own a cv::cuda::Stream each, in front
// of them a decode stage that batches JPEGs across requests on the GPU's JPEG engine, and nvJPEG state for
// decoding and encoding on the SMs. Steady state allocates nothing.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/cuda/cuda_codec_options.h"
#include "backend/cuda/cuda_lane.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// The CUDA runtime this build links and the driver's, as "13.0"; "none" where there is none.
struct CudaVersions {
  std::string runtime = "none";
  std::string driver = "none";
};
CudaVersions ReadCudaVersions();

// The usable CUDA devices, or why there are none (no driver, no device, built for other architectures).
absl::StatusOr<std::vector<DeviceDescription>> ProbeCudaDevices();

// Before any CUDA context exists: host threads waiting for a GPU sleep instead of spinning (the server
// has more lanes than cores would allow to spin), and the caching device allocator is installed;
// `memory_limit_bytes` caps each device (0: the whole device).
void PrepareCudaDevices(int count, int64_t memory_limit_bytes);

// What a pool of one GPU is made of.
struct CudaDeviceSetup {
  LaneFactory lanes;
  FrontStageFactory decode_stage;  // null without a JPEG engine
  std::string codec_note;          // for the log and GetServerInfo
};
CudaDeviceSetup SetUpCudaDevice(int device, const std::string& name, const CudaCodecOptions& options);

}  // namespace imgproc
