#pragma once
// Parameter conversions and checks shared by the operation families.

#include <cmath>
#include <functional>
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

// ---------------------------------------------------------------- stripes
// A long pass runs as a sequence of calls on rectangles of its output ("stripes"), with ctx.stop asked before each,
// so that a deadline or a cancellation ends it within one stripe. Every striped kernel gives the same bytes as one
// call on the whole image: which way of cutting is exact depends on the OpenCV function (ops_test checks each
// operation cut into many small stripes against OpenCV on the whole image).

struct StripeShape {
  // Fewest output rows (and, when columns are split, columns) of a stripe: a separable filter recomputes its
  // row pass for the kernel's height around every stripe, and a padded stripe (FilterPaddedInStripes) is
  // filtered with its halo, so stripes much thinner than the kernel cost more than they compute.
  int min_side = 1;
  // Whether a band of rows may be cut into column tiles as well, for kernels so wide that a band of min_side
  // rows is too much work. Only where exact: SIMD tails make some OpenCV filters (bilateral) depend on the row
  // length.
  bool split_columns = false;
};

// Calls run(stripe) for rectangles that cover an image of `size` once each, in order: the first about
// ctx.stripe_work of the ctx.pass_work that the whole image holds, the next ones sized to take ctx.stripe_seconds
// at the pace of the one before (no side under shape.min_side, though, but where the image is smaller); before
// each, ctx.stop is asked and a non-OK status returned as is.
absl::Status ForEachStripe(const CpuPassContext& ctx, cv::Size size, const StripeShape& shape,
                           const std::function<void(const cv::Rect& stripe)>& run);

using StripeFilter = std::function<void(const cv::Mat& src, cv::Mat& dst)>;

// dst = filter(src) in stripes, each filter(src(stripe), dst(stripe)): for per-pixel operations and for filters
// that read a ROI's neighbours from its parent image (OpenCV's filter engine and copyMakeBorder without
// BORDER_ISOLATED). dst is made `dst_type`, src's size. A single stripe is one call on the whole image.
absl::Status FilterInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int dst_type,
                             const StripeShape& shape, const StripeFilter& filter);

// The same for filters that make their own border at the edges of whatever Mat they are given (medianBlur) or
// that take their exact path only for a whole image (GaussianBlur's bit-exact 8-bit path): each stripe is
// filtered from a copy of it with `halo` neighbouring columns and rows, taken from the image where it has them
// and made by copyMakeBorder with `border` where it does not, and its middle kept.
absl::Status FilterPaddedInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int dst_type,
                                   const StripeShape& shape, cv::Size halo, int border, const StripeFilter& filter);

}  // namespace imgproc
