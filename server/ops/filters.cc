// Filters and edges: gaussian_blur, box_filter, median_blur, bilateral_filter, sobel, laplacian, canny,
// threshold, morphology.
#include "ops/filters.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "ops/gaussian_fixed_point.h"
#include "ops/interruptible_call.h"
#include "ops/op_util.h"

namespace imgproc {
namespace {

const ParamInfo kFilterBorderParam{"border", "enum BorderMode", "REFLECT_101, CONSTANT, REPLICATE, REFLECT",
                                   "REFLECT_101", "WRAP is not supported by filters"};

// ---------------------------------------------------------------- gaussian_blur

// Kernels up to this size blur 8-bit stripes of the usual duration at a few percent of cost; a stripe of a larger
// one would be mostly halo, so those are computed row by row here (ops/gaussian_fixed_point.h).
constexpr int kLargestKernelInStripes = 63;

absl::Status BindGaussianBlur(const OpArgs& args, StepBinder& b) {
  const double sigma_x = args.Double("sigma_x"), sigma_y = args.Double("sigma_y");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_x", sigma_x, 0, 1000));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_y", sigma_y, 0, 1000));
  int kw = args.Int("kernel_width");
  int kh = args.Int("kernel_height") != 0 ? args.Int("kernel_height") : kw;
  if (kw == 0 && sigma_x == 0) return b.Invalid("kernel_width", "kernel_width or sigma_x is required");
  const double sx = sigma_x;
  const double sy = sigma_y != 0 ? sigma_y : sx;
  // OpenCV derives a zero kernel size from sigma this way; doing it here lets validation bound it.
  auto from_sigma = [&](double sigma) {
    return (cvRound(sigma * (b.input().depth == Depth::kU8 ? 3 : 4) * 2 + 1) | 1);
  };
  if (kw == 0) kw = from_sigma(sx);
  if (kh == 0) kh = from_sigma(sy);
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, args.Enum("border")));
  const GaussianBlurParams params{cv::Size(kw, kh), sx, sy, ToCvBorder(args.Enum("border"))};
  b.SetParams(params);
  b.SetCpuStriped([params](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    const auto blur = [&params](const cv::Mat& s, cv::Mat& d) {
      cv::GaussianBlur(s, d, params.ksize, params.sigma_x, params.sigma_y, params.border);
    };
    const int min_side = std::max(params.ksize.width, params.ksize.height);
    if (src.depth() == CV_8U && min_side > kLargestKernelInStripes) {
      return GaussianBlurFixedPointInRows(ctx, src, dst, params);
    }
    if (src.depth() == CV_8U || src.depth() == CV_16U) {
      // OpenCV takes its bit-exact fixed-point path for 8- and 16-bit images only when given a whole image (a ROI
      // gets the floating-point one), so each stripe is blurred as a copy with its neighbours, which are filtered too;
      // stripes of the usual duration are many halos wide for these kernels.
      const cv::Size halo(params.ksize.width / 2, params.ksize.height / 2);
      return FilterPaddedInStripes(ctx, src, dst, src.type(), {6 * std::max(halo.width, halo.height), true}, halo,
                                   params.border, blur);
    }
    // Whole rows: the float32 row filter's SIMD tail rounds differently, so a value depends on the row's length.
    return FilterInStripes(ctx, src, dst, src.type(), {min_side, false}, blur);
  });
  b.SetWork(PixelChannels(b.input()) * (kw + kh));  // separable: a row pass and a column pass
  return absl::OkStatus();
}

