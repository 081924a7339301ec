#pragma once
// JPEG decode and encode on the CPU straight through libjpeg-turbo, in OpenCV's BGR order.
//
// Why not cv::imdecode/imencode: OpenCV 4.6 (Debian 12) has libjpeg produce RGB and swaps it to BGR in a scalar
// loop, and swaps again before encoding. On W4 (256x256 answers) that loop was 28% of the server's CPU (perf);
// decoding a 2560x1600 photo took 16.7 ms against 6.8 ms here. libjpeg-turbo's extended colour spaces
// (JCS_EXT_BGR, JCS_EXT_BGRX) read and write BGR directly. It is the same library with the same settings as
// OpenCV's, so the pixels and the bytes are the same as OpenCV's (tests/unit/jpeg_turbo_test.cc checks both).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/encode_options.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

// Decodes a 1- or 3-component JPEG at 1/shrink_factor (1, 2, 4 or 8) of its size into 8-bit BGR, or gray when
// `grayscale`. A corrupt stream is INVALID_ARGUMENT; a stream that ends early, or whose entropy-coded data is
// damaged, decodes as far as it goes, as libjpeg (and so OpenCV) does, and `damage` (when given) receives libjpeg's
// first such warning ("Premature end of JPEG file", "Corrupt JPEG data: bad Huffman code"), else "".
// CMYK and YCCK JPEGs are UNIMPLEMENTED here: OpenCV converts them.
absl::StatusOr<cv::Mat> DecodeJpegBgr(absl::string_view bytes, bool grayscale, int shrink_factor,
                                      std::string* damage = nullptr);

// OpenCV converts CMYK and YCCK JPEGs, but its JPEG reader stops at the first row its data cannot supply and still
// reports success, leaving the rest of its output (and of its row buffer) unwritten: memory an earlier request may
// have held (fuzz_decode_pattern found it). This decodes such a stream through libjpeg-turbo's in-memory source
// first, which pads a stream that ends early and warns: OK when every row decodes without damage, else
// INVALID_ARGUMENT with libjpeg's reason, so that only whole streams reach OpenCV.
absl::Status CheckCmykJpegDecodes(absl::string_view bytes, int shrink_factor);

// The same decode, handing over the ink: CV_8UC4 CMYK as stored, for a colour transform through the file's own CMYK
// profile (codec/color_transform.h). `inverted` receives whether the file has Adobe's APP14 marker, whose writers
// (Photoshop, libjpeg) store the ink inverted. Refused as CheckCmykJpegDecodes refuses.
absl::StatusOr<cv::Mat> DecodeCmykJpeg(absl::string_view bytes, int shrink_factor, bool* inverted);

// Encodes 8-bit gray, BGR or BGRA (whose alpha JPEG cannot store and is dropped). The default options are OpenCV's
// settings (baseline, 4:2:0 for colour, standard Huffman tables) and give imencode's bytes; `progressive` writes
// libjpeg's standard progression (jpeg_simple_progression: SOF2, 10 scans for colour), `chroma` sets the sampling
// factors of luma (2x2 for 4:2:0, 2x1 for 4:2:2, 1x1 for 4:4:4; chroma 1x1), `optimize` computes Huffman tables
// for the image. A gray image has one component and ignores `chroma`.
absl::StatusOr<std::string> EncodeJpegBgr(const cv::Mat& image, const JpegEncodeOptions& options);
inline absl::StatusOr<std::string> EncodeJpegBgr(const cv::Mat& image, int quality) {
  JpegEncodeOptions options;
  options.quality = quality;
  return EncodeJpegBgr(image, options);
}

}  // namespace imgproc
