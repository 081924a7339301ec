#include "backend/cuda/color_transform_kernel.h"

namespace imgproc {
namespace {

// One thread per pixel; the tables (at most 431 KiB, read by every thread) stay in L2 and the read-only cache.
template <ColorDeviceKind kKind, int kChannels>
__global__ void ConvertToSrgb(ColorTablesView tables, const uint8_t* __restrict__ src, size_t src_step,
                              uint8_t* __restrict__ dst, size_t dst_step, int width, int height) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const uint8_t* in = src + y * src_step + size_t(x) * kChannels;
  uint8_t pixel[kChannels];
#pragma unroll
  for (int c = 0; c < kChannels; ++c) pixel[c] = in[c];
  if constexpr (kKind == ColorDeviceKind::kCurvesAndMatrix) {
    CurvesAndMatrixPixel(tables, pixel);
  } else if constexpr (kKind == ColorDeviceKind::kLattice) {
    LatticeTetrahedralPixel(tables, pixel);
  } else {
#pragma unroll
    for (int c = 0; c < (kChannels == 4 ? 3 : kChannels); ++c) pixel[c] = tables.gray[pixel[c]];
  }
  uint8_t* out = dst + y * dst_step + size_t(x) * kChannels;
#pragma unroll
  for (int c = 0; c < kChannels; ++c) out[c] = pixel[c];
}

template <ColorDeviceKind kKind, int kChannels>
cudaError_t Launch(const ColorTablesView& tables, const uint8_t* src, size_t src_step, uint8_t* dst, size_t dst_step,
                   int width, int height, cudaStream_t stream) {
  const dim3 block(32, 8);
  const dim3 grid((width + block.x - 1) / block.x, (height + block.y - 1) / block.y);
  ConvertToSrgb<kKind, kChannels><<<grid, block, 0, stream>>>(tables, src, src_step, dst, dst_step, width, height);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchColorTransform(ColorDeviceKind kind, const ColorTablesView& tables, const uint8_t* src,
                                 size_t src_step, uint8_t* dst, size_t dst_step, int width, int height, int channels,
                                 cudaStream_t stream) {
  using Kind = ColorDeviceKind;
  if (width <= 0 || height <= 0) return cudaSuccess;
  switch (kind) {
    case Kind::kCurvesAndMatrix:
      if (channels == 3)
        return Launch<Kind::kCurvesAndMatrix, 3>(tables, src, src_step, dst, dst_step, width, height, stream);
      if (channels == 4)
        return Launch<Kind::kCurvesAndMatrix, 4>(tables, src, src_step, dst, dst_step, width, height, stream);
      break;
    case Kind::kLattice:
      if (channels == 3) return Launch<Kind::kLattice, 3>(tables, src, src_step, dst, dst_step, width, height, stream);
      if (channels == 4) return Launch<Kind::kLattice, 4>(tables, src, src_step, dst, dst_step, width, height, stream);
      break;
    case Kind::kGrayCurve:
      if (channels == 1)
        return Launch<Kind::kGrayCurve, 1>(tables, src, src_step, dst, dst_step, width, height, stream);
      if (channels == 3)
        return Launch<Kind::kGrayCurve, 3>(tables, src, src_step, dst, dst_step, width, height, stream);
      if (channels == 4)
        return Launch<Kind::kGrayCurve, 4>(tables, src, src_step, dst, dst_step, width, height, stream);
      break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace imgproc
