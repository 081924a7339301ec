// Geometry: resize, crop, pad, flip, rotate, warp_affine, warp_perspective.
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "ops/op_util.h"

#if IMGPROC_WITH_CUDA
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudawarping.hpp>
#endif

namespace imgproc {
namespace {

const ParamInfo kInterpolationParam{"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC, AREA", "LINEAR",
                                    ""};
const ParamInfo kBorderParam{"border", "enum BorderMode", "REFLECT_101, CONSTANT, REPLICATE, REFLECT, WRAP",
                             "REFLECT_101", "how pixels outside the image are made"};

// Source values an output value of an interpolating step reads.
double InterpolationTaps(int interpolation) {
  switch (interpolation) {
    case cv::INTER_NEAREST: return 1;
    case cv::INTER_CUBIC: return 16;
    default: return 4;  // linear; AREA is counted per input value
  }
}

// ---------------------------------------------------------------- resize

absl::Status BindResize(const pb::Operation& op, StepBinder& b) {
  const pb::Resize& p = op.resize();
  const ImageSpec& in = b.input();
  int64_t width = 0, height = 0;
  if (p.scale() != 0) {
    if (p.width() != 0 || p.height() != 0) return b.Invalid("scale", "set either scale or width/height, not both");
    IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", p.scale(), 1e-4, 1e4));
    width = std::llround(in.width * p.scale());
    height = std::llround(in.height * p.scale());
  } else {
    if (p.width() < 0) return b.Invalid("width", absl::StrCat("must be >= 0 (got ", p.width(), ")"));
    if (p.height() < 0) return b.Invalid("height", absl::StrCat("must be >= 0 (got ", p.height(), ")"));
    if (p.width() == 0 && p.height() == 0) return b.Invalid("width", "width, height or scale is required");
    const double fx = double(p.width()) / in.width, fy = double(p.height()) / in.height;
    if (p.width() > 0 && p.height() > 0 && p.keep_aspect()) {
      const double f = std::min(fx, fy);
      width = std::llround(in.width * f);
      height = std::llround(in.height * f);
    } else if (p.width() > 0 && p.height() > 0) {
      width = p.width();
      height = p.height();
    } else if (p.width() > 0) {  // the missing side follows the aspect ratio
      width = p.width();
      height = std::llround(in.height * fx);
    } else {
      width = std::llround(in.width * fy);
      height = p.height();
    }
    width = std::max<int64_t>(width, 1);
    height = std::max<int64_t>(height, 1);
  }
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  b.output().width = static_cast<int>(width);
  b.output().height = static_cast<int>(height);
  const cv::Size size(b.output().width, b.output().height);
  const int interpolation = ToCvInterpolation(p.interpolation());
  b.SetCpu(
      [size, interpolation](const cv::Mat& src, cv::Mat& dst) { cv::resize(src, dst, size, 0, 0, interpolation); });
  // Every input value is read once (AREA) and every output value reads its interpolation's taps.
  b.SetWork(PixelChannels(b.input()) + PixelChannels(b.output()) * InterpolationTaps(interpolation));
#if IMGPROC_WITH_CUDA
  if (interpolation == cv::INTER_LINEAR || interpolation == cv::INTER_CUBIC) {
    // cv::cuda::resize maps pixel corners where cv::resize maps pixel centres, which shifts a downscaled image
    // by up to half a source pixel. The same sampling as the CPU, as an inverse affine map:
    // src = (dst + 0.5) * scale - 0.5, edges replicated as cv::resize does.
    const double sx = double(in.width) / size.width, sy = double(in.height) / size.height;
    const cv::Mat inverse = (cv::Mat_<double>(2, 3) << sx, 0, (sx - 1) / 2, 0, sy, (sy - 1) / 2);
    b.SetCuda([size, interpolation, inverse](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      cv::cuda::warpAffine(src, dst, inverse, size, interpolation | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE,
                           cv::Scalar(), ctx.stream);
    });
  } else {
    b.SetCuda([size, interpolation](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      cv::cuda::resize(src, dst, size, 0, 0, interpolation, ctx.stream);
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition ResizeDefinition() {
  return {"resize",
          pb::Operation::kResize,
          "Scale to a size or by a factor",
          {{"width", "int32", ">= 0", "0", "target width; 0: derived from height and the aspect ratio"},
           {"height", "int32", ">= 0", "0", "target height; 0: derived from width and the aspect ratio"},
           {"scale", "double", "[1e-4, 1e4]", "0 (unset)", "factor for both sides, instead of width/height"},
           kInterpolationParam,
           {"keep_aspect", "bool", "", "false", "fit inside width x height keeping the aspect ratio"}},
          true,
          "CUBIC uses OpenCV CUDA's bicubic kernel (a = -0.5; the CPU's is a = -0.75): values differ by a few levels",
          BindResize};
}
IMGPROC_REGISTER_OPERATION(resize, ResizeDefinition());

// ---------------------------------------------------------------- crop

absl::Status BindCrop(const pb::Operation& op, StepBinder& b) {
  const pb::Crop& p = op.crop();
  const ImageSpec& in = b.input();
  if (p.x() < 0 || p.x() >= in.width)
    return b.Invalid("x", absl::StrCat("must be in [0, ", in.width - 1, "] (got ", p.x(), ")"));
  if (p.y() < 0 || p.y() >= in.height)
    return b.Invalid("y", absl::StrCat("must be in [0, ", in.height - 1, "] (got ", p.y(), ")"));
  if (p.width() < 1 || int64_t{p.x()} + p.width() > in.width) {
    return b.Invalid("width",
                     absl::StrCat("must be in [1, ", in.width - p.x(), "] for x=", p.x(), " (got ", p.width(), ")"));
  }
  if (p.height() < 1 || int64_t{p.y()} + p.height() > in.height) {
    return b.Invalid("height",
                     absl::StrCat("must be in [1, ", in.height - p.y(), "] for y=", p.y(), " (got ", p.height(), ")"));
  }
  b.output().width = p.width();
  b.output().height = p.height();
  const cv::Rect roi(p.x(), p.y(), p.width(), p.height());
  // A copy, not a view: the next step must never write into memory it reads.
  b.SetCpu([roi](const cv::Mat& src, cv::Mat& dst) { src(roi).copyTo(dst); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([roi](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    src(roi).copyTo(dst, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition CropDefinition() {
  return {"crop",
          pb::Operation::kCrop,
          "Cut out a rectangle",
          {{"x", "int32", "[0, width)", "0", "left column"},
           {"y", "int32", "[0, height)", "0", "top row"},
           {"width", "int32", "[1, width - x]", "required", ""},
           {"height", "int32", "[1, height - y]", "required", ""}},
          true,
          "",
          BindCrop};
}
IMGPROC_REGISTER_OPERATION(crop, CropDefinition());

// ---------------------------------------------------------------- pad

absl::Status BindPad(const pb::Operation& op, StepBinder& b) {
  const pb::Pad& p = op.pad();
  const ImageSpec& in = b.input();
  const std::pair<const char*, int> sides[] = {
      {"top", p.top()}, {"bottom", p.bottom()}, {"left", p.left()}, {"right", p.right()}};
  for (const auto& [field, value] : sides) {
    if (value < 0) return b.Invalid(field, absl::StrCat("must be >= 0 (got ", value, ")"));
  }
  const int64_t width = int64_t{in.width} + p.left() + p.right();
  const int64_t height = int64_t{in.height} + p.top() + p.bottom();
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  absl::StatusOr<cv::Scalar> value = ChannelValues(b, "value", p.value(), 0);
  if (!value.ok()) return value.status();
  b.output().width = static_cast<int>(width);
  b.output().height = static_cast<int>(height);
  const int border = ToCvBorder(p.border());
  const int top = p.top(), bottom = p.bottom(), left = p.left(), right = p.right();
  const cv::Scalar fill = *value;
  b.SetCpu(
      [=](const cv::Mat& src, cv::Mat& dst) { cv::copyMakeBorder(src, dst, top, bottom, left, right, border, fill); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::cuda::copyMakeBorder(src, dst, top, bottom, left, right, border, fill, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition PadDefinition() {
  return {"pad",
          pb::Operation::kPad,
          "Add a border",
          {{"top", "int32", ">= 0", "0", ""},
           {"bottom", "int32", ">= 0", "0", ""},
           {"left", "int32", ">= 0", "0", ""},
           {"right", "int32", ">= 0", "0", ""},
           kBorderParam,
           {"value", "repeated double", "1 or one per channel", "0", "colour for BORDER_CONSTANT"}},
          true,
          "",
          BindPad};
}
IMGPROC_REGISTER_OPERATION(pad, PadDefinition());

// ---------------------------------------------------------------- flip

absl::Status BindFlip(const pb::Operation& op, StepBinder& b) {
  int code = 1;  // cv::flip: 1 mirrors around the vertical axis (left-right)
  switch (op.flip().axis()) {
    case pb::Flip::AXIS_HORIZONTAL: code = 1; break;
    case pb::Flip::AXIS_VERTICAL: code = 0; break;
    case pb::Flip::AXIS_BOTH: code = -1; break;
    default: return b.Invalid("axis", absl::StrCat("unknown value ", op.flip().axis()));
  }
  b.SetCpu([code](const cv::Mat& src, cv::Mat& dst) { cv::flip(src, dst, code); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([code](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::cuda::flip(src, dst, code, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition FlipDefinition() {
  return {"flip",
          pb::Operation::kFlip,
          "Mirror the image",
          {{"axis", "enum Flip.Axis", "HORIZONTAL, VERTICAL, BOTH", "HORIZONTAL", "HORIZONTAL mirrors left-right"}},
          true,
          "",
          BindFlip};
}
IMGPROC_REGISTER_OPERATION(flip, FlipDefinition());

// ---------------------------------------------------------------- warps (affine, perspective, rotate)

struct WarpParams {
  cv::Mat matrix;  // 2x3 or 3x3, CV_64F, always mapping source to destination
  cv::Size size;
  int interpolation = cv::INTER_LINEAR;
  int border = cv::BORDER_CONSTANT;
  cv::Scalar border_value;
};

void SetWarp(StepBinder& b, const WarpParams& w) {
  b.output().width = w.size.width;
  b.output().height = w.size.height;
  b.SetWork(PixelChannels(b.output()) * InterpolationTaps(w.interpolation));
  const bool affine = w.matrix.rows == 2;
  b.SetCpu([w, affine](const cv::Mat& src, cv::Mat& dst) {
    if (affine) {
      cv::warpAffine(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value);
    } else {
      cv::warpPerspective(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value);
    }
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([w, affine](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    if (affine) {
      cv::cuda::warpAffine(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value, ctx.stream);
    } else {
      cv::cuda::warpPerspective(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value, ctx.stream);
    }
  });
#endif
}

template <typename Params>
absl::Status BindWarp(const Params& p, int rows, StepBinder& b) {
  const int expected = rows * 3;
  if (p.matrix_size() != expected) {
    return b.Invalid("matrix",
                     absl::StrCat("needs ", expected, " values, row-major ", rows, "x3 (got ", p.matrix_size(), ")"));
  }
  WarpParams w;
  w.matrix = cv::Mat(rows, 3, CV_64F);
  for (int i = 0; i < expected; ++i) {
    if (!std::isfinite(p.matrix(i))) return b.Invalid("matrix", "values must be finite");
    w.matrix.at<double>(i / 3, i % 3) = p.matrix(i);
  }
  const double det = rows == 2 ? cv::determinant(w.matrix.colRange(0, 2)) : cv::determinant(w.matrix);
  if (std::abs(det) < 1e-12) return b.Invalid("matrix", "is singular (determinant 0)");
  if (p.inverse_map()) {
    // Both lanes get the forward matrix, so the CPU and CUDA paths read the same parameters.
    if (rows == 2) {
      cv::invertAffineTransform(w.matrix, w.matrix);
    } else {
      w.matrix = w.matrix.inv();
    }
  }
  if (p.width() < 0 || p.height() < 0) return b.Invalid(p.width() < 0 ? "width" : "height", "must be >= 0");
  const int64_t width = p.width() > 0 ? p.width() : b.input().width;
  const int64_t height = p.height() > 0 ? p.height() : b.input().height;
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  w.size = cv::Size(static_cast<int>(width), static_cast<int>(height));
  if (p.interpolation() == pb::INTERPOLATION_AREA) return b.Invalid("interpolation", "AREA is for resize only");
  w.interpolation = ToCvInterpolation(p.interpolation());
  w.border = ToCvBorder(p.border());
  absl::StatusOr<cv::Scalar> value = ChannelValues(b, "border_value", p.border_value(), 0);
  if (!value.ok()) return value.status();
  w.border_value = *value;
  SetWarp(b, w);
  return absl::OkStatus();
}

std::vector<ParamInfo> WarpParamsInfo(const char* matrix_doc) {
  return {{"matrix", "repeated double", matrix_doc, "required", "maps source to destination unless inverse_map"},
          {"width", "int32", ">= 0", "input width", "output width"},
          {"height", "int32", ">= 0", "input height", "output height"},
          {"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC", "LINEAR", ""},
          kBorderParam,
          {"border_value", "repeated double", "1 or one per channel", "0", "colour for BORDER_CONSTANT"},
          {"inverse_map", "bool", "", "false", "matrix maps destination to source"}};
}

OpDefinition WarpAffineDefinition() {
  return {"warp_affine",
          pb::Operation::kWarpAffine,
          "Affine transform (cv::warpAffine)",
          WarpParamsInfo("6 values, 2x3, non-singular"),
          true,
          "CUBIC: bicubic a = -0.5 on the GPU, -0.75 on the CPU",
          [](const pb::Operation& op, StepBinder& b) { return BindWarp(op.warp_affine(), 2, b); }};
}
IMGPROC_REGISTER_OPERATION(warp_affine, WarpAffineDefinition());

OpDefinition WarpPerspectiveDefinition() {
  return {"warp_perspective",
          pb::Operation::kWarpPerspective,
          "Perspective transform (cv::warpPerspective)",
          WarpParamsInfo("9 values, 3x3, non-singular"),
          true,
          "CUBIC: bicubic a = -0.5 on the GPU, -0.75 on the CPU",
          [](const pb::Operation& op, StepBinder& b) { return BindWarp(op.warp_perspective(), 3, b); }};
}
IMGPROC_REGISTER_OPERATION(warp_perspective, WarpPerspectiveDefinition());

absl::Status BindRotate(const pb::Operation& op, StepBinder& b) {
  const pb::Rotate& p = op.rotate();
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "angle", p.angle(), -1e6, 1e6));
  if (p.interpolation() == pb::INTERPOLATION_AREA) return b.Invalid("interpolation", "AREA is for resize only");
  const ImageSpec& in = b.input();
  double angle = std::fmod(p.angle(), 360.0);
  if (angle < 0) angle += 360.0;
  const bool quarter_turn = std::fmod(angle, 90.0) == 0.0;
  WarpParams w;
  if (quarter_turn) {
    // Exact: an integer pixel mapping with nearest-neighbour sampling, identical on CPU and GPU.
    const int turns = static_cast<int>(angle / 90.0);
    const int W = in.width, H = in.height;
    const double m[4][6] = {{1, 0, 0, 0, 1, 0},                            // 0
                            {0, 1, 0, -1, 0, double(W - 1)},               // 90 counter-clockwise
                            {-1, 0, double(W - 1), 0, -1, double(H - 1)},  // 180
                            {0, -1, double(H - 1), 1, 0, 0}};              // 270
    w.matrix = cv::Mat(2, 3, CV_64F, const_cast<double*>(m[turns])).clone();
    w.size = turns % 2 == 1 ? cv::Size(H, W) : cv::Size(W, H);
    w.interpolation = cv::INTER_NEAREST;
    w.border = cv::BORDER_CONSTANT;
    SetWarp(b, w);  // the CUDA path; the CPU has a dedicated function
    static constexpr int kRotateCode[] = {-1, cv::ROTATE_90_COUNTERCLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_CLOCKWISE};
    const int code = kRotateCode[turns];
    b.SetCpu([code](const cv::Mat& src, cv::Mat& dst) {
      if (code < 0) {
        src.copyTo(dst);
      } else {
        cv::rotate(src, dst, code);
      }
    });
    return absl::OkStatus();
  } else {
    const cv::Point2f center((in.width - 1) / 2.0f, (in.height - 1) / 2.0f);
    w.matrix = cv::getRotationMatrix2D(center, angle, 1.0);
    w.size = cv::Size(in.width, in.height);
    if (p.expand()) {
      const cv::Rect2f box =
          cv::RotatedRect(cv::Point2f(), cv::Size2f(in.width, in.height), float(angle)).boundingRect2f();
      w.size = cv::Size(static_cast<int>(std::ceil(box.width - 1e-3)), static_cast<int>(std::ceil(box.height - 1e-3)));
      w.matrix.at<double>(0, 2) += (w.size.width - 1) / 2.0 - center.x;
      w.matrix.at<double>(1, 2) += (w.size.height - 1) / 2.0 - center.y;
    }
    IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, w.size.width, w.size.height));
    w.interpolation = ToCvInterpolation(p.interpolation());
    w.border = ToCvBorder(p.border());
    absl::StatusOr<cv::Scalar> value = ChannelValues(b, "border_value", p.border_value(), 0);
    if (!value.ok()) return value.status();
    w.border_value = *value;
  }
  SetWarp(b, w);
  return absl::OkStatus();
}

OpDefinition RotateDefinition() {
  return {"rotate",
          pb::Operation::kRotate,
          "Rotate counter-clockwise; multiples of 90 degrees are exact",
          {{"angle", "double", "any, degrees", "0", "counter-clockwise"},
           {"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC", "LINEAR", "other angles only"},
           kBorderParam,
           {"border_value", "repeated double", "1 or one per channel", "0", ""},
           {"expand", "bool", "", "false", "grow the output to hold the whole rotated image"}},
          true,
          "",
          BindRotate};
}
IMGPROC_REGISTER_OPERATION(rotate, RotateDefinition());

}  // namespace
}  // namespace imgproc
