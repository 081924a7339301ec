#pragma once
// What every lane does on the CPU around the chain: decode the job's input, encode the chain's result.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/job.h"

namespace imgproc {

// The CPU ends that every lane shares, timed into `result`: decoding the job's image as its plan predicts (at
// the shrunk size of `shrink` where given: the lane then runs shrink->first_step in place of the plan's first),
// and encoding the chain's result as the request asked.
absl::StatusOr<cv::Mat> DecodeInput(const Job& job, JobResult& result, const ShrinkOnLoad* shrink = nullptr);
// For a lane that decoded without the CPU decoder (the CUDA backend's nvJPEG): the plan's conversion did not run,
// and the answer says why.
void ReportColorNotApplied(JobResult& result, absl::string_view why);
absl::Status EncodeOutput(const cv::Mat& image, const Plan& plan, JobResult& result);

}  // namespace imgproc
