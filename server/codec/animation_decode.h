#pragma once

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

// The first frame of a GIF composited on its logical screen, as BGRA: the frame's pixels at its offset, its
// graphics control extension's transparent index as alpha 0 (the palette colour kept beneath, as OpenCV keeps a
// PNG palette's colour under tRNS), and transparent black where the frame does not reach. Later frames are not
// decoded. INVALID_ARGUMENT when giflib cannot read the data.
absl::StatusOr<cv::Mat> DecodeGifFirstFrame(absl::string_view gif);

// The first frame of an animated WebP on its canvas, as BGRA (libwebp's WebPAnimDecoder: what the frame leaves
// uncovered is transparent black). INVALID_ARGUMENT when libwebp cannot read the data.
absl::StatusOr<cv::Mat> DecodeAnimatedWebpFirstFrame(absl::string_view webp);

}  // namespace imgproc
