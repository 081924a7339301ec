#pragma once
// A backend's execution lane: what one worker thread uses to run jobs. A CPU lane is plain OpenCV; a CUDA
// lane owns a cv::cuda::Stream and the buffers it reuses. Lanes are created on the worker thread that
// uses them, so a CUDA lane can bind its thread to its device first.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "scheduler/job.h"

namespace imgproc {

class ExecutionLane {
 public:
  virtual ~ExecutionLane() = default;
  // Decode, run every step, encode. Fills all timings but queue wait and total.
  virtual absl::StatusOr<JobResult> Run(const Job& job) = 0;
};

using LaneFactory = std::function<std::unique_ptr<ExecutionLane>(int worker_index)>;

struct DeviceDescription {
  std::string name;  // "cpu", "cuda:0": what ProcessRequest.device names
  std::string kind;  // "cpu" or "cuda"
  std::string description;
  int64_t memory_total_bytes = 0;
  std::string compute_capability;
  std::string pci_bus_id;  // how NVML finds the same GPU whatever CUDA_VISIBLE_DEVICES renumbered
  std::string codecs;      // where images are decoded and encoded ("" on the CPU: libjpeg-turbo and friends)
};

}  // namespace imgproc

namespace imgproc {

// The CPU ends that every lane shares, timed into `result`: decoding the job's image as its plan predicts,
// and encoding the chain's result as the request asked.
absl::StatusOr<cv::Mat> DecodeInput(const Job& job, JobResult& result);
absl::Status EncodeOutput(const cv::Mat& image, const Plan& plan, JobResult& result);

}  // namespace imgproc
