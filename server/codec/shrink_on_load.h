#pragma once
// Shrink-on-load: a JPEG decoded at 1/2, 1/4 or 1/8 of its size costs a fraction of a full decode (libjpeg scales
// in the DCT domain: it reads every coefficient but runs a 4x4, 2x2 or 1x1 inverse transform per block, and the
// colour conversion and upsampling touch a quarter or less of the pixels), and libwebp resizes while it decodes.
// When a chain starts with a downscale, the decoder can do the first part of it, as libvips and imgproxy do; the
// resize then does the rest from an image that is still at least its output size, so the answer's size never
// changes. Which downscales qualify is the plan's choice (pipeline/plan.cc). Only the CPU lanes use it: nvJPEG
// has no scaled decode.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image_header.h"

namespace imgproc {

// The side a decode at 1/factor gives: what libjpeg computes (jdiv_round_up), and what libwebp is asked for.
inline int ShrunkSide(int side, int factor) { return (side + factor - 1) / factor; }

// Whether the format has a scaled decode here: JPEG (libjpeg, any kind) and still WebP (libwebp).
bool HasScaledDecode(const ImageHeader& header);

// A still WebP decoded by libwebp straight to 1/factor of its size (its rescaler averages the area each output
// pixel covers), as BGRA when `channels` is 4 and BGR otherwise. INVALID_ARGUMENT for corrupt data.
absl::StatusOr<cv::Mat> DecodeWebpShrunk(absl::string_view webp, const ImageHeader& header, int factor, int channels);

}  // namespace imgproc