OpDefinition GaussianBlurDefinition() {
  return {"gaussian_blur",
          "Gaussian smoothing (cv::GaussianBlur)",
          {{"kernel_width", "int32", "odd, [1, 255]", "derived from sigma_x", ""},
           {"kernel_height", "int32", "odd, [1, 255]", "kernel_width", ""},
           {"sigma_x", "double", "[0, 1000]", "derived from the kernel size", ""},
           {"sigma_y", "double", "[0, 1000]", "sigma_x", ""},
           kFilterBorderParam},
          BindGaussianBlur,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(gaussian_blur, GaussianBlurDefinition());

// ---------------------------------------------------------------- box_filter

absl::Status BindBoxFilter(const OpArgs& args, StepBinder& b) {
  const int kw = args.Int("kernel_width");
  const int kh = args.Int("kernel_height") != 0 ? args.Int("kernel_height") : kw;
  b.SetWork(PixelChannels(b.input()) * kw * kh);  // every tap: NPP's box filter is not separable
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, args.Enum("border")));
  const BoxFilterParams params{cv::Size(kw, kh), !args.Bool("unnormalized"), ToCvBorder(args.Enum("border"))};
  b.SetParams(params);
  b.SetCpuStriped([params](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst, src.type(), {std::max(params.ksize.width, params.ksize.height), true},
                           [&params](const cv::Mat& s, cv::Mat& d) {
                             cv::boxFilter(s, d, -1, params.ksize, cv::Point(-1, -1), params.normalize, params.border);
                           });
  });
  return absl::OkStatus();
}

