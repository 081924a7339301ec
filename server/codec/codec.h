#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/color_transform.h"
#include "codec/encode_options.h"
#include "codec/image_header.h"
#include "codec/metadata_policy.h"
#include "common/image_spec.h"
#include "common/limits.h"

namespace imgproc {

// How the decoder renders the image: 3-channel BGR, 1 channel, or the file's own channels (alpha kept).
enum class DecodeMode { kColor, kGrayscale, kUnchanged };

enum class OutputFormat { kJpeg, kPng, kWebp, kRaw, kAvif, kHeic, kTiff };
// Raw pixels interleaved (row-major HWC) or as planes (CHW, ML input).
enum class Layout { kHwc, kChw };

// What the answer is: an encoded image or raw pixels. An unset quality or level takes the encoder's default.
struct OutputSpec {
  OutputFormat format = OutputFormat::kJpeg;
  bool format_named = false;  // false: JPEG by default; errors then say so
  std::optional<int>
      quality;  // JPEG [1, 100], default 95; WebP [1, 101] (101: lossless), default 90; AVIF [1, 100], 60; HEIC 50
  std::optional<int> compression_level;                    // PNG [0, 9], default 3
  std::optional<int> speed;                                // AVIF [0, 10], default 8; HEIC [0, 9], default 8
  ChromaSubsampling chroma = ChromaSubsampling::kDefault;  // JPEG, AVIF and HEIC
  bool progressive = false;                                // JPEG
  bool optimize = false;                                   // JPEG
  bool tiff_deflate = true;                                // TIFF: deflate (zlib) or no compression
  // raw: the chain's last image converted to it (ToDepth: uint8 from uint16 is round(v / 257), from float32
  // saturates; uint16 from uint8 is v * 257).
  Depth raw_depth = Depth::kU8;
  Layout raw_layout = Layout::kHwc;
  MetadataPolicy metadata;  // what of the input's metadata the answer keeps (codec/metadata.h); none by default
};

// Checks a header against the limits: the point where a 100000x100000 PNG of a few kilobytes is refused.
absl::Status CheckHeaderLimits(const ImageHeader& header, size_t encoded_bytes, const ImageLimits& limits);

// The image the decoder will hand to the first step, predicted from the header; at 1/shrink_factor of the stored
// size for shrink-on-load (codec/shrink_on_load.h). `depth`: kU8 (the default) or kU16 (the 16-bit decode).
ImageSpec DecodedSpec(const ImageHeader& header, DecodeMode mode, int shrink_factor = 1, Depth depth = Depth::kU8);

// `image` converted to `depth` with the scaling the API documents: uint8 -> uint16 is v * 257 (exact), uint16 ->
// uint8 round(v / 257), to float32 the values as they are, float32 to an integer type rounded and saturated.
cv::Mat ToDepth(const cv::Mat& image, Depth depth);

// Decodes (at 1/shrink_factor of the stored size for a plan's shrink-on-load) and makes the result match
// `expected` (size, channels, depth: 8 bits, or 16 with 8-bit sources scaled by 257 and 10/12-bit HEIF widened), so
// that the validated chain sees exactly what it was validated for.
// INVALID_ARGUMENT when the data is corrupt. When the decoder went on past damaged data (a JPEG's entropy-coded
// data cut short or corrupt: libjpeg fills the rest), `damage` (when given) receives the decoder's reason, else "".
// With `color` (the plan's ColorDecision::transform) the pixels are converted to sRGB before they are brought to
// `expected`'s channels: a CMYK JPEG's ink through its CMYK profile; an RGB image to be read as gray is decoded
// in colour, converted, then made gray.
absl::StatusOr<cv::Mat> Decode(absl::string_view bytes, const ImageHeader& header, DecodeMode mode,
                               const ImageSpec& expected, int shrink_factor = 1, std::string* damage = nullptr,
                               const ColorTransform* color = nullptr);

// Validates the output spec for the image the chain will produce; errors name the field.
absl::Status ValidateOutputSpec(const OutputSpec& spec, const ImageSpec& image);

struct EncodedImage {
  std::string bytes;
  std::string format;  // "jpeg", "png", "webp", "avif", "tiff", "raw"
  ImageSpec spec;      // of the pixels encoded (raw: after dtype conversion)
  Layout layout = Layout::kHwc;
};

struct OutputMetadata;

// The JPEG, AVIF and HEIC options of `spec`, its unset fields at their defaults.
JpegEncodeOptions JpegOptionsOf(const OutputSpec& spec);
AvifEncodeOptions AvifOptionsOf(const OutputSpec& spec);
HeicEncodeOptions HeicOptionsOf(const OutputSpec& spec);

// `metadata` is for AVIF and HEIC, whose encoders write it into the file's items; every other format has it spliced in
// after encoding (EmbedMetadata, codec/metadata.h). A uint16 image is encoded at 16 bits as PNG, TIFF and raw
// uint16, and as round(v / 257) by the 8-bit encoders (JPEG, WebP, AVIF, HEIC).
absl::StatusOr<EncodedImage> Encode(const cv::Mat& image, const OutputSpec& spec,
                                    const OutputMetadata* metadata = nullptr);

// Bytes of a raw answer of `spec` (its depth the answer's dtype).
inline size_t RawBytes(const ImageSpec& spec) {
  return static_cast<size_t>(spec.pixels()) * spec.channels * DepthBytes(spec.depth);
}
// `image` as a raw answer of `spec` (dtype and layout) written to `destination`, which holds exactly its
// RawBytes: the answer's bytes, or a slot of a batch's tensor. INTERNAL when the sizes disagree.
absl::Status WriteRaw(const cv::Mat& image, const OutputSpec& spec, char* destination, size_t destination_bytes);

}  // namespace imgproc
