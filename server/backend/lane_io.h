#pragma once
// What every lane does on the CPU around the chain: decode the job's input, encode the chain's result.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/job.h"

namespace imgproc {

// The CPU ends that every lane shares, timed into `result`: decoding the job's image as its plan predicts (at
// the shrunk size of `shrink` where given: the lane then runs shrink->first_step in place of the plan's first),
// and encoding the chain's result as the request asked.
absl::StatusOr<cv::Mat> DecodeInput(const Job& job, JobResult& result, const ShrinkOnLoad* shrink = nullptr);
absl::Status EncodeOutput(const cv::Mat& image, const Plan& plan, JobResult& result);
// The same for `job`: into its output slot where it has one (host memory only: FAILED_PRECONDITION for a device
// slot, which no CPU lane is given).
absl::Status EncodeOutput(const cv::Mat& image, const Job& job, JobResult& result);

}  // namespace imgproc
