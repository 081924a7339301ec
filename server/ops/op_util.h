#pragma once
// Parameter conversions and checks shared by the operation families.

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ops/operation.h"

namespace imgproc {

// Largest kernel a filter accepts: bigger ones are a denial of service on the CPU lane, not a use case.
inline constexpr int kMaxKernelSize = 255;

int ToCvInterpolation(pb::Interpolation interpolation);
const char* InterpolationName(pb::Interpolation interpolation);
int ToCvBorder(pb::BorderMode border);

absl::Status CheckInRange(const StepBinder& b, const std::string& field, double value, double lo, double hi);
absl::Status CheckOddKernel(const StepBinder& b, const std::string& field, int size, int lo, int hi);
// Filters reject BORDER_WRAP: OpenCV's filter engine does not implement it.
absl::Status CheckFilterBorder(const StepBinder& b, pb::BorderMode border);
// A new image size produced by a step, against the server's limits.
absl::Status CheckOutputSize(const StepBinder& b, int64_t width, int64_t height);
// One value for all channels or one per channel; empty gives `fill`.
absl::StatusOr<cv::Scalar> ChannelValues(const StepBinder& b, const std::string& field,
                                         const google::protobuf::RepeatedField<double>& values, double fill);

}  // namespace imgproc
