// CUDA kernels of the geometry family (ops/geometry.cc): resize, crop, pad, flip, warp_affine, warp_perspective,
// rotate.
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudawarping.hpp>

#include "backend/cuda/cuda_kernel.h"
#include "ops/geometry.h"

namespace imgproc {
namespace {

using cv::cuda::GpuMat;

// cv::cuda::resize maps pixel corners where cv::resize maps pixel centres, which shifts a downscaled image by up to
// half a source pixel. LINEAR and CUBIC take the CPU's sampling instead, as an inverse affine map:
// src = (dst + 0.5) * scale - 0.5, edges replicated as cv::resize does.
void Resize(const ResizeParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  if (p.interpolation != cv::INTER_LINEAR && p.interpolation != cv::INTER_CUBIC) {
    cv::cuda::resize(src, dst, p.size, 0, 0, p.interpolation, ctx.stream);
    return;
  }
  const double sx = double(src.cols) / p.size.width, sy = double(src.rows) / p.size.height;
  const cv::Matx23d inverse(sx, 0, (sx - 1) / 2, 0, sy, (sy - 1) / 2);
  cv::cuda::warpAffine(src, dst, inverse, p.size, p.interpolation | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE,
                       cv::Scalar(), ctx.stream);
}
const bool kResize = RegisterCudaKernel<ResizeParams>(
    "resize",
    "CUBIC uses OpenCV CUDA's bicubic kernel (a = -0.5; the CPU's is a = -0.75): values differ by a few levels",
    nullptr, Resize, {Depth::kU8, Depth::kU16, Depth::kF32});  // cv::cuda::resize and warpAffine take CV_16U

// A copy, not a view: the next step must never write into memory it reads.
void Crop(const CropParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  src(p.roi).copyTo(dst, ctx.stream);
}
const bool kCrop = RegisterCudaKernel<CropParams>("crop", "", nullptr, Crop, {Depth::kU8, Depth::kU16, Depth::kF32});

// Pad declares uint8 and float32 only: OpenCV CUDA documents copyMakeBorder for fewer types than it builds.
void Pad(const PadParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::cuda::copyMakeBorder(src, dst, p.top, p.bottom, p.left, p.right, p.border, p.fill, ctx.stream);
}
const bool kPad = RegisterCudaKernel<PadParams>("pad", "", nullptr, Pad);

void Flip(const FlipParams& p, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  cv::cuda::flip(src, dst, p.code, ctx.stream);
}
const bool kFlip = RegisterCudaKernel<FlipParams>("flip", "", nullptr, Flip, {Depth::kU8, Depth::kU16, Depth::kF32});

// rotate's quarter turns are bound as a nearest-neighbour warp of integer mapping: exact on the GPU too.
void Warp(const WarpParams& w, int, const GpuMat& src, GpuMat& dst, CudaOpContext& ctx) {
  if (w.affine()) {
    cv::cuda::warpAffine(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value, ctx.stream);
  } else {
    cv::cuda::warpPerspective(src, dst, w.matrix, w.size, w.interpolation, w.border, w.border_value, ctx.stream);
  }
}
constexpr const char* kCubicNote = "CUBIC: bicubic a = -0.5 on the GPU, -0.75 on the CPU";
// cv::cuda::warpAffine and warpPerspective take CV_8U, CV_16U and CV_32F.
constexpr std::initializer_list<Depth> kWarpDepths = {Depth::kU8, Depth::kU16, Depth::kF32};
const bool kWarpAffine = RegisterCudaKernel<WarpParams>("warp_affine", kCubicNote, nullptr, Warp, kWarpDepths);
const bool kWarpPerspective =
    RegisterCudaKernel<WarpParams>("warp_perspective", kCubicNote, nullptr, Warp, kWarpDepths);
const bool kRotate = RegisterCudaKernel<WarpParams>("rotate", "", nullptr, Warp, kWarpDepths);

}  // namespace
}  // namespace imgproc
