#pragma once
// Helpers for CUDA implementations whose OpenCV function takes fewer channel layouts than the CPU one.
#if IMGPROC_WITH_CUDA

#include <opencv2/cudaimgproc.hpp>

#include "ops/operation.h"

namespace imgproc {

// Runs `fn` on a 4-channel copy of a 3-channel image (BGR -> BGRA -> fn -> BGR): several NPP-backed
// filters take only 1 or 4 channels. Other channel counts go straight through.
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

#endif  // IMGPROC_WITH_CUDA
