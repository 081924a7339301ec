#pragma once
// The CUDA backend: for each visible GPU a pool of workers; each worker's lane owns a cv::cuda::Stream,
// pinned host staging buffers and device buffers that it reuses, so that steady state allocates nothing.

#include <vector>

#include "absl/status/statusor.h"
#include "backend/lane.h"

namespace imgproc {

// The usable CUDA devices, or why there are none (no driver, no device, built for other architectures).
absl::StatusOr<std::vector<DeviceDescription>> ProbeCudaDevices();

// Installs the caching device allocator; `memory_limit_bytes` caps each device (0: the whole device).
void InstallCudaAllocator(int64_t memory_limit_bytes);

LaneFactory CudaLaneFactory(int device);

}  // namespace imgproc
