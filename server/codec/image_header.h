#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

enum class ImageFormat { kJpeg, kPng, kWebp, kTiff, kBmp, kGif, kHeif };
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
  // JPEG (APP1), PNG (eXIf) and WebP (EXIF chunk of a VP8X file): the EXIF Orientation tag (1-8); TIFF: its own
  // Orientation tag (1-8); 1 when there is none.
  int exif_orientation = 1;
  // Why the decoder will see less than the whole image, from the file's structure: a JPEG whose data ends before its
  // end-of-image marker (inside a scan, or between the scans of a progressive one), a GIF cut after its first frame.
  // Empty when the file is whole. A file cut where its decoder would fail or allocate by a length it cannot read
  // (before a JPEG's first scan, inside a GIF's first frame, a PNG or WebP anywhere) is refused instead.
  std::string truncation = "";
  // Frames in the file, counted from the container without decoding: 1 for still images. Only the first frame
  // of an animation is decoded, composited on the canvas (width x height: GIF's logical screen, WebP's VP8X canvas).
  int frames = 1;
  // WebP only: the VP8X animation flag; such a file is decoded with libwebp's demux API, which OpenCV lacks.
  bool webp_animated = false;
  // TIFF only: floating-point samples (SampleFormat 3, or LogL/LogLuv, which libtiff hands over as floats), which
  // decode as [0, 1] -> [0, 255].
  bool tiff_float = false;
  // HEIF only (codec/heif_header.h): AV1-coded (AVIF) rather than HEVC (HEIC); bits per sample (8, 10, 12; decoded
  // to 8); the grid's tile count (0 for a single coded image). width x height is the image as displayed, after
  // irot/imir, which libheif applies.
  bool heif_av1 = false;
  int heif_bits = 8;
  int heif_tiles = 0;
};

// INVALID_ARGUMENT for empty, unknown or malformed data, with the reason. The container's chunks, segments and blocks
// are walked to the end of the image, each in O(1) (entropy-coded JPEG data by memchr): a chunk that declares more
// bytes than remain is refused here, before any decoder allocates by it.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

}  // namespace imgproc