OpDefinition BoxFilterDefinition() {
  return {"box_filter",
          "Mean (or sum) over a rectangle (cv::boxFilter)",
          {{"kernel_width", "int32", "[1, 255]", "required", ""},
           {"kernel_height", "int32", "[1, 255]", "kernel_width", ""},
           {"unnormalized", "bool", "", "false", "sum instead of mean"},
           kFilterBorderParam},
          BindBoxFilter,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(box_filter, BoxFilterDefinition());

// ---------------------------------------------------------------- median_blur

absl::Status BindMedianBlur(const OpArgs& args, StepBinder& b) {
  const int k = args.Int("kernel_size");
  b.SetWork(PixelChannels(b.input()) * k * k);
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_size", k, 3, kMaxKernelSize));
  // cv::medianBlur: float images only with 3 or 5.
  if (k > 5 && b.input().depth != Depth::kU8) {
    return b.Invalid("kernel_size", absl::StrCat("over 5 needs uint8 pixels (the input is ", DepthName(b.input().depth),
                                                 ", for which OpenCV's median takes 3 or 5)"));
  }
  b.SetParams(MedianBlurParams{k});
  // cv::medianBlur replicates the edges of the Mat it is given, whatever its parent: each stripe is filtered as a
  // copy with its neighbours, replicated where the image ends.
  b.SetCpuStriped([k](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterPaddedInStripes(ctx, src, dst, src.type(), {3 * (k / 2), true}, cv::Size(k / 2, k / 2),
                                 cv::BORDER_REPLICATE, [k](const cv::Mat& s, cv::Mat& d) { cv::medianBlur(s, d, k); });
  });
  return absl::OkStatus();
}

OpDefinition MedianBlurDefinition() {
  return {"median_blur",
          "Median of a square window (cv::medianBlur)",
          {{"kernel_size", "int32", "odd, [3, 255]; over 5 uint8 only", "required", ""}},
          BindMedianBlur,
          {Depth::kU8, Depth::kU16, Depth::kF32}};  // cv::medianBlur: uint16 and float32 with kernel_size 3 or 5
}
IMGPROC_REGISTER_OPERATION(median_blur, MedianBlurDefinition());

// ---------------------------------------------------------------- bilateral_filter

// The float32 bilateral filter scales its colour weights by the minimum and maximum of the Mat it is given, so a
// stripe alone would weigh differently from the whole image. Each stripe is filtered as a ROI of its own buffer,
// whose rows are: one holding the image's minimum and maximum, then the `radius` rows above the stripe, the
// stripe's, and the `radius` rows below (the image's, or its border where it ends). The ROI runs from the first
// row through the stripe: it has the whole image's extremes, and their row is too far from the stripe to touch
// it; the rows below come from the parent buffer. Rows keep the image's width, since the filter's SIMD tail
// makes a value depend on the row's length. The radius + 1 rows above are filtered in vain, so stripes are at
// least 3 (radius + 1) rows (~1.3x the work of one call; diameter 31: 48-row stripes). The border rows count
// among the extremes. A constant border (0) outside the image's values is where one OpenCV call goes wrong: it
// takes the extremes of the image alone, and the border's distance from them indexes past its weight table
// (OpenCV 4.6, found by ASan). There the extremes row holds 0 as well, in every stripe, so that the weights span
// the image and its border: the answer is OpenCV's filter of the image with a far row of zeros added.
absl::Status FloatBilateralInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int diameter,
                                     const StripeFilter& filter, int border) {
  const int radius = std::max(diameter / 2, 1);
  double lo = 0, hi = 0;
  cv::minMaxLoc(src.reshape(1), &lo, &hi);
  const bool border_outside_values = border == cv::BORDER_CONSTANT && (lo > 0 || hi < 0);
  if (border_outside_values) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  dst.create(src.size(), src.type());
  cv::Mat buffer, filtered;
  // Stripes are at least 3 (radius + 1) rows, which for a large diameter is a long call: each is stopped inside
  // OpenCV's loop over its rows as well.
  absl::Status stopped_inside;
  const auto run = [&](const cv::Mat& s, cv::Mat& o) {
    if (stopped_inside.ok()) stopped_inside = RunInterruptibly(ctx, [&] { filter(s, o); });
  };
  IMGPROC_RETURN_IF_ERROR(ForEachStripe(ctx, src.size(), {3 * (radius + 1), false}, [&](const cv::Rect& stripe) {
    if (stripe.size() == src.size() && !border_outside_values) {
      run(src, dst);
      return;
    }
    buffer.create(1 + stripe.height + 2 * radius, src.cols, src.type());
    cv::Mat rows = buffer.rowRange(1, buffer.rows);
    // copyMakeBorder of a ROI takes the rows above and below from the parent image where it has them.
    cv::copyMakeBorder(src(stripe), rows, radius, radius, 0, 0, border);
    buffer.row(0).setTo(cv::Scalar::all(lo));
    buffer.ptr<float>(0)[0] = static_cast<float>(hi);
    run(buffer.rowRange(0, 1 + radius + stripe.height), filtered);
    if (stopped_inside.ok()) filtered.rowRange(1 + radius, filtered.rows).copyTo(dst(stripe));
  }));
  return stopped_inside;
}

absl::Status BindBilateralFilter(const OpArgs& args, StepBinder& b) {
  const double sc = args.Double("sigma_color"), ss = args.Double("sigma_space");
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_color", sc, 1e-3, 1e4));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_space", ss, 1e-3, 1e4));
  // cv::bilateralFilter's own rule for d <= 0; bounded here because cost grows with d squared.
  const int d = args.Int("diameter") > 0 ? args.Int("diameter") : cvRound(ss * 1.5) * 2 + 1;
  b.SetWork(PixelChannels(b.input()) * d * d);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "diameter", d, 1, 31));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, args.Enum("border")));
  const int border = ToCvBorder(args.Enum("border"));
  b.SetParams(BilateralFilterParams{d, sc, ss, border});
  b.SetCpuStriped([=](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) -> absl::Status {
    const auto filter = [=](const cv::Mat& s, cv::Mat& o) { cv::bilateralFilter(s, o, d, sc, ss, border); };
    if (src.depth() != CV_8U) return FloatBilateralInStripes(ctx, src, dst, d, filter, border);
    // Whole rows only: the 8-bit filter's SIMD tail makes a pixel's value depend on the row's length.
    return FilterInStripes(ctx, src, dst, src.type(), {1, false}, filter);
  });
  return absl::OkStatus();
}

OpDefinition BilateralFilterDefinition() {
  return {"bilateral_filter",
          "Edge-preserving smoothing (cv::bilateralFilter)",
          {{"diameter", "int32", "[1, 31]", "derived from sigma_space", "pixel neighbourhood"},
           {"sigma_color", "double", "[1e-3, 1e4]", "required", ""},
           {"sigma_space", "double", "[1e-3, 1e4]", "required", ""},
           kFilterBorderParam},
          BindBilateralFilter,
          {Depth::kU8, Depth::kF32}};  // cv::bilateralFilter: 8-bit and float images only
}
IMGPROC_REGISTER_OPERATION(bilateral_filter, BilateralFilterDefinition());

