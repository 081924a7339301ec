#include "codec/heic_encode.h"

#include <libheif/heif.h>

#include <algorithm>
#include <memory>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "codec/metadata.h"
#include "common/status_macros.h"

namespace imgproc {

namespace {

constexpr const char* kPresets[10] = {"placebo", "veryslow", "slower",   "slow",      "medium",
                                      "fast",    "faster",   "veryfast", "superfast", "ultrafast"};

// One core's microseconds per pixel by speed 0..9, rounded up from the larger of a 320x200 thumbnail's and a
// 1680x1050 photo's (bench/heic_encode_cost.cc on Garden.jpg, x265 3.5 through libheif 1.15.1, 2026-12-07 on the
// 2-core development host). The presets differ little on a still image: most of what they trade is motion search.
constexpr double kMicrosPerPixel[10] = {1.7, 0.9, 0.95, 0.9, 0.55, 0.55, 0.55, 0.55, 0.5, 0.2};
constexpr double kTapsPerMicrosecond = 6000;  // as codec/avif_encode.cc: the budget's taps per core-microsecond

struct ContextFree {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct ImageRelease {
  void operator()(heif_image* i) const { heif_image_release(i); }
};
struct EncoderRelease {
  void operator()(heif_encoder* e) const { heif_encoder_release(e); }
};
struct HandleRelease {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct OptionsFree {
  void operator()(heif_encoding_options* o) const { heif_encoding_options_free(o); }
};
struct NclxFree {
  void operator()(heif_color_profile_nclx* n) const { heif_nclx_color_profile_free(n); }
};

absl::Status HeifError(const heif_error& error, const char* what) {
  if (error.code == heif_error_Ok) return absl::OkStatus();
  if (error.code == heif_error_Memory_allocation_error) {
    return absl::ResourceExhaustedError(absl::StrCat("encoding heic: ", what, ": ", error.message));
  }
  return absl::InternalError(absl::StrCat("encoding heic: ", what, ": ", error.message));
}

const char* ChromaParameter(ChromaSubsampling chroma) {
  switch (chroma) {
    case ChromaSubsampling::k444: return "444";
    case ChromaSubsampling::k422: return "422";
    default: return "420";
  }
}

heif_error WriteToString(heif_context*, const void* data, size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return heif_error{heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

}  // namespace

double HeicEncodeWork(int64_t pixels, int speed) {
  return static_cast<double>(pixels) * kMicrosPerPixel[std::clamp(speed, 0, 9)] * kTapsPerMicrosecond;
}

const char* HeicPresetName(int speed) { return kPresets[std::clamp(speed, 0, 9)]; }

absl::StatusOr<std::string> EncodeHeic(const cv::Mat& image, const HeicEncodeOptions& options,
                                       const OutputMetadata* metadata) {
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return absl::InvalidArgumentError(absl::StrCat("HEIC encode needs 8-bit pixels with 1, 3 or 4 channels (got depth ",
                                                   image.depth(), ", ", image.channels(), " channels)"));
  }
  const bool alpha = image.channels() == 4;
  heif_image* raw_image = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_image_create(image.cols, image.rows, heif_colorspace_RGB,
                                  alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &raw_image),
                "heif_image_create"));
  std::unique_ptr<heif_image, ImageRelease> rgb(raw_image);
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_image_add_plane(rgb.get(), heif_channel_interleaved, image.cols, image.rows, 8), "image plane"));
  int stride = 0;
  uint8_t* plane = heif_image_get_plane(rgb.get(), heif_channel_interleaved, &stride);
  cv::Mat interleaved(image.rows, image.cols, alpha ? CV_8UC4 : CV_8UC3, plane, static_cast<size_t>(stride));
  const int conversion = image.channels() == 1 ? cv::COLOR_GRAY2RGB : alpha ? cv::COLOR_BGRA2RGBA : cv::COLOR_BGR2RGB;
  cv::cvtColor(image, interleaved, conversion);  // writes into libheif's plane: its size and type already match

