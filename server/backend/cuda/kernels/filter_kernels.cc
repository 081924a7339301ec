// CUDA kernels of the filter family (ops/filters.cc): gaussian_blur, box_filter, median_blur, bilateral_filter,
// sobel, laplacian, canny, threshold, morphology. Filters are built once per lane (CudaObjectCache).
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudafilters.hpp>
#include <opencv2/cudaimgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cuda/cuda_kernel.h"
#include "backend/cuda/kernels/one_or_four_channels.h"
#include "ops/filters.h"

namespace imgproc {
namespace {

using cv::cuda::GpuMat;

// OpenCV's separable CUDA filters take kernels of at most 32 taps.
constexpr int kMaxCudaSeparableKernel = 32;

bool GaussianAccepts(const GaussianBlurParams& p, const ImageSpec&) {
  return p.ksize.width <= kMaxCudaSeparableKernel && p.ksize.height <= kMaxCudaSeparableKernel;
}
void GaussianBlur(const GaussianBlurParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  ctx.objects
      .Get<cv::cuda::Filter>(absl::StrCat("gaussian ", src.type(), " ", p.ksize.width, "x", p.ksize.height, " ",
                                          p.sigma_x, " ", p.sigma_y, " ", p.border),
                             [&] {
                               return cv::cuda::createGaussianFilter(src.type(), src.type(), p.ksize, p.sigma_x,
                                                                     p.sigma_y, p.border, p.border);
                             })
      ->apply(src, dst, ctx.stream);
}
const bool kGaussianBlur = RegisterCudaKernel<GaussianBlurParams>(
    "gaussian_blur", "kernels over 32 pixels run on the CPU", GaussianAccepts, GaussianBlur);

// NPP's box filter: normalized, 8-bit 1/4 channels (3 via BGRA) or float 1 channel.
bool BoxAccepts(const BoxFilterParams& p, const ImageSpec& input) {
  return p.normalize && (input.depth == Depth::kU8 || input.channels == 1);
}
void BoxFilter(const BoxFilterParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  WithOneOrFourChannels(src, dst, ctx, [&](const GpuMat& s, GpuMat& d) {
    ctx.objects
        .Get<cv::cuda::Filter>(
            absl::StrCat("box ", s.type(), " ", p.ksize.width, "x", p.ksize.height, " ", p.border),
            [&] { return cv::cuda::createBoxFilter(s.type(), s.type(), p.ksize, cv::Point(-1, -1), p.border); })
        ->apply(s, d, ctx.stream);
  });
}
const bool kBoxFilter = RegisterCudaKernel<BoxFilterParams>(
    "box_filter", "unnormalized sums and 3/4-channel float32 images run on the CPU", BoxAccepts, BoxFilter);

bool MedianAccepts(const MedianBlurParams&, const ImageSpec& input) { return input.depth == Depth::kU8; }
void MedianBlur(const MedianBlurParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  ctx.objects
      .Get<cv::cuda::Filter>(absl::StrCat("median ", src.type(), " ", p.ksize),
                             [&] { return cv::cuda::createMedianFilter(src.type(), p.ksize); })
      ->apply(src, dst, ctx.stream);
}
const bool kMedianBlur =
    RegisterCudaKernel<MedianBlurParams>("median_blur", "float32 images run on the CPU", MedianAccepts, MedianBlur);

void BilateralFilter(const BilateralFilterParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::cuda::bilateralFilter(src, dst, p.diameter, static_cast<float>(p.sigma_color), static_cast<float>(p.sigma_space),
                            p.border, ctx.stream);
}
const bool kBilateralFilter =
    RegisterCudaKernel<BilateralFilterParams>("bilateral_filter", "", nullptr, BilateralFilter);

// float32 result in `f` (already offset by delta) -> |f| as uint8 in dst, or f itself for float input.
void FinishDerivative(const GpuMat& f, bool to_u8, GpuMat& dst, CudaOpContext& ctx) {
  if (!to_u8) {
    f.copyTo(dst, ctx.stream);
    return;
  }
  cv::cuda::abs(f, ctx.scratch[3], ctx.stream);
  ctx.scratch[3].convertTo(dst, CV_MAKETYPE(CV_8U, f.channels()), ctx.stream);
}

void Sobel(const SobelParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  const int ftype = CV_MAKETYPE(CV_32F, src.channels());
  src.convertTo(ctx.scratch[0], ftype, ctx.stream);
  ctx.objects
      .Get<cv::cuda::Filter>(
          absl::StrCat("sobel ", ftype, " ", p.dx, " ", p.dy, " ", p.ksize, " ", p.scale, " ", p.border),
          [&] { return cv::cuda::createSobelFilter(ftype, ftype, p.dx, p.dy, p.ksize, p.scale, p.border, p.border); })
      ->apply(ctx.scratch[0], ctx.scratch[1], ctx.stream);
  cv::cuda::add(ctx.scratch[1], cv::Scalar::all(p.delta), ctx.scratch[2], cv::noArray(), -1, ctx.stream);
  FinishDerivative(ctx.scratch[2], p.to_u8, dst, ctx);
}
const bool kSobel = RegisterCudaKernel<SobelParams>("sobel", "", nullptr, Sobel);

// cv::cuda's Laplacian: apertures 1 and 3, 1 or 4 channels.
bool LaplacianAccepts(const LaplacianParams& p, const ImageSpec&) { return p.ksize <= 3; }
void Laplacian(const LaplacianParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  const int ftype = CV_MAKETYPE(CV_32F, src.channels());
  src.convertTo(ctx.scratch[2], ftype, ctx.stream);
  GpuMat& filtered = ctx.scratch[3];
  WithOneOrFourChannels(ctx.scratch[2], filtered, ctx, [&](const GpuMat& s, GpuMat& d) {
    ctx.objects
        .Get<cv::cuda::Filter>(
            absl::StrCat("laplacian ", s.type(), " ", p.ksize, " ", p.scale, " ", p.border),
            [&] { return cv::cuda::createLaplacianFilter(s.type(), s.type(), p.ksize, p.scale, p.border); })
        ->apply(s, d, ctx.stream);
  });
  cv::cuda::add(filtered, cv::Scalar::all(p.delta), ctx.scratch[2], cv::noArray(), -1, ctx.stream);
  FinishDerivative(ctx.scratch[2], p.to_u8, dst, ctx);
}
const bool kLaplacian =
    RegisterCudaKernel<LaplacianParams>("laplacian", "kernel_size 5 and 7 run on the CPU", LaplacianAccepts, Laplacian);

void Canny(const CannyParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  ctx.objects
      .Get<cv::cuda::CannyEdgeDetector>(
          absl::StrCat("canny ", p.threshold1, " ", p.threshold2, " ", p.aperture, " ", p.l2_gradient),
          [&] { return cv::cuda::createCannyEdgeDetector(p.threshold1, p.threshold2, p.aperture, p.l2_gradient); })
      ->detect(src, dst, ctx.stream);
}
const bool kCanny = RegisterCudaKernel<CannyParams>("canny", "", nullptr, Canny);

void Threshold(const ThresholdParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::cuda::threshold(src, dst, p.threshold, p.max_value, p.type, ctx.stream);
}
const bool kThreshold = RegisterCudaKernel<ThresholdParams>("threshold", "", nullptr, Threshold);

// cv::cuda morphology: uint8 or float32 with 1 or 4 channels (3 go through BGRA). A pass of erode, dilate, open or
// close is one erosion or dilation; gradient, top-hat and black-hat run whole, and OpenCV's CUDA filter runs a
// repeated rectangle as one enlarged rectangle.
void Morphology(const MorphologyParams& p, int pass, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  const int op = p.in_passes ? p.PassOp(pass) : p.op;
  const int iterations = p.in_passes ? 1 : p.iterations;
  WithOneOrFourChannels(src, dst, ctx, [&](const GpuMat& s, GpuMat& d) {
    ctx.objects
        .Get<cv::cuda::Filter>(
            absl::StrCat("morphology ", op, " ", s.type(), " ", p.shape, " ", p.ksize.width, "x", p.ksize.height, " ",
                         iterations),
            [&] { return cv::cuda::createMorphologyFilter(op, s.type(), p.element, cv::Point(-1, -1), iterations); })
        ->apply(s, d, ctx.stream);
  });
}
const bool kMorphology = RegisterCudaKernel<MorphologyParams>(
    "morphology", "the GPU extends the image by reflection at its edges, the CPU by the neutral value", nullptr,
    Morphology);

}  // namespace
}  // namespace imgproc
