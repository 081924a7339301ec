#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image_header.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "imgproc/v1/imgproc.pb.h"

namespace imgproc {

// Checks a header against the limits: the point where a 100000x100000 PNG of a few kilobytes is refused.
absl::Status CheckHeaderLimits(const ImageHeader& header, size_t encoded_bytes, const ImageLimits& limits);

// The image the decoder will hand to the first step, predicted from the header; at 1/shrink_factor of the stored
// size for shrink-on-load (codec/shrink_on_load.h).
ImageSpec DecodedSpec(const ImageHeader& header, imgproc::v1::DecodeMode mode, int shrink_factor = 1);

// Decodes (at 1/shrink_factor of the stored size for a plan's shrink-on-load) and makes the result match
// `expected` (size, channels, 8-bit depth), so that the validated chain sees exactly what it was validated for.
// INVALID_ARGUMENT when the data is corrupt.
absl::StatusOr<cv::Mat> Decode(absl::string_view bytes, const ImageHeader& header, imgproc::v1::DecodeMode mode,
                               const ImageSpec& expected, int shrink_factor = 1);

// Validates the output spec for the image the chain will produce; errors name the field.
absl::Status ValidateOutputSpec(const imgproc::v1::OutputSpec& spec, const ImageSpec& image);

struct EncodedImage {
  std::string bytes;
  std::string format;  // "jpeg", "png", "webp", "raw"
  ImageSpec spec;      // of the pixels encoded (raw: after dtype conversion)
  imgproc::v1::Layout layout = imgproc::v1::LAYOUT_HWC;
};

absl::StatusOr<EncodedImage> Encode(const cv::Mat& image, const imgproc::v1::OutputSpec& spec);

}  // namespace imgproc
