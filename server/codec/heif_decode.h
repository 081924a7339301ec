#pragma once
// HEIC/HEIF and AVIF decoding (issue 30). HEIC through libheif 1.15 with libde265; AVIF through libavif 0.11
// with dav1d. Both were measured on AVIF decode (bench/avif_decode_compare.cc, the 12 nature photos as 8-bit 4:2:0
// AVIF): libavif took 582-837 ms for all of them, libheif 1451-1811 ms (2-3x, three runs on a busy 2-core host;
// libheif converts YCbCr to RGB in scalar code, libavif through libyuv), and their pixels differ by chroma
// upsampling only (mean absolute difference 0.09-0.96, max 32 at edges). The boxes are ours (codec/heif_header.h),
// so both libraries see only files whose grid, tiles and size the limits have accepted; the rotation and mirroring
// are ours too (libheif 1.15 turns only 8-bit planes, libavif leaves it to the caller). An AVIF with a clean
// aperture (crop) goes to libheif, which applies it.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image_header.h"

namespace imgproc {

// The primary image, rotated and mirrored as its irot/imir say (the size ReadHeifHeader predicted), in 8-bit BGR
// or BGRA (with alpha): 10- and 12-bit samples are scaled to 8 bits. With `sixteen_bit` (the 16-bit decode) 10-
// and 12-bit images come out CV_16U, widened to 16 bits by repeating their top bits (10-bit v << 6 | v >> 4, 12-bit
// v << 4 | v >> 8, so the largest value is 65535); 8-bit ones stay CV_8U for the caller's v * 257. (An AVIF with a
// clean aperture goes to libheif, whose 1.15 turns 8-bit planes only: it is read at 8 bits and scaled.) YCbCr is
// converted to RGB with the nclx matrix; the colours stay in the file's primaries (the plan's colour transform takes
// them to sRGB). The library's own size limits are set from the header, which the limits have checked, so that no image
// or tile it decodes can be larger. INVALID_ARGUMENT with the library's reason when the data does not decode.
absl::StatusOr<cv::Mat> DecodeHeif(absl::string_view bytes, const ImageHeader& header, bool sixteen_bit = false);

}  // namespace imgproc
