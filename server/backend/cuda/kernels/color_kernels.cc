// CUDA kernels of the colour family (ops/color.cc): cvt_color, equalize_hist, clahe, gamma, brightness_contrast,
// normalize.
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudaimgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cuda/cuda_kernel.h"
#include "ops/color.h"

namespace imgproc {
namespace {

using cv::cuda::GpuMat;

void CvtColor(const CvtColorParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::cuda::cvtColor(src, dst, p.code, p.out_channels, ctx.stream);
}
const bool kCvtColor = RegisterCudaKernel<CvtColorParams>("cvt_color", "", nullptr, CvtColor);

// The luma (Y of YCrCb) of a colour image, as the CPU kernel does.
template <typename Equalize>
void OnLuma(const GpuMat& src, GpuMat& dst, CudaOpContext& ctx, Equalize&& equalize) {
  if (src.channels() == 1) {
    equalize(src, dst);
    return;
  }
  cv::cuda::cvtColor(src, ctx.scratch[0], cv::COLOR_BGR2YCrCb, 3, ctx.stream);
  std::vector<GpuMat> planes(3);
  cv::cuda::split(ctx.scratch[0], planes, ctx.stream);
  equalize(planes[0], ctx.scratch[1]);
  planes[0] = ctx.scratch[1];
  cv::cuda::merge(planes, ctx.scratch[2], ctx.stream);
  cv::cuda::cvtColor(ctx.scratch[2], dst, cv::COLOR_YCrCb2BGR, 3, ctx.stream);
}

void EqualizeHist(const EqualizeHistParams&, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  OnLuma(src, dst, ctx, [&ctx](const GpuMat& s, GpuMat& d) { cv::cuda::equalizeHist(s, d, ctx.stream); });
}
const bool kEqualizeHist = RegisterCudaKernel<EqualizeHistParams>("equalize_hist", "", nullptr, EqualizeHist);

void Clahe(const ClaheParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::Ptr<cv::cuda::CLAHE> clahe =
      ctx.objects.Get<cv::cuda::CLAHE>(absl::StrCat("clahe ", p.clip_limit, " ", p.grid.width, "x", p.grid.height),
                                       [&] { return cv::cuda::createCLAHE(p.clip_limit, p.grid); });
  OnLuma(src, dst, ctx, [&](const GpuMat& s, GpuMat& d) { clahe->apply(s, d, ctx.stream); });
}
const bool kClahe = RegisterCudaKernel<ClaheParams>("clahe", "", nullptr, Clahe);

// cv::cuda::LookUpTable takes 1 or 3 channels.
bool GammaAccepts(const GammaParams&, const ImageSpec& input) { return input.channels != 4; }
void Gamma(const GammaParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  ctx.objects
      .Get<cv::cuda::LookUpTable>(absl::StrCat("gamma ", p.gamma), [&] { return cv::cuda::createLookUpTable(p.lut); })
      ->transform(src, dst, ctx.stream);
}
const bool kGamma = RegisterCudaKernel<GammaParams>(
    "gamma", "4-channel images run on the CPU (cv::cuda::LookUpTable takes 1 or 3 channels)", GammaAccepts, Gamma);

void BrightnessContrast(const BrightnessContrastParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  src.convertTo(dst, src.type(), p.alpha, p.beta, ctx.stream);
}
const bool kBrightnessContrast = RegisterCudaKernel<BrightnessContrastParams>(
    "brightness_contrast", "", nullptr, BrightnessContrast,
    {Depth::kU8, Depth::kU16, Depth::kF32});  // GpuMat::convertTo saturates every type

void Normalize(const NormalizeParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  src.convertTo(ctx.scratch[0], CV_MAKETYPE(CV_32F, src.channels()), ctx.stream);
  cv::cuda::multiply(ctx.scratch[0], p.gain, ctx.scratch[1], 1, -1, ctx.stream);
  cv::cuda::add(ctx.scratch[1], p.offset, dst, cv::noArray(), -1, ctx.stream);
}
// convertTo to float32 takes any integer type; the gain already holds the uint16 scale (ops/color.cc).
const bool kNormalize =
    RegisterCudaKernel<NormalizeParams>("normalize", "", nullptr, Normalize, {Depth::kU8, Depth::kU16, Depth::kF32});

}  // namespace
}  // namespace imgproc
