#include "ops/op_util.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace imgproc {

int ToCvInterpolation(absl::string_view interpolation) {
  static constexpr NamedValue<int> kInterpolations[] = {{"INTERPOLATION_LINEAR", cv::INTER_LINEAR},
                                                        {"INTERPOLATION_NEAREST", cv::INTER_NEAREST},
                                                        {"INTERPOLATION_CUBIC", cv::INTER_CUBIC},
                                                        {"INTERPOLATION_AREA", cv::INTER_AREA}};
  return LookUpName(kInterpolations, interpolation).value_or(cv::INTER_LINEAR);
}

int ToCvBorder(absl::string_view border) {
  static constexpr NamedValue<int> kBorders[] = {{"BORDER_MODE_REFLECT_101", cv::BORDER_REFLECT_101},
                                                 {"BORDER_MODE_CONSTANT", cv::BORDER_CONSTANT},
                                                 {"BORDER_MODE_REPLICATE", cv::BORDER_REPLICATE},
                                                 {"BORDER_MODE_REFLECT", cv::BORDER_REFLECT},
                                                 {"BORDER_MODE_WRAP", cv::BORDER_WRAP}};
  return LookUpName(kBorders, border).value_or(cv::BORDER_REFLECT_101);
}

absl::Status CheckInRange(const StepBinder& b, const std::string& field, double value, double lo, double hi) {
  if (std::isfinite(value) && value >= lo && value <= hi) return absl::OkStatus();
  return b.Invalid(field, absl::StrCat("must be in [", lo, ", ", hi, "] (got ", value, ")"));
}

absl::Status CheckOddKernel(const StepBinder& b, const std::string& field, int size, int lo, int hi) {
  if (size >= lo && size <= hi && size % 2 == 1) return absl::OkStatus();
  return b.Invalid(field, absl::StrCat("must be odd and in [", lo, ", ", hi, "] (got ", size, ")"));
}

absl::Status CheckFilterBorder(const StepBinder& b, absl::string_view border) {
  if (border != "BORDER_MODE_WRAP") return absl::OkStatus();
  return b.Invalid("border", "BORDER_MODE_WRAP is not supported by filters");
}

absl::Status CheckOutputSize(const StepBinder& b, int64_t width, int64_t height) {
  const ImageLimits& limits = b.limits();
  if (width < 1 || height < 1) {
    return b.Unsupported(absl::StrCat("output would be ", width, "x", height, ", empty"));
  }
  if (width > limits.max_width || height > limits.max_height || width * height > limits.max_pixels) {
    return b.Unsupported(absl::StrCat("output would be ", width, "x", height, ", over the server's limits (",
                                      limits.max_width, "x", limits.max_height, ", ", limits.max_pixels, " pixels)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<cv::Scalar> ChannelValues(const StepBinder& b, const std::string& field, absl::Span<const double> values,
                                         double fill) {
  const int channels = b.input().channels;
  const int count = static_cast<int>(values.size());
  if (count > 1 && count != channels) {
    return b.Invalid(
        field, absl::StrCat("needs 1 or ", channels, " values for a ", channels, "-channel image (got ", count, ")"));
  }
  cv::Scalar scalar = cv::Scalar::all(values.empty() ? fill : values[0]);
  for (int c = 0; c < count; ++c) {
    if (!std::isfinite(values[c])) return b.Invalid(field, "values must be finite");
    scalar[c] = values[c];
  }
  return scalar;
}

absl::Status ForEachStripe(const CpuPassContext& ctx, cv::Size size, const StripeShape& shape,
                           const std::function<void(const cv::Rect& stripe)>& run) {
  const int width = size.width, height = size.height;
  if (width <= 0 || height <= 0) return absl::OkStatus();
  const double pixels = static_cast<double>(width) * height;
  // Output pixels of the next stripe: first the pass's estimated work spread evenly over its output, then, where
  // the context asks for a duration, what the stripes so far did in that time (the estimates count taps, whose
  // cost differs between operations tenfold).
  double area =
      ctx.pass_work > 0 && ctx.stripe_work > 0 ? std::max(1.0, pixels * ctx.stripe_work / ctx.pass_work) : pixels;
  const int min_side = std::max(1, shape.min_side);
  // A side of `want`, at least min_side, and the rest of the image when less than min_side would remain.
  const auto side = [min_side](double want, int left) {
    int n = static_cast<int>(std::min<double>(left, std::max<double>(min_side, std::ceil(want))));
    return left - n < min_side ? left : n;
  };
  for (int y = 0, rows = 0; y < height; y += rows) {
    const bool whole_rows = !shape.split_columns || area / width >= min_side;
    rows = side(whole_rows ? area / width : std::sqrt(area), height - y);
    for (int x = 0, cols = 0; x < width; x += cols) {
      cols = whole_rows ? width : side(area / rows, width - x);
      if (ctx.stop) {
        if (absl::Status stop = ctx.stop(); !stop.ok()) return stop;
      }
      const auto start = std::chrono::steady_clock::now();
      run(cv::Rect(x, y, cols, rows));
      if (ctx.stripe_seconds > 0) {
        const double seconds =
            std::max(1e-6, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        // Grows or shrinks by at most 4x a stripe, so that one slow or fast stripe (a page fault, a flat region)
        // does not throw the size far off.
        const double done = static_cast<double>(rows) * cols;
        area = std::max(1.0, done * std::clamp(ctx.stripe_seconds / seconds, 0.25, 4.0));
      }
    }
  }
  return absl::OkStatus();
}

namespace {

// Writes `part` into dst(stripe) unless the filter already wrote there (an OpenCV function keeps a destination
// of the right size and type, but nothing promises it).
void Place(const cv::Mat& part, cv::Mat& dst, const cv::Rect& stripe) {
  cv::Mat target = dst(stripe);
  if (part.data != target.data) part.copyTo(target);
}

bool WholeImage(const cv::Rect& stripe, const cv::Mat& src) { return stripe.size() == src.size(); }

}  // namespace

absl::Status FilterInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int dst_type,
                             const StripeShape& shape, const StripeFilter& filter) {
  dst.create(src.size(), dst_type);
  return ForEachStripe(ctx, src.size(), shape, [&](const cv::Rect& stripe) {
    if (WholeImage(stripe, src)) {
      filter(src, dst);
      return;
    }
    cv::Mat part = dst(stripe);
    filter(src(stripe), part);
    Place(part, dst, stripe);
  });
}

absl::Status FilterPaddedInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int dst_type,
                                   const StripeShape& shape, cv::Size halo, int border, const StripeFilter& filter) {
  dst.create(src.size(), dst_type);
  cv::Mat padded, filtered;  // reused by the stripes
  return ForEachStripe(ctx, src.size(), shape, [&](const cv::Rect& stripe) {
    if (WholeImage(stripe, src)) {
      filter(src, dst);
      return;
    }
    // copyMakeBorder of a ROI takes what it can of the border from the parent image, the rest by `border`.
    cv::copyMakeBorder(src(stripe), padded, halo.height, halo.height, halo.width, halo.width, border);
    filter(padded, filtered);
    Place(filtered(cv::Rect(halo.width, halo.height, stripe.width, stripe.height)), dst, stripe);
  });
}

}  // namespace imgproc
