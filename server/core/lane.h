#pragma once
// A backend's execution lane: what one worker thread uses to run jobs. A CPU lane is plain OpenCV; a CUDA
// lane owns a cv::cuda::Stream and the buffers it reuses. Lanes are created on the worker thread that
// uses them, so a CUDA lane can bind its thread to its device first.

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "core/job.h"

namespace imgproc {

class ExecutionLane {
 public:
  virtual ~ExecutionLane() = default;
  // Decode, run every step, encode. Fills all timings but queue wait and total.
  virtual absl::StatusOr<JobResult> Run(const Job& job) = 0;
};

// Makes worker `worker_index`'s lane, on that worker's thread; a lane that cannot be set up (no device context,
// no memory for its buffers) is an error status, reported when the pool is built.
using LaneFactory = std::function<absl::StatusOr<std::unique_ptr<ExecutionLane>>(int worker_index)>;

}  // namespace imgproc