// ---------------------------------------------------------------- sobel, laplacian
// Both compute in float32. A uint8 image gets the absolute value saturated to uint8 (cv::convertScaleAbs),
// a float32 image the signed result.

absl::Status CheckDerivativeKernel(const StepBinder& b, int k) {
  if (k == 1 || k == 3 || k == 5 || k == 7) return absl::OkStatus();
  return b.Invalid("kernel_size", absl::StrCat("must be 1, 3, 5 or 7 (got ", k, ")"));
}

absl::Status BindSobel(const OpArgs& args, StepBinder& b) {
  const int k = args.Int("kernel_size", 3);
  IMGPROC_RETURN_IF_ERROR(CheckDerivativeKernel(b, k));
  b.SetWork(PixelChannels(b.input()) * std::max(k, 3) * std::max(k, 3));
  const int max_order = k == 1 ? 2 : k - 1;
  const int dx = args.Int("dx"), dy = args.Int("dy");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "dx", dx, 0, max_order));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "dy", dy, 0, max_order));
  if (dx + dy == 0) return b.Invalid("dx", "dx + dy must be > 0");
  const double scale = args.Double("scale", 1.0);
  const double delta = args.Double("delta");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "delta", delta, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, args.Enum("border")));
  const int border = ToCvBorder(args.Enum("border"));
  const bool to_u8 = b.input().depth == Depth::kU8;
  b.SetParams(SobelParams{dx, dy, k, scale, delta, border, to_u8});
  b.SetCpuStriped([=](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst,
                           to_u8 ? CV_MAKETYPE(CV_8U, src.channels()) : CV_MAKETYPE(CV_32F, src.channels()), {k, false},
                           [=](const cv::Mat& s, cv::Mat& d) {
                             if (!to_u8) {
                               cv::Sobel(s, d, CV_32F, dx, dy, k, scale, delta, border);
                               return;
                             }
                             cv::Mat f;
                             cv::Sobel(s, f, CV_32F, dx, dy, k, scale, delta, border);
                             cv::convertScaleAbs(f, d);
                           });
  });
  return absl::OkStatus();
}

OpDefinition SobelDefinition() {
  return {"sobel",
          "Image derivative (cv::Sobel); uint8 images get |result| saturated",
          {{"dx", "int32", "[0, kernel_size - 1]", "0", "order in x"},
           {"dy", "int32", "[0, kernel_size - 1]", "0", "order in y; dx + dy > 0"},
           {"kernel_size", "int32", "1, 3, 5, 7", "3", ""},
           {"scale", "double", "", "1", ""},
           {"delta", "double", "", "0", ""},
           kFilterBorderParam},
          BindSobel};
}
IMGPROC_REGISTER_OPERATION(sobel, SobelDefinition());

absl::Status BindLaplacian(const OpArgs& args, StepBinder& b) {
  const int k = args.Int("kernel_size", 1);
  IMGPROC_RETURN_IF_ERROR(CheckDerivativeKernel(b, k));
  b.SetWork(PixelChannels(b.input()) * std::max(k, 3) * std::max(k, 3));
  const double scale = args.Double("scale", 1.0);
  const double delta = args.Double("delta");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "delta", delta, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, args.Enum("border")));
  const int border = ToCvBorder(args.Enum("border"));
  const bool to_u8 = b.input().depth == Depth::kU8;
  b.SetParams(LaplacianParams{k, scale, delta, border, to_u8});
  b.SetCpuStriped([=](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst,
                           to_u8 ? CV_MAKETYPE(CV_8U, src.channels()) : CV_MAKETYPE(CV_32F, src.channels()), {k, false},
                           [=](const cv::Mat& s, cv::Mat& d) {
                             if (!to_u8) {
                               cv::Laplacian(s, d, CV_32F, k, scale, delta, border);
                               return;
                             }
                             cv::Mat f;
                             cv::Laplacian(s, f, CV_32F, k, scale, delta, border);
                             cv::convertScaleAbs(f, d);
                           });
  });
  return absl::OkStatus();
}

