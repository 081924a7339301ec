#pragma once
// cv::GaussianBlur's 8-bit result computed row by row, for kernels so large that cutting OpenCV's call into
// stripes costs twice the call (README, "Bounds").
//
// For 8-bit images OpenCV takes a bit-exact fixed-point path: the kernels are rounded to multiples of 1/256
// (summing to exactly 1), the row pass keeps its sums in units of 1/256 and the column pass in units of 1/65536,
// rounded to the nearest at the end. All of it is integer arithmetic that cannot overflow, so the same sums in any
// order give the same bytes. What OpenCV does not export is its rounded kernel: KernelOf reads it back from
// OpenCV itself (the blur of one impulse with a one-dimensional kernel shows each tap). Computed here, each row
// pass result is kept in a ring of kernel-height rows and used by every output row that needs it, so a stop check
// can come between any two output rows at no cost, where a stripe of OpenCV's call recomputes its halo's rows.

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "absl/status/status.h"
#include "ops/filters.h"
#include "ops/operation.h"

namespace imgproc {

// OpenCV's fixed-point kernel of `size` taps (odd) for `sigma` (<= 0: derived from the size, as OpenCV does), in
// units of 1/256: the taps sum to 256.
std::vector<uint16_t> FixedPointGaussianKernel(int size, double sigma);

// The same bytes as cv::GaussianBlur(src, dst, params...) on a whole 8-bit image (any channel count, any border
// but BORDER_WRAP), stopping between output rows when ctx.stop says so (its status is returned, `dst` incomplete).
absl::Status GaussianBlurFixedPointInRows(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst,
                                          const GaussianBlurParams& params);

}  // namespace imgproc
