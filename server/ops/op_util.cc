#include "ops/op_util.h"

namespace imgproc {

int ToCvInterpolation(pb::Interpolation interpolation) {
  switch (interpolation) {
    case pb::INTERPOLATION_NEAREST: return cv::INTER_NEAREST;
    case pb::INTERPOLATION_CUBIC: return cv::INTER_CUBIC;
    case pb::INTERPOLATION_AREA: return cv::INTER_AREA;
    default: return cv::INTER_LINEAR;
  }
}

const char* InterpolationName(pb::Interpolation interpolation) {
  switch (interpolation) {
    case pb::INTERPOLATION_NEAREST: return "NEAREST";
    case pb::INTERPOLATION_CUBIC: return "CUBIC";
    case pb::INTERPOLATION_AREA: return "AREA";
    default: return "LINEAR";
  }
}

int ToCvBorder(pb::BorderMode border) {
  switch (border) {
    case pb::BORDER_CONSTANT: return cv::BORDER_CONSTANT;
    case pb::BORDER_REPLICATE: return cv::BORDER_REPLICATE;
    case pb::BORDER_REFLECT: return cv::BORDER_REFLECT;
    case pb::BORDER_WRAP: return cv::BORDER_WRAP;
    default: return cv::BORDER_REFLECT_101;
  }
}

absl::Status CheckInRange(const StepBinder& b, const std::string& field, double value, double lo, double hi) {
  if (std::isfinite(value) && value >= lo && value <= hi) return absl::OkStatus();
  return b.Invalid(field, absl::StrCat("must be in [", lo, ", ", hi, "] (got ", value, ")"));
}

absl::Status CheckOddKernel(const StepBinder& b, const std::string& field, int size, int lo, int hi) {
  if (size >= lo && size <= hi && size % 2 == 1) return absl::OkStatus();
  return b.Invalid(field, absl::StrCat("must be odd and in [", lo, ", ", hi, "] (got ", size, ")"));
}

absl::Status CheckFilterBorder(const StepBinder& b, pb::BorderMode border) {
  if (border != pb::BORDER_WRAP) return absl::OkStatus();
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

absl::StatusOr<cv::Scalar> ChannelValues(const StepBinder& b, const std::string& field,
                                         const google::protobuf::RepeatedField<double>& values, double fill) {
  const int channels = b.input().channels;
  if (values.size() > 1 && values.size() != channels) {
    return b.Invalid(field, absl::StrCat("needs 1 or ", channels, " values for a ", channels, "-channel image (got ",
                                         values.size(), ")"));
  }
  cv::Scalar scalar = cv::Scalar::all(values.empty() ? fill : values[0]);
  for (int c = 0; c < values.size(); ++c) {
    if (!std::isfinite(values[c])) return b.Invalid(field, "values must be finite");
    scalar[c] = values[c];
  }
  return scalar;
}

}  // namespace imgproc
