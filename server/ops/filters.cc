// Filters and edges: gaussian_blur, box_filter, median_blur, bilateral_filter, sobel, laplacian, canny,
// threshold, morphology.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "ops/cuda_util.h"
#include "ops/op_util.h"

#if IMGPROC_WITH_CUDA
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudafilters.hpp>
#include <opencv2/cudaimgproc.hpp>
#endif

namespace imgproc {
namespace {

#if IMGPROC_WITH_CUDA
// OpenCV's separable CUDA filters take kernels of at most 32 taps.
constexpr int kMaxCudaSeparableKernel = 32;
#endif

const ParamInfo kFilterBorderParam{"border", "enum BorderMode", "REFLECT_101, CONSTANT, REPLICATE, REFLECT",
                                   "REFLECT_101", "WRAP is not supported by filters"};

// ---------------------------------------------------------------- gaussian_blur

absl::Status BindGaussianBlur(const pb::Operation& op, StepBinder& b) {
  const pb::GaussianBlur& p = op.gaussian_blur();
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_x", p.sigma_x(), 0, 1000));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_y", p.sigma_y(), 0, 1000));
  int kw = p.kernel_width();
  int kh = p.kernel_height() != 0 ? p.kernel_height() : kw;
  if (kw == 0 && p.sigma_x() == 0) return b.Invalid("kernel_width", "kernel_width or sigma_x is required");
  const double sx = p.sigma_x();
  const double sy = p.sigma_y() != 0 ? p.sigma_y() : sx;
  // OpenCV derives a zero kernel size from sigma this way; doing it here lets validation bound it.
  auto from_sigma = [&](double sigma) {
    return (cvRound(sigma * (b.input().depth == Depth::kU8 ? 3 : 4) * 2 + 1) | 1);
  };
  if (kw == 0) kw = from_sigma(sx);
  if (kh == 0) kh = from_sigma(sy);
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, p.border()));
  const cv::Size ksize(kw, kh);
  const int border = ToCvBorder(p.border());
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) { cv::GaussianBlur(src, dst, ksize, sx, sy, border); });
  b.SetWork(PixelChannels(b.input()) * (kw + kh));  // separable: a row pass and a column pass
#if IMGPROC_WITH_CUDA
  if (kw <= kMaxCudaSeparableKernel && kh <= kMaxCudaSeparableKernel) {
    b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      ctx.objects
          .Get<cv::cuda::Filter>(
              absl::StrCat("gaussian ", src.type(), " ", kw, "x", kh, " ", sx, " ", sy, " ", border),
              [&] { return cv::cuda::createGaussianFilter(src.type(), src.type(), ksize, sx, sy, border, border); })
          ->apply(src, dst, ctx.stream);
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition GaussianBlurDefinition() {
  return {"gaussian_blur",
          pb::Operation::kGaussianBlur,
          "Gaussian smoothing (cv::GaussianBlur)",
          {{"kernel_width", "int32", "odd, [1, 255]", "derived from sigma_x", ""},
           {"kernel_height", "int32", "odd, [1, 255]", "kernel_width", ""},
           {"sigma_x", "double", "[0, 1000]", "derived from the kernel size", ""},
           {"sigma_y", "double", "[0, 1000]", "sigma_x", ""},
           kFilterBorderParam},
          true,
          "kernels over 32 pixels run on the CPU",
          BindGaussianBlur};
}
IMGPROC_REGISTER_OPERATION(gaussian_blur, GaussianBlurDefinition());

// ---------------------------------------------------------------- box_filter

absl::Status BindBoxFilter(const pb::Operation& op, StepBinder& b) {
  const pb::BoxFilter& p = op.box_filter();
  const int kw = p.kernel_width();
  const int kh = p.kernel_height() != 0 ? p.kernel_height() : kw;
  b.SetWork(PixelChannels(b.input()) * kw * kh);  // every tap: NPP's box filter is not separable
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, p.border()));
  const cv::Size ksize(kw, kh);
  const bool normalize = !p.unnormalized();
  const int border = ToCvBorder(p.border());
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) {
    cv::boxFilter(src, dst, -1, ksize, cv::Point(-1, -1), normalize, border);
  });
