#pragma once
// TIFF decoding straight through libtiff (Debian's libtiff-dev), as jpeg_turbo.h does for JPEG.
//
// Why not cv::imdecode: OpenCV 4.6's TIFF decoder left part of its output unwritten for strip-planar 16-bit RGB(A)
// files read unchanged, so an answer could carry an earlier request's pixels (issue 28), and it misread tiled
// planar 16-bit, signed-integer and planar-with-extra-samples files, refused 2/4/12-bit and BigTIFF files as
// "corrupt", and turned orientations 5-8 behind the plan's back. Here every strip or tile is read with
// TIFFReadEncodedStrip/Tile into buffers this code zeroed, checked to hold all the bytes its rows need, and
// unpacked sample by sample; what cannot be read that way is refused with the reason.
//
// What comes out, in the stored orientation (the plan turns it by the Orientation tag, as for JPEG's EXIF):
//   - channels: gray 1, RGB 3 (BGR order), either with an alpha 4 (BGRA; gray+alpha is replicated to BGR).
//     The first extra sample is the alpha, whatever ExtraSamples says of it, and is kept as stored (associated
//     alpha is not divided out); further extra samples are dropped. A palette gives BGR from its colour map.
//   - depth: 16-bit integer samples stay 16-bit (CV_16U) for the caller's round(v / 257); other integer widths
//     (1-7 and 9-15 bits) become round(v * 255 / (2^n - 1)) in CV_8U, the same rule. Signed samples are shifted
//     by 2^(n-1) first, so the signed range maps linearly and monotonically onto the unsigned one (int8 -128 -> 0,
//     127 -> 255). 32- and 64-bit floats come out as CV_32F (the caller maps [0, 1] onto [0, 255]); LogL and
//     LogLuv as floats too (LogLuv's XYZ converted to BGR, as OpenCV does).
//   - MinIsWhite is inverted to MinIsBlack.
//   - YCbCr, CMYK (separated) and CIE L*a*b* files go through libtiff's RGBA interface (8 bits per channel),
//     with the alpha only where ExtraSamples declares one.
// Refused with INVALID_ARGUMENT "unsupported tiff image: ...": 32-bit integer samples, 16/24-bit floats,
// palettes over 8 bits, signed samples other than 8 and 16 bits, photometric interpretations libtiff's RGBA
// interface does not take; "could not decode tiff: ..." for a strip or tile that is short or corrupt.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

// `gray16_high_byte`: a one-channel 16-bit image comes out as CV_8U holding v >> 8 (the rule OpenCV's decoder had
// for GRAYSCALE, which README keeps).
absl::StatusOr<cv::Mat> DecodeTiff(absl::string_view bytes, bool gray16_high_byte);

}  // namespace imgproc
