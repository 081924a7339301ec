#pragma once
// OS/2 1.x bitmaps (BITMAPCOREHEADER: a 12-byte header, 16-bit sizes, 3-byte palette entries), decoded here.
//
// Why not cv::imdecode: OpenCV 4.6 reads such a palette as if its entries were Windows' 4-byte ones, and its
// DECODE_MODE_UNCHANGED answer came back gray (issue 28). The format is small: 1-, 4-, 8- or 24-bit uncompressed
// rows, bottom-up, each padded to 4 bytes. Palette indices beyond the entries the file holds decode as black.

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

// True for a BMP whose header is a BITMAPCOREHEADER.
bool IsOs2CoreBmp(absl::string_view bytes);

// 8-bit BGR, every pixel written. INVALID_ARGUMENT for truncated data or an unsupported bit depth.
absl::StatusOr<cv::Mat> DecodeOs2CoreBmp(absl::string_view bytes);

}  // namespace imgproc
