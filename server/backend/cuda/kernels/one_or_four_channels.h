#pragma once
// For kernels whose OpenCV CUDA function takes fewer channel layouts than the CPU one.

#include <opencv2/cudaimgproc.hpp>

#include "backend/cuda/cuda_kernel.h"

namespace imgproc {

// Runs `fn` on a 4-channel copy of a 3-channel image (BGR -> BGRA -> fn -> BGR): several NPP-backed filters take
// only 1 or 4 channels. Other channel counts go straight through. Uses scratch[0] and scratch[1].
template <typename Fn>
void WithOneOrFourChannels(const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, CudaOpContext& ctx, Fn&& fn) {
  if (in.channels() != 3) {
    fn(in, out);
    return;
  }
  cv::cuda::cvtColor(in, ctx.scratch[0], cv::COLOR_BGR2BGRA, 4, ctx.stream);
  fn(ctx.scratch[0], ctx.scratch[1]);
  cv::cuda::cvtColor(ctx.scratch[1], out, cv::COLOR_BGRA2BGR, 3, ctx.stream);
}

}  // namespace imgproc
