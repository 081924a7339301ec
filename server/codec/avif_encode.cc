#include "codec/avif_encode.h"

#include <avif/avif.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "codec/metadata.h"

namespace imgproc {

namespace {

// One core's microseconds per pixel by speed 0..10: the larger of a 320x200 thumbnail's and a 1680x1050 photo's
// (avifenc -j 1 --min 24 --max 24, libaom 3.6.0, 2026-12-07 on the 2-core development host).
constexpr double kMicrosPerPixel[11] = {50, 28, 20, 14, 5.5, 4.1, 1.25, 0.5, 0.31, 0.16, 0.16};
constexpr double kTapsPerMicrosecond = 6000;

struct EncoderDeleter {
  void operator()(avifEncoder* e) const { avifEncoderDestroy(e); }
};
struct ImageDeleter {
  void operator()(avifImage* i) const { avifImageDestroy(i); }
};

avifPixelFormat PixelFormat(const cv::Mat& image, ChromaSubsampling chroma) {
  if (image.channels() == 1) return AVIF_PIXEL_FORMAT_YUV400;
  switch (chroma) {
    case ChromaSubsampling::k444: return AVIF_PIXEL_FORMAT_YUV444;
    case ChromaSubsampling::k422: return AVIF_PIXEL_FORMAT_YUV422;
    default: return AVIF_PIXEL_FORMAT_YUV420;
  }
}

// libavif 1.x's mapping of its quality to the quantizer, so that a quality means the same as in newer avifenc.
int Quantizer(int quality) { return std::clamp(((100 - quality) * 63 + 50) / 100, 0, 63); }

absl::Status AvifError(avifResult result, const char* what) {
  if (result == AVIF_RESULT_OK) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("encoding avif: ", what, ": ", avifResultToString(result)));
}

}  // namespace

double AvifEncodeWork(int64_t pixels, int speed) {
  return static_cast<double>(pixels) * kMicrosPerPixel[std::clamp(speed, 0, 10)] * kTapsPerMicrosecond;
}

absl::StatusOr<std::string> EncodeAvif(const cv::Mat& image, const AvifEncodeOptions& options,
                                       const OutputMetadata* metadata) {
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return absl::InvalidArgumentError(absl::StrCat("AVIF encode needs 8-bit pixels with 1, 3 or 4 channels (got depth ",
                                                   image.depth(), ", ", image.channels(), " channels)"));
  }
  std::unique_ptr<avifImage, ImageDeleter> yuv(
      avifImageCreate(image.cols, image.rows, 8, PixelFormat(image, options.chroma)));
  if (yuv == nullptr) return absl::ResourceExhaustedError("encoding avif: no memory for the image");
  yuv->colorPrimaries = AVIF_COLOR_PRIMARIES_BT709;
  yuv->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_SRGB;
  yuv->matrixCoefficients = AVIF_MATRIX_COEFFICIENTS_BT601;
  yuv->yuvRange = AVIF_RANGE_FULL;
  if (image.channels() == 1) {
    // Monochrome: the luma plane is the gray image itself (full range, so Y = gray).
    if (absl::Status s = AvifError(avifImageAllocatePlanes(yuv.get(), AVIF_PLANES_YUV), "planes"); !s.ok()) return s;
    for (int y = 0; y < image.rows; ++y) {
      std::copy_n(image.ptr<uint8_t>(y), image.cols, yuv->yuvPlanes[AVIF_CHAN_Y] + size_t{yuv->yuvRowBytes[0]} * y);
    }
  } else {
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, yuv.get());
    rgb.format = image.channels() == 4 ? AVIF_RGB_FORMAT_BGRA : AVIF_RGB_FORMAT_BGR;
    rgb.depth = 8;
    rgb.pixels = const_cast<uint8_t*>(image.ptr<uint8_t>());
    rgb.rowBytes = static_cast<uint32_t>(image.step[0]);
    if (absl::Status s = AvifError(avifImageRGBToYUV(yuv.get(), &rgb), "RGB to YUV"); !s.ok()) return s;
  }
  if (metadata != nullptr) {
    if (metadata->icc_profile) {
      avifImageSetProfileICC(yuv.get(), reinterpret_cast<const uint8_t*>(metadata->icc_profile->data()),
                             metadata->icc_profile->size());
    }
    if (metadata->xmp) {
      avifImageSetMetadataXMP(yuv.get(), reinterpret_cast<const uint8_t*>(metadata->xmp->data()),
                              metadata->xmp->size());
    }
  }
  std::unique_ptr<avifEncoder, EncoderDeleter> encoder(avifEncoderCreate());
  if (encoder == nullptr) return absl::ResourceExhaustedError("encoding avif: no memory for the encoder");
  encoder->codecChoice = AVIF_CODEC_CHOICE_AOM;
  encoder->maxThreads = 1;
  encoder->speed = options.speed;
  const int quantizer = Quantizer(options.quality);
  encoder->minQuantizer = encoder->maxQuantizer = quantizer;
  encoder->minQuantizerAlpha = encoder->maxQuantizerAlpha = quantizer;
  avifRWData output = AVIF_DATA_EMPTY;
  const avifResult result = avifEncoderWrite(encoder.get(), yuv.get(), &output);
  if (result != AVIF_RESULT_OK) {
    avifRWDataFree(&output);
    return AvifError(result, "avifEncoderWrite");
  }
  std::string bytes(reinterpret_cast<const char*>(output.data), output.size);
  avifRWDataFree(&output);
  return bytes;
}

}  // namespace imgproc