#if IMGPROC_WITH_CUDA
  // NPP's box filter: normalized, 8-bit 1/4 channels (3 via BGRA) or float 1 channel.
  if (normalize && (b.input().depth == Depth::kU8 || b.input().channels == 1)) {
    b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      WithOneOrFourChannels(src, dst, ctx, [&](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) {
        ctx.objects
            .Get<cv::cuda::Filter>(
                absl::StrCat("box ", s.type(), " ", ksize.width, "x", ksize.height, " ", border),
                [&] { return cv::cuda::createBoxFilter(s.type(), s.type(), ksize, cv::Point(-1, -1), border); })
            ->apply(s, d, ctx.stream);
      });
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition BoxFilterDefinition() {
  return {"box_filter",
          pb::Operation::kBoxFilter,
          "Mean (or sum) over a rectangle (cv::boxFilter)",
          {{"kernel_width", "int32", "[1, 255]", "required", ""},
           {"kernel_height", "int32", "[1, 255]", "kernel_width", ""},
           {"unnormalized", "bool", "", "false", "sum instead of mean"},
           kFilterBorderParam},
          true,
          "unnormalized sums and 3/4-channel float32 images run on the CPU",
          BindBoxFilter};
}
IMGPROC_REGISTER_OPERATION(box_filter, BoxFilterDefinition());

// ---------------------------------------------------------------- median_blur

absl::Status BindMedianBlur(const pb::Operation& op, StepBinder& b) {
  const int k = op.median_blur().kernel_size();
  b.SetWork(PixelChannels(b.input()) * k * k);
  IMGPROC_RETURN_IF_ERROR(CheckOddKernel(b, "kernel_size", k, 3, kMaxKernelSize));
  // cv::medianBlur: float images only with 3 or 5.
  if (k > 5 && b.input().depth != Depth::kU8) return b.Invalid("kernel_size", "over 5 needs uint8 pixels");
  b.SetCpu([k](const cv::Mat& src, cv::Mat& dst) { cv::medianBlur(src, dst, k); });
#if IMGPROC_WITH_CUDA
  if (b.input().depth == Depth::kU8) {
    b.SetCuda([k](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      ctx.objects
          .Get<cv::cuda::Filter>(absl::StrCat("median ", src.type(), " ", k),
                                 [&] { return cv::cuda::createMedianFilter(src.type(), k); })
          ->apply(src, dst, ctx.stream);
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition MedianBlurDefinition() {
  return {"median_blur",
          pb::Operation::kMedianBlur,
          "Median of a square window (cv::medianBlur)",
          {{"kernel_size", "int32", "odd, [3, 255]; over 5 uint8 only", "required", ""}},
          true,
          "float32 images run on the CPU",
          BindMedianBlur};
}
IMGPROC_REGISTER_OPERATION(median_blur, MedianBlurDefinition());

// ---------------------------------------------------------------- bilateral_filter

absl::Status BindBilateralFilter(const pb::Operation& op, StepBinder& b) {
  const pb::BilateralFilter& p = op.bilateral_filter();
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_color", p.sigma_color(), 1e-3, 1e4));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "sigma_space", p.sigma_space(), 1e-3, 1e4));
  // cv::bilateralFilter's own rule for d <= 0; bounded here because cost grows with d squared.
  const int d = p.diameter() > 0 ? p.diameter() : cvRound(p.sigma_space() * 1.5) * 2 + 1;
  b.SetWork(PixelChannels(b.input()) * d * d);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "diameter", d, 1, 31));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, p.border()));
  const double sc = p.sigma_color(), ss = p.sigma_space();
  const int border = ToCvBorder(p.border());
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) { cv::bilateralFilter(src, dst, d, sc, ss, border); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::cuda::bilateralFilter(src, dst, d, static_cast<float>(sc), static_cast<float>(ss), border, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition BilateralFilterDefinition() {
  return {"bilateral_filter",
          pb::Operation::kBilateralFilter,
          "Edge-preserving smoothing (cv::bilateralFilter)",
          {{"diameter", "int32", "[1, 31]", "derived from sigma_space", "pixel neighbourhood"},
           {"sigma_color", "double", "[1e-3, 1e4]", "required", ""},
           {"sigma_space", "double", "[1e-3, 1e4]", "required", ""},
           kFilterBorderParam},
          true,
          "",
          BindBilateralFilter};
}
IMGPROC_REGISTER_OPERATION(bilateral_filter, BilateralFilterDefinition());

// ---------------------------------------------------------------- sobel, laplacian
// Both compute in float32. A uint8 image gets the absolute value saturated to uint8 (cv::convertScaleAbs),
// a float32 image the signed result.

#if IMGPROC_WITH_CUDA
// float32 result in `f` (already offset by delta) -> |f| as uint8 in dst, or f itself for float input.
void FinishDerivative(const cv::cuda::GpuMat& f, bool to_u8, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
  if (!to_u8) {
    f.copyTo(dst, ctx.stream);
    return;
  }
  cv::cuda::abs(f, ctx.scratch[3], ctx.stream);
  ctx.scratch[3].convertTo(dst, CV_MAKETYPE(CV_8U, f.channels()), ctx.stream);
}
#endif

absl::Status CheckDerivativeKernel(const StepBinder& b, int k) {
  if (k == 1 || k == 3 || k == 5 || k == 7) return absl::OkStatus();
  return b.Invalid("kernel_size", absl::StrCat("must be 1, 3, 5 or 7 (got ", k, ")"));
}

absl::Status BindSobel(const pb::Operation& op, StepBinder& b) {
  const pb::Sobel& p = op.sobel();
  const int k = p.has_kernel_size() ? p.kernel_size() : 3;
  IMGPROC_RETURN_IF_ERROR(CheckDerivativeKernel(b, k));
  b.SetWork(PixelChannels(b.input()) * std::max(k, 3) * std::max(k, 3));
  const int max_order = k == 1 ? 2 : k - 1;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "dx", p.dx(), 0, max_order));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "dy", p.dy(), 0, max_order));
  if (p.dx() + p.dy() == 0) return b.Invalid("dx", "dx + dy must be > 0");
  const double scale = p.has_scale() ? p.scale() : 1.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "delta", p.delta(), -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, p.border()));
  const int dx = p.dx(), dy = p.dy(), border = ToCvBorder(p.border());
  const double delta = p.delta();
  const bool to_u8 = b.input().depth == Depth::kU8;
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) {
    if (!to_u8) {
      cv::Sobel(src, dst, CV_32F, dx, dy, k, scale, delta, border);
      return;
    }
    cv::Mat f;
    cv::Sobel(src, f, CV_32F, dx, dy, k, scale, delta, border);
    cv::convertScaleAbs(f, dst);
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    const int ftype = CV_MAKETYPE(CV_32F, src.channels());
    src.convertTo(ctx.scratch[0], ftype, ctx.stream);
    ctx.objects
        .Get<cv::cuda::Filter>(
            absl::StrCat("sobel ", ftype, " ", dx, " ", dy, " ", k, " ", scale, " ", border),
            [&] { return cv::cuda::createSobelFilter(ftype, ftype, dx, dy, k, scale, border, border); })
        ->apply(ctx.scratch[0], ctx.scratch[1], ctx.stream);
    cv::cuda::add(ctx.scratch[1], cv::Scalar::all(delta), ctx.scratch[2], cv::noArray(), -1, ctx.stream);
    FinishDerivative(ctx.scratch[2], to_u8, dst, ctx);
  });
