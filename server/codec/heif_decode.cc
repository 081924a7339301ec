#include "codec/heif_decode.h"

#include <avif/avif.h>
#include <libheif/heif.h>

#include <algorithm>
#include <memory>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "codec/heif_header.h"

namespace imgproc {

namespace {

struct ContextFree {
  void operator()(heif_context* context) const { heif_context_free(context); }
};
struct HandleFree {
  void operator()(heif_image_handle* handle) const { heif_image_handle_release(handle); }
};
struct ImageFree {
  void operator()(heif_image* image) const { heif_image_release(image); }
};
struct OptionsFree {
  void operator()(heif_decoding_options* options) const { heif_decoding_options_free(options); }
};

absl::Status Failed(const char* what, const heif_error& error) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode heif data: ", what, ": ", error.message));
}

// irot and imir, in the order the file lists them, on the decoded 8-bit image.
void Turn(cv::Mat& bgr, const HeifStructure& structure) {
  for (const HeifStructure::Transform& t : structure.transforms) {
    if (t.kind == 'r') {
      cv::rotate(bgr, bgr,
                 t.value == 1   ? cv::ROTATE_90_COUNTERCLOCKWISE
                 : t.value == 2 ? cv::ROTATE_180
                                : cv::ROTATE_90_CLOCKWISE);
    } else {
      cv::flip(bgr, bgr, t.value == 1 ? 1 : 0);
    }
  }
}

// n-bit samples (n = 9..15) in CV_16U to 16 bits by repeating their top bits: 10-bit v << 6 | v >> 4, 12-bit
// v << 4 | v >> 8, so 0 -> 0 and 2^n - 1 -> 65535.
void WidenTo16(cv::Mat& image, int bits) {
  const int up = 16 - bits, down = bits - up;
  const int values = image.cols * image.channels();
  for (int y = 0; y < image.rows; ++y) {
    uint16_t* row = image.ptr<uint16_t>(y);
    for (int x = 0; x < values; ++x) row[x] = static_cast<uint16_t>(row[x] << up | row[x] >> down);
  }
}

struct AvifDecoderFree {
  void operator()(avifDecoder* decoder) const { avifDecoderDestroy(decoder); }
};

absl::Status AvifFailed(const char* what, avifResult result, const avifDecoder& decoder) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode avif data: ", what, ": ", avifResultToString(result),
                                                 decoder.diag.error[0] != '\0' ? ": " : "", decoder.diag.error));
}

