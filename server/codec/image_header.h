#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

enum class ImageFormat { kJpeg, kPng, kWebp, kTiff, kBmp };
const char* ImageFormatName(ImageFormat format);

// What the first bytes of a file say, read without decoding pixels.
struct ImageHeader {
  ImageFormat format;
  int width = 0;
  int height = 0;
  int channels = 0;  // as stored: 1 gray, 2 gray+alpha, 3 colour, 4 colour+alpha
  // JPEG only: sequential Huffman coding (baseline or extended, SOF0/SOF1), what hardware JPEG decoders take;
  // false for progressive, lossless and arithmetic-coded JPEGs.
  bool jpeg_sequential = false;
  // Progressive JPEG only: its start-of-scan markers, counted from the markers without decoding.
  int jpeg_scans = 0;
  // JPEG only: the EXIF Orientation tag (1-8), 1 when there is none.
  int exif_orientation = 1;
};

// INVALID_ARGUMENT for empty, unknown or malformed data, with the reason.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

}  // namespace imgproc