  // The matrix libheif converts RGB to YCbCr with. Its box is left out of the file (libheif's default macOS
  // workaround for sRGB), which is what decoders assume without one.
  std::unique_ptr<heif_color_profile_nclx, NclxFree> nclx(heif_nclx_color_profile_alloc());
  if (nclx == nullptr) return absl::ResourceExhaustedError("encoding heic: no memory for the colour profile");
  nclx->color_primaries = heif_color_primaries_ITU_R_BT_709_5;
  nclx->transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1;
  nclx->matrix_coefficients = heif_matrix_coefficients_ITU_R_BT_601_6;
  nclx->full_range_flag = 1;
  IMGPROC_RETURN_IF_ERROR(HeifError(heif_image_set_nclx_color_profile(rgb.get(), nclx.get()), "nclx profile"));
  if (metadata != nullptr && metadata->icc_profile) {
    IMGPROC_RETURN_IF_ERROR(HeifError(heif_image_set_raw_color_profile(rgb.get(), "prof", metadata->icc_profile->data(),
                                                                       metadata->icc_profile->size()),
                                      "icc profile"));
  }

  std::unique_ptr<heif_context, ContextFree> context(heif_context_alloc());
  if (context == nullptr) return absl::ResourceExhaustedError("encoding heic: no memory for the context");
  heif_encoder* raw_encoder = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_context_get_encoder_for_format(context.get(), heif_compression_HEVC, &raw_encoder),
                "no HEVC encoder (libheif's x265 plugin)"));
  std::unique_ptr<heif_encoder, EncoderRelease> encoder(raw_encoder);
  IMGPROC_RETURN_IF_ERROR(HeifError(heif_encoder_set_lossy_quality(encoder.get(), options.quality), "quality"));
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_encoder_set_parameter(encoder.get(), "preset", HeicPresetName(options.speed)), "preset"));
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_encoder_set_parameter(encoder.get(), "chroma", ChromaParameter(options.chroma)), "chroma"));
  // One thread: no x265 thread pool, one frame in flight (x265 would otherwise start a pool of every core's
  // threads for each request).
  IMGPROC_RETURN_IF_ERROR(HeifError(heif_encoder_set_parameter(encoder.get(), "x265:pools", "none"), "x265 pools"));
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_encoder_set_parameter(encoder.get(), "x265:frame-threads", "1"), "x265 frame threads"));

  std::unique_ptr<heif_encoding_options, OptionsFree> encoding(heif_encoding_options_alloc());
  if (encoding == nullptr) return absl::ResourceExhaustedError("encoding heic: no memory for the options");
  encoding->save_alpha_channel = alpha ? 1 : 0;
  heif_image_handle* raw_handle = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      HeifError(heif_context_encode_image(context.get(), rgb.get(), encoder.get(), encoding.get(), &raw_handle),
                "heif_context_encode_image"));
  std::unique_ptr<heif_image_handle, HandleRelease> handle(raw_handle);
  if (metadata != nullptr && metadata->exif) {
    // libheif writes the Exif item's 4-byte offset to the TIFF header in front of these bytes itself.
    IMGPROC_RETURN_IF_ERROR(
        HeifError(heif_context_add_exif_metadata(context.get(), handle.get(), metadata->exif->data(),
                                                 static_cast<int>(metadata->exif->size())),
                  "exif item"));
  }
  if (metadata != nullptr && metadata->xmp) {
    IMGPROC_RETURN_IF_ERROR(HeifError(heif_context_add_XMP_metadata(context.get(), handle.get(), metadata->xmp->data(),
                                                                    static_cast<int>(metadata->xmp->size())),
                                      "xmp item"));
  }
  std::string bytes;
  heif_writer writer{1, &WriteToString};
  IMGPROC_RETURN_IF_ERROR(HeifError(heif_context_write(context.get(), &writer, &bytes), "heif_context_write"));
  return bytes;
}

}  // namespace imgproc