// AVIF through libavif: its YUV to RGB (libyuv) made the decode 2-3x faster than libheif's on the photos (README).
// libavif leaves irot/imir to us, as Turn does for both.
absl::StatusOr<cv::Mat> DecodeAvif(absl::string_view bytes, const ImageHeader& header, const HeifStructure& structure,
                                   bool sixteen_bit) {
  std::unique_ptr<avifDecoder, AvifDecoderFree> decoder(avifDecoderCreate());
  if (decoder == nullptr) return absl::ResourceExhaustedError("libavif could not allocate a decoder");
  // libavif's own bounds, from the header the limits accepted (with a superblock of slack on each side, as for
  // libheif): no image or tile it decodes can be larger.
  const uint64_t side = static_cast<uint64_t>(std::max(header.width, header.height)) + 128;
  decoder->imageDimensionLimit = static_cast<uint32_t>(std::min<uint64_t>(side, UINT32_MAX));
  decoder->imageSizeLimit = static_cast<uint32_t>(std::min<uint64_t>(
      (static_cast<uint64_t>(header.width) + 128) * (static_cast<uint64_t>(header.height) + 128), UINT32_MAX));
  decoder->ignoreExif = AVIF_TRUE;  // read by codec/metadata.h when a policy keeps it
  decoder->ignoreXMP = AVIF_TRUE;
  // What libheif takes, libavif takes: its strict checks (pixi present, clap valid) would refuse files browsers show.
  decoder->strictFlags = AVIF_STRICT_DISABLED;
  avifResult result =
      avifDecoderSetIOMemory(decoder.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (result != AVIF_RESULT_OK) return AvifFailed("reading", result, *decoder);
  if (result = avifDecoderParse(decoder.get()); result != AVIF_RESULT_OK) {
    return AvifFailed("reading the boxes", result, *decoder);
  }
  if (result = avifDecoderNextImage(decoder.get()); result != AVIF_RESULT_OK) {
    return AvifFailed("decoding", result, *decoder);
  }
  const avifImage* image = decoder->image;
  const bool alpha = image->alphaPlane != nullptr;
  // 10 and 12 bits scaled to 8 by libavif, or kept (and widened below) for the 16-bit decode.
  const bool deep = sixteen_bit && image->depth > 8;
  cv::Mat bgr(static_cast<int>(image->height), static_cast<int>(image->width),
              CV_MAKETYPE(deep ? CV_16U : CV_8U, alpha ? 4 : 3));
  avifRGBImage pixels;
  avifRGBImageSetDefaults(&pixels, image);
  pixels.format = alpha ? AVIF_RGB_FORMAT_BGRA : AVIF_RGB_FORMAT_BGR;
  pixels.depth = deep ? image->depth : 8;
  pixels.pixels = bgr.data;
  pixels.rowBytes = static_cast<uint32_t>(bgr.step);
  if (result = avifImageYUVToRGB(image, &pixels); result != AVIF_RESULT_OK) {
    return AvifFailed("converting to RGB", result, *decoder);
  }
  if (deep) WidenTo16(bgr, static_cast<int>(image->depth));
  Turn(bgr, structure);
  return bgr;
}

absl::StatusOr<cv::Mat> DecodeInColour(absl::string_view bytes, const ImageHeader& header, bool sixteen_bit) {
  std::unique_ptr<heif_context, ContextFree> context(heif_context_alloc());
  if (context == nullptr) return absl::ResourceExhaustedError("libheif could not allocate a context");
  // libheif's own limit on any image's (or tile's, or grid's) side, from the header the limits have accepted: the
  // grid's output and the tiles are checked in ReadHeifHeader; this stops whatever it might still size otherwise
  // (a coded stream larger than its ispe).
  // Coded sizes are rounded up to whole coding blocks (HEVC's up to 64 pixels, AV1's 128 superblocks), and libheif
  // compares them with its limit: one block of slack beyond the largest side.
  absl::StatusOr<HeifStructure> structure = ReadHeifStructure(bytes);
  if (!structure.ok()) return structure.status();
  // A clean aperture (crop) is libavif's to expose and ours to apply: those few AVIFs go to libheif, which crops.
  if (structure->av1 && !structure->clean_aperture) return DecodeAvif(bytes, header, *structure, sixteen_bit);
  const int largest_side = std::max({header.width, header.height, structure->tile_width, structure->tile_height});
  heif_context_set_maximum_image_size_limit(context.get(), largest_side + 128);
  heif_error error = heif_context_read_from_memory_without_copy(context.get(), bytes.data(), bytes.size(), nullptr);
  if (error.code != heif_error_Ok) return Failed("reading the boxes", error);
  heif_image_handle* raw_handle = nullptr;
  error = heif_context_get_primary_image_handle(context.get(), &raw_handle);
  if (error.code != heif_error_Ok) return Failed("the primary image", error);
  std::unique_ptr<heif_image_handle, HandleFree> handle(raw_handle);
  const bool alpha = heif_image_handle_has_alpha_channel(handle.get()) != 0;
  // libheif 1.15 rotates and mirrors only 8-bit planes (a 10-bit image with irot fails), and before its 8-bit
  // conversion: the turns are ours, on the 8-bit result, in the order the file lists them. Only a clean aperture
  // (crop, which comes after them) leaves them to libheif.
  const bool turn_here = !structure->clean_aperture;
  std::unique_ptr<heif_decoding_options, OptionsFree> options(heif_decoding_options_alloc());
  options->ignore_transformations = turn_here ? 1 : 0;
  // 10/12-bit to 8, unless the 16-bit decode keeps them (little-endian 16-bit interleaved, widened below); libheif
  // 1.15 turns only 8-bit planes, so an image it must turn (a clean aperture) is read at 8 bits.
  const int luma_bits = heif_image_handle_get_luma_bits_per_pixel(handle.get());
  const bool deep = sixteen_bit && turn_here && luma_bits > 8 && luma_bits < 16;
  options->convert_hdr_to_8bit = deep ? 0 : 1;
  const heif_chroma chroma = deep ? (alpha ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBB_LE)
                                  : (alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB);
  heif_image* raw_image = nullptr;
  error = heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB, chroma, options.get());
  if (error.code != heif_error_Ok) return Failed("decoding", error);
  std::unique_ptr<heif_image, ImageFree> image(raw_image);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int width = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int height = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (plane == nullptr || width <= 0 || height <= 0) {
    return absl::InvalidArgumentError("could not decode heif data: libheif gave no interleaved plane");
  }
  const int bits = heif_image_get_bits_per_pixel_range(image.get(), heif_channel_interleaved);
  if (deep ? bits != luma_bits : bits != 8) {
    return absl::InternalError(
        absl::StrCat("libheif gave ", bits, " bits per sample, expected ", deep ? luma_bits : 8));
  }
  const cv::Mat rgb(height, width, CV_MAKETYPE(deep ? CV_16U : CV_8U, alpha ? 4 : 3), const_cast<uint8_t*>(plane),
                    static_cast<size_t>(stride));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, alpha ? cv::COLOR_RGBA2BGRA : cv::COLOR_RGB2BGR);
  if (deep) WidenTo16(bgr, bits);  // x86 and ARM are little-endian: the _LE samples are host order
  if (turn_here) Turn(bgr, *structure);
  return bgr;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeHeif(absl::string_view bytes, const ImageHeader& header, bool sixteen_bit) {
  absl::StatusOr<cv::Mat> image = DecodeInColour(bytes, header, sixteen_bit);
  // A monochrome image (pixi: one channel) is gray, as its header says, so that a gray ICC profile applies to it.
  if (image.ok() && header.channels == 1 && image->channels() == 3) cv::cvtColor(*image, *image, cv::COLOR_BGR2GRAY);
  return image;
}

}  // namespace imgproc