OpDefinition LaplacianDefinition() {
  return {"laplacian",
          "Laplacian (cv::Laplacian); uint8 images get |result| saturated",
          {{"kernel_size", "int32", "1, 3, 5, 7", "1", ""},
           {"scale", "double", "", "1", ""},
           {"delta", "double", "", "0", ""},
           kFilterBorderParam},
          BindLaplacian};
}
IMGPROC_REGISTER_OPERATION(laplacian, LaplacianDefinition());

// ---------------------------------------------------------------- canny

absl::Status BindCanny(const OpArgs& args, StepBinder& b) {
  const double t1 = args.Double("threshold1"), t2 = args.Double("threshold2");
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1}));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold1", t1, 0, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold2", t2, 0, 1e6));
  const int aperture = args.Int("aperture_size", 3);
  if (aperture != 3 && aperture != 5 && aperture != 7) {
    return b.Invalid("aperture_size", absl::StrCat("must be 3, 5 or 7 (got ", aperture, ")"));
  }
  const bool l2 = args.Bool("l2_gradient");
  b.SetWork(PixelChannels(b.input()) * 2 * aperture * aperture);  // two Sobel derivatives
  b.SetParams(CannyParams{t1, t2, aperture, l2});
  // Hysteresis follows edges across the whole image: stopped inside OpenCV's loops rather than cut into stripes.
  b.SetCpuInterruptible([=](const cv::Mat& src, cv::Mat& dst) { cv::Canny(src, dst, t1, t2, aperture, l2); });
  return absl::OkStatus();
}

OpDefinition CannyDefinition() {
  return {"canny",
          "Canny edges of a 1-channel uint8 image (put cvt_color BGR2GRAY first)",
          {{"threshold1", "double", "[0, 1e6]", "0", "hysteresis low"},
           {"threshold2", "double", "[0, 1e6]", "0", "hysteresis high"},
           {"aperture_size", "int32", "3, 5, 7", "3", "Sobel aperture"},
           {"l2_gradient", "bool", "", "false", ""}},
          BindCanny,
          {Depth::kU8}};
}
IMGPROC_REGISTER_OPERATION(canny, CannyDefinition());

// ---------------------------------------------------------------- threshold

absl::Status BindThreshold(const OpArgs& args, StepBinder& b) {
  static constexpr NamedValue<int> kTypes[] = {{"TYPE_BINARY", cv::THRESH_BINARY},
                                               {"TYPE_BINARY_INV", cv::THRESH_BINARY_INV},
                                               {"TYPE_TRUNC", cv::THRESH_TRUNC},
                                               {"TYPE_TOZERO", cv::THRESH_TOZERO},
                                               {"TYPE_TOZERO_INV", cv::THRESH_TOZERO_INV}};
  const absl::string_view type_name = args.Enum("type");
  std::optional<int> type_value = LookUpName(kTypes, type_name.empty() ? "TYPE_BINARY" : type_name);
  if (!type_value.has_value()) return b.Invalid("type", absl::StrCat("unknown value ", type_name));
  int type = *type_value;
  if (args.Bool("otsu")) {
    if (b.input().depth != Depth::kU8 || b.input().channels != 1) {
      return b.Invalid("otsu", absl::StrCat("needs a 1-channel uint8 image (input is ", b.input().DebugString(), ")"));
    }
    type |= cv::THRESH_OTSU;
  }
  const double thresh = args.Double("threshold");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold", thresh, -1e9, 1e9));
  const double max_value = args.Double("max_value", 255.0);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "max_value", max_value, -1e9, 1e9));
  b.SetParams(ThresholdParams{thresh, max_value, type});
  b.SetCpuStriped([=](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) -> absl::Status {
    const auto apply = [=](const cv::Mat& s, cv::Mat& d) { cv::threshold(s, d, thresh, max_value, type); };
    if ((type & cv::THRESH_OTSU) != 0) {  // the level comes from the whole image's histogram
      return RunInterruptibly(ctx, [&] { apply(src, dst); });
    }
    return FilterInStripes(ctx, src, dst, src.type(), {}, apply);
  });
  return absl::OkStatus();
}

