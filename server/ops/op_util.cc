#include "ops/op_util.h"

namespace imgproc {

int ToCvInterpolation(absl::string_view interpolation) {
  static constexpr NamedValue<int> kInterpolations[] = {{"INTERPOLATION_LINEAR", cv::INTER_LINEAR},
                                                        {"INTERPOLATION_NEAREST", cv::INTER_NEAREST},
                                                        {"INTERPOLATION_CUBIC", cv::INTER_CUBIC},
                                                        {"INTERPOLATION_AREA", cv::INTER_AREA}};
  return LookUpName(kInterpolations, interpolation).value_or(cv::INTER_LINEAR);
}

int ToCvBorder(absl::string_view border) {
  static constexpr NamedValue<int> kBorders[] = {{"BORDER_REFLECT_101", cv::BORDER_REFLECT_101},
                                                 {"BORDER_CONSTANT", cv::BORDER_CONSTANT},
                                                 {"BORDER_REPLICATE", cv::BORDER_REPLICATE},
                                                 {"BORDER_REFLECT", cv::BORDER_REFLECT},
                                                 {"BORDER_WRAP", cv::BORDER_WRAP}};
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
  if (border != "BORDER_WRAP") return absl::OkStatus();
  return b.Invalid("border", "BORDER_WRAP is not supported by filters");
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

}  // namespace imgproc
