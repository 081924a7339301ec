#include "codec/heif_decode.h"

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

}  // namespace

absl::StatusOr<cv::Mat> DecodeHeif(absl::string_view bytes, const ImageHeader& header) {
  std::unique_ptr<heif_context, ContextFree> context(heif_context_alloc());
  if (context == nullptr) return absl::ResourceExhaustedError("libheif could not allocate a context");
  // libheif's own limit on any image's (or tile's, or grid's) side, from the header the limits have accepted: the
  // grid's output and the tiles are checked in ReadHeifHeader; this stops whatever it might still size otherwise
  // (a coded stream larger than its ispe).
  // Coded sizes are rounded up to whole coding blocks (HEVC's up to 64 pixels, AV1's 128 superblocks), and libheif
  // compares them with its limit: one block of slack beyond the largest side.
  absl::StatusOr<HeifStructure> structure = ReadHeifStructure(bytes);
  if (!structure.ok()) return structure.status();
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
  options->convert_hdr_to_8bit = 1;  // 10/12-bit to 8 (the 16-bit decode mode is a later item of issue 30)
  heif_image* raw_image = nullptr;
  error = heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB,
                            alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, options.get());
  if (error.code != heif_error_Ok) return Failed("decoding", error);
  std::unique_ptr<heif_image, ImageFree> image(raw_image);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int width = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int height = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (plane == nullptr || width <= 0 || height <= 0) {
    return absl::InvalidArgumentError("could not decode heif data: libheif gave no interleaved plane");
  }
  if (heif_image_get_bits_per_pixel_range(image.get(), heif_channel_interleaved) != 8) {
    return absl::InternalError("libheif gave more than 8 bits per sample after convert_hdr_to_8bit");
  }
  const cv::Mat rgb(height, width, alpha ? CV_8UC4 : CV_8UC3, const_cast<uint8_t*>(plane), static_cast<size_t>(stride));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, alpha ? cv::COLOR_RGBA2BGRA : cv::COLOR_RGB2BGR);
  if (turn_here) {
    for (const HeifStructure::Transform& t : structure->transforms) {
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
  return bgr;
}

}  // namespace imgproc