OpDefinition ThresholdDefinition() {
  return {"threshold",
          "Fixed-level or Otsu threshold (cv::threshold)",
          {{"threshold", "double", "", "0", "ignored with otsu"},
           {"max_value", "double", "", "255", "for BINARY and BINARY_INV"},
           {"type", "enum Threshold.Type", "BINARY, BINARY_INV, TRUNC, TOZERO, TOZERO_INV", "BINARY", ""},
           {"otsu", "bool", "", "false", "1-channel uint8 only"}},
          BindThreshold};
}
IMGPROC_REGISTER_OPERATION(threshold, ThresholdDefinition());

// ---------------------------------------------------------------- morphology

// One erosion or dilation, in stripes: OpenCV's morphology filter reads a ROI's neighbours from its parent image,
// with the default border (the type's maximum for erosion, minimum for dilation) only beyond the whole image.
absl::Status MorphologyInStripes(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, int op,
                                 const cv::Mat& element) {
  // A rectangle is filtered in a row pass and a column pass (stripes of at least its size, tiles where a band of
  // them is too long); any other element tap by tap along whole rows, where narrower stripes lose the SIMD width
  // (an ellipse of 127 took twice as long in 250-pixel tiles).
  const bool rectangle = cv::countNonZero(element) == static_cast<int>(element.total());
  const StripeShape shape = rectangle ? StripeShape{std::max(element.cols, element.rows), true} : StripeShape{1, false};
  return FilterInStripes(ctx, src, dst, src.type(), shape,
                         [&](const cv::Mat& s, cv::Mat& d) { cv::morphologyEx(s, d, op, element); });
}

