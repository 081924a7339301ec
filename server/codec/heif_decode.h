#pragma once
// HEIC/HEIF and AVIF decoding through libheif (issue 30), with libde265 for HEVC and dav1d for AV1 (Debian 12's
// plugins). Why libheif rather than libavif for AVIF too: one library for both containers, the same grid, irot/imir,
// alpha and colr handling, and on the test photos libheif's AVIF decode (dav1d underneath, as libavif's) matched
// libavif's pixels within a unit at about the same time (README "HEIC and AVIF"; bench figures in BENCHMARKS.md).

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image_header.h"

namespace imgproc {

// The primary image, rotated and mirrored as its irot/imir say (the size ReadHeifHeader predicted), in 8-bit BGR
// or BGRA (with alpha): 10- and 12-bit samples are scaled to 8 bits by libheif. YCbCr is converted to RGB with the
// nclx matrix; the colours stay in the file's primaries (the plan's colour transform takes them to sRGB).
// libheif's size limit is set to the header's size, which the limits have checked, so that no image or tile it
// decodes can be larger. INVALID_ARGUMENT with libheif's reason when the data does not decode.
absl::StatusOr<cv::Mat> DecodeHeif(absl::string_view bytes, const ImageHeader& header);

}  // namespace imgproc