#endif
  return absl::OkStatus();
}

OpDefinition SobelDefinition() {
  return {"sobel",
          pb::Operation::kSobel,
          "Image derivative (cv::Sobel); uint8 images get |result| saturated",
          {{"dx", "int32", "[0, kernel_size - 1]", "0", "order in x"},
           {"dy", "int32", "[0, kernel_size - 1]", "0", "order in y; dx + dy > 0"},
           {"kernel_size", "int32", "1, 3, 5, 7", "3", ""},
           {"scale", "double", "", "1", ""},
           {"delta", "double", "", "0", ""},
           kFilterBorderParam},
          true,
          "",
          BindSobel};
}
IMGPROC_REGISTER_OPERATION(sobel, SobelDefinition());

absl::Status BindLaplacian(const pb::Operation& op, StepBinder& b) {
  const pb::Laplacian& p = op.laplacian();
  const int k = p.has_kernel_size() ? p.kernel_size() : 1;
  IMGPROC_RETURN_IF_ERROR(CheckDerivativeKernel(b, k));
  b.SetWork(PixelChannels(b.input()) * std::max(k, 3) * std::max(k, 3));
  const double scale = p.has_scale() ? p.scale() : 1.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "delta", p.delta(), -1e6, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckFilterBorder(b, p.border()));
  const int border = ToCvBorder(p.border());
  const double delta = p.delta();
  const bool to_u8 = b.input().depth == Depth::kU8;
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) {
    if (!to_u8) {
      cv::Laplacian(src, dst, CV_32F, k, scale, delta, border);
      return;
    }
    cv::Mat f;
    cv::Laplacian(src, f, CV_32F, k, scale, delta, border);
    cv::convertScaleAbs(f, dst);
  });
