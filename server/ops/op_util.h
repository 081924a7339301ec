#pragma once
// Parameter conversions and checks shared by the operation families.

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "ops/operation.h"

namespace imgproc {

// Largest kernel a filter accepts: bigger ones are a denial of service on the CPU lane, not a use case.
inline constexpr int kMaxKernelSize = 255;

// A value of a named enumeration argument and what it stands for.
template <typename T>
struct NamedValue {
  absl::string_view name;
  T value;
};

// The value `name` stands for in `table`; nullopt for a name it lacks (the frontend checks names against its
// schema, so that is a programming error the caller reports as such).
template <typename T, size_t N>
std::optional<T> LookUpName(const NamedValue<T> (&table)[N], absl::string_view name) {
  for (const NamedValue<T>& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// The Interpolation and BorderMode enumerations shared by several operations; absent means the first value
// (LINEAR, REFLECT_101), as in the proto.
int ToCvInterpolation(absl::string_view interpolation);
int ToCvBorder(absl::string_view border);

absl::Status CheckInRange(const StepBinder& b, const std::string& field, double value, double lo, double hi);
absl::Status CheckOddKernel(const StepBinder& b, const std::string& field, int size, int lo, int hi);
// Filters reject BORDER_WRAP: OpenCV's filter engine does not implement it.
absl::Status CheckFilterBorder(const StepBinder& b, absl::string_view border);
// A new image size produced by a step, against the server's limits.
absl::Status CheckOutputSize(const StepBinder& b, int64_t width, int64_t height);
// One value for all channels or one per channel; empty gives `fill`.
absl::StatusOr<cv::Scalar> ChannelValues(const StepBinder& b, const std::string& field, absl::Span<const double> values,
                                         double fill);

}  // namespace imgproc