absl::Status BindMorphology(const OpArgs& args, StepBinder& b) {
  static constexpr NamedValue<int> kOps[] = {{"OP_ERODE", cv::MORPH_ERODE},       {"OP_DILATE", cv::MORPH_DILATE},
                                             {"OP_OPEN", cv::MORPH_OPEN},         {"OP_CLOSE", cv::MORPH_CLOSE},
                                             {"OP_GRADIENT", cv::MORPH_GRADIENT}, {"OP_TOPHAT", cv::MORPH_TOPHAT},
                                             {"OP_BLACKHAT", cv::MORPH_BLACKHAT}};
  static constexpr NamedValue<int> kShapes[] = {
      {"SHAPE_RECT", cv::MORPH_RECT}, {"SHAPE_CROSS", cv::MORPH_CROSS}, {"SHAPE_ELLIPSE", cv::MORPH_ELLIPSE}};
  const absl::string_view op_name = args.Enum("op"), shape_name = args.Enum("shape");
  const std::optional<int> op_value = LookUpName(kOps, op_name.empty() ? "OP_ERODE" : op_name);
  const std::optional<int> shape_value = LookUpName(kShapes, shape_name.empty() ? "SHAPE_RECT" : shape_name);
  if (!op_value.has_value()) return b.Invalid("op", absl::StrCat("unknown value ", op_name));
  if (!shape_value.has_value()) return b.Invalid("shape", absl::StrCat("unknown value ", shape_name));
  const int kw = args.Int("kernel_width", 3);
  const int kh = args.Int("kernel_height", kw);
  const int iterations = args.Int("iterations", 1);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "iterations", iterations, 1, 100));
  const int morph_op = *op_value;
  const int shape = *shape_value;
  const cv::Mat kernel = cv::getStructuringElement(shape, cv::Size(kw, kh));
  // Every tap of the structuring element counts: NPP computes them all, and OpenCV's CUDA filter turns a
  // rectangle repeated n times into one rectangle n times as wide (a 101x101 element with 50 iterations became
  // 5001x5001: four such requests on a 4K image held an H100 for minutes).
  b.SetWork(PixelChannels(b.input()) * kw * kh);
  // Erode, dilate, open and close run one erosion or dilation per pass (open: n erosions, then n dilations), so
  // the lane can stop between them; the same result as cv::morphologyEx with n iterations. Gradient, top-hat
  // and black-hat combine with the step's input and run as one pass.
  MorphologyParams params;
  params.op = morph_op;
  params.shape = shape;
  params.ksize = cv::Size(kw, kh);
  params.iterations = iterations;
  params.element = kernel;
  params.in_passes = morph_op == cv::MORPH_ERODE || morph_op == cv::MORPH_DILATE || morph_op == cv::MORPH_OPEN ||
                     morph_op == cv::MORPH_CLOSE;
  params.first_pass_op =
      morph_op == cv::MORPH_CLOSE || morph_op == cv::MORPH_DILATE ? cv::MORPH_DILATE : cv::MORPH_ERODE;
  params.second_pass_op = params.first_pass_op == cv::MORPH_ERODE ? cv::MORPH_DILATE : cv::MORPH_ERODE;
  params.two_phases = morph_op == cv::MORPH_OPEN || morph_op == cv::MORPH_CLOSE;
  b.SetParams(params);
  if (params.in_passes) {
    b.SetCpuPasses(params.two_phases ? 2 * iterations : iterations,
                   [params](int pass, const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
                     return MorphologyInStripes(ctx, src, dst, params.PassOp(pass), params.element);
                   });
    return absl::OkStatus();
  }
  // An erosion and a dilation of `iterations` each; OpenCV's CUDA filter runs a repeated rectangle as one
  // enlarged rectangle.
  const double taps = shape == cv::MORPH_RECT ? (iterations * (kw - 1.0) + 1) * (iterations * (kh - 1.0) + 1)
                                              : static_cast<double>(kw) * kh * iterations;
  b.SetWork(PixelChannels(b.input()) * taps * 2);
  // As erosions and dilations in stripes, then the per-pixel difference: the same values as cv::morphologyEx,
  // which erodes or dilates `iterations` times (with a rectangle once, with a rectangle as large as the
  // repetitions: the same minimum or maximum) and subtracts.
  b.SetCpuStriped([=](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) -> absl::Status {
    CpuPassContext part = ctx;
    part.pass_work = ctx.pass_work / (2 * iterations + 1);
    auto repeat = [&](int op, const cv::Mat& from, cv::Mat& to) -> absl::Status {
      cv::Mat current = from;
      for (int i = 0; i < iterations; ++i) {
        cv::Mat next;
        IMGPROC_RETURN_IF_ERROR(MorphologyInStripes(part, current, next, op, kernel));
        current = next;
      }
      to = current;
      return absl::OkStatus();
    };
    cv::Mat first, second;
    const auto subtract = [](const cv::Mat& a, const cv::Mat& b) {
      return [&a, &b](const cv::Rect& r, cv::Mat& d) { cv::subtract(a(r), b(r), d); };
    };
    std::function<void(const cv::Rect&, cv::Mat&)> combine;
    if (morph_op == cv::MORPH_GRADIENT) {  // dilated - eroded
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_DILATE, src, first));
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_ERODE, src, second));
      combine = subtract(first, second);
    } else if (morph_op == cv::MORPH_TOPHAT) {  // src - opened
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_ERODE, src, first));
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_DILATE, first, second));
      combine = subtract(src, second);
    } else {  // black-hat: closed - src
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_DILATE, src, first));
      IMGPROC_RETURN_IF_ERROR(repeat(cv::MORPH_ERODE, first, second));
      combine = subtract(second, src);
    }
    dst.create(src.size(), src.type());
    return ForEachStripe(part, src.size(), {}, [&](const cv::Rect& r) {
      cv::Mat out = dst(r);
      combine(r, out);
    });
  });
  return absl::OkStatus();
}

OpDefinition MorphologyDefinition() {
  return {"morphology",
          "Erode, dilate, open, close, gradient, top-hat, black-hat",
          {{"op", "enum Morphology.Op", "ERODE, DILATE, OPEN, CLOSE, GRADIENT, TOPHAT, BLACKHAT", "ERODE", ""},
           {"shape", "enum Morphology.Shape", "RECT, CROSS, ELLIPSE", "RECT", ""},
           {"kernel_width", "int32", "[1, 255]", "3", ""},
           {"kernel_height", "int32", "[1, 255]", "kernel_width", ""},
           {"iterations", "int32", "[1, 100]", "1", ""}},
          BindMorphology,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(morphology, MorphologyDefinition());

}  // namespace
}  // namespace imgproc