#if IMGPROC_WITH_CUDA
  // cv::cuda's Laplacian: apertures 1 and 3, 1 or 4 channels.
  if (k <= 3) {
    b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      const int ftype = CV_MAKETYPE(CV_32F, src.channels());
      src.convertTo(ctx.scratch[2], ftype, ctx.stream);
      cv::cuda::GpuMat& filtered = ctx.scratch[3];
      WithOneOrFourChannels(ctx.scratch[2], filtered, ctx, [&](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) {
        ctx.objects
            .Get<cv::cuda::Filter>(
                absl::StrCat("laplacian ", s.type(), " ", k, " ", scale, " ", border),
                [&] { return cv::cuda::createLaplacianFilter(s.type(), s.type(), k, scale, border); })
            ->apply(s, d, ctx.stream);
      });
      cv::cuda::add(filtered, cv::Scalar::all(delta), ctx.scratch[2], cv::noArray(), -1, ctx.stream);
      FinishDerivative(ctx.scratch[2], to_u8, dst, ctx);
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition LaplacianDefinition() {
  return {"laplacian",
          pb::Operation::kLaplacian,
          "Laplacian (cv::Laplacian); uint8 images get |result| saturated",
          {{"kernel_size", "int32", "1, 3, 5, 7", "1", ""},
           {"scale", "double", "", "1", ""},
           {"delta", "double", "", "0", ""},
           kFilterBorderParam},
          true,
          "kernel_size 5 and 7 run on the CPU",
          BindLaplacian};
}
IMGPROC_REGISTER_OPERATION(laplacian, LaplacianDefinition());

// ---------------------------------------------------------------- canny

absl::Status BindCanny(const pb::Operation& op, StepBinder& b) {
  const pb::Canny& p = op.canny();
  IMGPROC_RETURN_IF_ERROR(b.RequireDepth(Depth::kU8));
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1}));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold1", p.threshold1(), 0, 1e6));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold2", p.threshold2(), 0, 1e6));
  const int aperture = p.has_aperture_size() ? p.aperture_size() : 3;
  if (aperture != 3 && aperture != 5 && aperture != 7) {
    return b.Invalid("aperture_size", absl::StrCat("must be 3, 5 or 7 (got ", aperture, ")"));
  }
  const double t1 = p.threshold1(), t2 = p.threshold2();
  const bool l2 = p.l2_gradient();
  b.SetWork(PixelChannels(b.input()) * 2 * aperture * aperture);  // two Sobel derivatives
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) { cv::Canny(src, dst, t1, t2, aperture, l2); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    ctx.objects
        .Get<cv::cuda::CannyEdgeDetector>(absl::StrCat("canny ", t1, " ", t2, " ", aperture, " ", l2),
                                          [&] { return cv::cuda::createCannyEdgeDetector(t1, t2, aperture, l2); })
        ->detect(src, dst, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition CannyDefinition() {
  return {"canny",
          pb::Operation::kCanny,
          "Canny edges of a 1-channel uint8 image (put cvt_color BGR2GRAY first)",
          {{"threshold1", "double", "[0, 1e6]", "0", "hysteresis low"},
           {"threshold2", "double", "[0, 1e6]", "0", "hysteresis high"},
           {"aperture_size", "int32", "3, 5, 7", "3", "Sobel aperture"},
           {"l2_gradient", "bool", "", "false", ""}},
          true,
          "",
          BindCanny};
}
IMGPROC_REGISTER_OPERATION(canny, CannyDefinition());

// ---------------------------------------------------------------- threshold

absl::Status BindThreshold(const pb::Operation& op, StepBinder& b) {
  const pb::Threshold& p = op.threshold();
  int type = 0;
  switch (p.type()) {
    case pb::Threshold::TYPE_BINARY: type = cv::THRESH_BINARY; break;
    case pb::Threshold::TYPE_BINARY_INV: type = cv::THRESH_BINARY_INV; break;
    case pb::Threshold::TYPE_TRUNC: type = cv::THRESH_TRUNC; break;
    case pb::Threshold::TYPE_TOZERO: type = cv::THRESH_TOZERO; break;
    case pb::Threshold::TYPE_TOZERO_INV: type = cv::THRESH_TOZERO_INV; break;
    default: return b.Invalid("type", absl::StrCat("unknown value ", p.type()));
  }
  if (p.otsu()) {
    if (b.input().depth != Depth::kU8 || b.input().channels != 1) {
      return b.Invalid("otsu", absl::StrCat("needs a 1-channel uint8 image (input is ", b.input().DebugString(), ")"));
    }
    type |= cv::THRESH_OTSU;
  }
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "threshold", p.threshold(), -1e9, 1e9));
  const double max_value = p.has_max_value() ? p.max_value() : 255.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "max_value", max_value, -1e9, 1e9));
  const double thresh = p.threshold();
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) { cv::threshold(src, dst, thresh, max_value, type); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::cuda::threshold(src, dst, thresh, max_value, type, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition ThresholdDefinition() {
  return {"threshold",
          pb::Operation::kThreshold,
          "Fixed-level or Otsu threshold (cv::threshold)",
          {{"threshold", "double", "", "0", "ignored with otsu"},
           {"max_value", "double", "", "255", "for BINARY and BINARY_INV"},
           {"type", "enum Threshold.Type", "BINARY, BINARY_INV, TRUNC, TOZERO, TOZERO_INV", "BINARY", ""},
           {"otsu", "bool", "", "false", "1-channel uint8 only"}},
          true,
          "",
          BindThreshold};
}
IMGPROC_REGISTER_OPERATION(threshold, ThresholdDefinition());

// ---------------------------------------------------------------- morphology

absl::Status BindMorphology(const pb::Operation& op, StepBinder& b) {
  const pb::Morphology& p = op.morphology();
  static constexpr int kOps[] = {cv::MORPH_ERODE,    cv::MORPH_DILATE, cv::MORPH_OPEN,    cv::MORPH_CLOSE,
                                 cv::MORPH_GRADIENT, cv::MORPH_TOPHAT, cv::MORPH_BLACKHAT};
  static constexpr int kShapes[] = {cv::MORPH_RECT, cv::MORPH_CROSS, cv::MORPH_ELLIPSE};
  if (p.op() < 0 || p.op() > 6) return b.Invalid("op", absl::StrCat("unknown value ", p.op()));
  if (p.shape() < 0 || p.shape() > 2) return b.Invalid("shape", absl::StrCat("unknown value ", p.shape()));
  const int kw = p.has_kernel_width() ? p.kernel_width() : 3;
  const int kh = p.has_kernel_height() ? p.kernel_height() : kw;
  const int iterations = p.has_iterations() ? p.iterations() : 1;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_width", kw, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "kernel_height", kh, 1, kMaxKernelSize));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "iterations", iterations, 1, 100));
  const int morph_op = kOps[p.op()];
  const int shape = kShapes[p.shape()];
  const cv::Mat kernel = cv::getStructuringElement(shape, cv::Size(kw, kh));
  // Every tap of the structuring element counts: NPP computes them all, and OpenCV's CUDA filter turns a
  // rectangle repeated n times into one rectangle n times as wide (a 101x101 element with 50 iterations became
  // 5001x5001: four such requests on a 4K image held an H100 for minutes).
  b.SetWork(PixelChannels(b.input()) * kw * kh);
  // Erode, dilate, open and close run one erosion or dilation per pass (open: n erosions, then n dilations), so
  // the lane can stop between them; the same result as cv::morphologyEx with n iterations. Gradient, top-hat
  // and black-hat combine with the step's input and run as one pass.
  const bool in_passes = morph_op == cv::MORPH_ERODE || morph_op == cv::MORPH_DILATE || morph_op == cv::MORPH_OPEN ||
                         morph_op == cv::MORPH_CLOSE;
  if (in_passes) {
    const int first = morph_op == cv::MORPH_CLOSE || morph_op == cv::MORPH_DILATE ? cv::MORPH_DILATE : cv::MORPH_ERODE;
    const int second = first == cv::MORPH_ERODE ? cv::MORPH_DILATE : cv::MORPH_ERODE;
    const bool two_phases = morph_op == cv::MORPH_OPEN || morph_op == cv::MORPH_CLOSE;
    auto pass_op = [=](int pass) { return two_phases && pass >= iterations ? second : first; };
    b.SetCpuPasses(two_phases ? 2 * iterations : iterations, [=](int pass, const cv::Mat& src, cv::Mat& dst) {
      cv::morphologyEx(src, dst, pass_op(pass), kernel);
    });
#if IMGPROC_WITH_CUDA
    // cv::cuda morphology: uint8 or float32 with 1 or 4 channels (3 go through BGRA).
    b.SetCudaPasses([=](int pass, const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      const int op = pass_op(pass);
      WithOneOrFourChannels(src, dst, ctx, [&](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) {
        ctx.objects
            .Get<cv::cuda::Filter>(absl::StrCat("morphology ", op, " ", s.type(), " ", shape, " ", kw, "x", kh, " 1"),
                                   [&] { return cv::cuda::createMorphologyFilter(op, s.type(), kernel); })
            ->apply(s, d, ctx.stream);
      });
    });
#endif
    return absl::OkStatus();
  }
  // An erosion and a dilation of `iterations` each; OpenCV's CUDA filter runs a repeated rectangle as one
  // enlarged rectangle.
  const double taps = shape == cv::MORPH_RECT ? (iterations * (kw - 1.0) + 1) * (iterations * (kh - 1.0) + 1)
                                              : static_cast<double>(kw) * kh * iterations;
  b.SetWork(PixelChannels(b.input()) * taps * 2);
  b.SetCpu([=](const cv::Mat& src, cv::Mat& dst) {
    cv::morphologyEx(src, dst, morph_op, kernel, cv::Point(-1, -1), iterations);
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([=](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    WithOneOrFourChannels(src, dst, ctx, [&](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) {
      ctx.objects
          .Get<cv::cuda::Filter>(
              absl::StrCat("morphology ", morph_op, " ", s.type(), " ", shape, " ", kw, "x", kh, " ", iterations),
              [&] {
                return cv::cuda::createMorphologyFilter(morph_op, s.type(), kernel, cv::Point(-1, -1), iterations);
              })
          ->apply(s, d, ctx.stream);
    });
  });
#endif
  return absl::OkStatus();
}

OpDefinition MorphologyDefinition() {
  return {"morphology",
          pb::Operation::kMorphology,
          "Erode, dilate, open, close, gradient, top-hat, black-hat",
          {{"op", "enum Morphology.Op", "ERODE, DILATE, OPEN, CLOSE, GRADIENT, TOPHAT, BLACKHAT", "ERODE", ""},
           {"shape", "enum Morphology.Shape", "RECT, CROSS, ELLIPSE", "RECT", ""},
           {"kernel_width", "int32", "[1, 255]", "3", ""},
           {"kernel_height", "int32", "[1, 255]", "kernel_width", ""},
           {"iterations", "int32", "[1, 100]", "1", ""}},
          true,
          "the GPU extends the image by reflection at its edges, the CPU by the neutral value",
          BindMorphology};
}
IMGPROC_REGISTER_OPERATION(morphology, MorphologyDefinition());

}  // namespace
}  // namespace imgproc
