#include "common/encode_checks.h"

#include <avif/avif.h>

#include <cstdint>

namespace imgproc::testing {

JpegStructure ParseJpegStructure(const std::string& jpeg) {
  JpegStructure out;
  const auto* b = reinterpret_cast<const uint8_t*>(jpeg.data());
  const size_t n = jpeg.size();
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return out;
  size_t i = 2;
  while (i + 2 <= n) {
    if (b[i] != 0xFF) return out;
    const int marker = b[i + 1];
    if (marker == 0xD9) {
      out.parsed = true;
      return out;
    }
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (i + 4 > n) return out;
    const size_t length = (size_t{b[i + 2]} << 8) | b[i + 3];
    if (length < 2 || i + 2 + length > n) return out;
    const uint8_t* segment = b + i + 4;
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      out.sof_marker = marker;
      const int count = segment[5];
      for (int c = 0; c < count && 6 + 3 * c + 2 < static_cast<int>(length); ++c) {
        const uint8_t* comp = segment + 6 + 3 * c;
        out.components.push_back({comp[0], comp[1] >> 4, comp[1] & 0x0F});
      }
    }
    if (marker == 0xC4) ++out.huffman_tables;
    i += 2 + length;
    if (marker == 0xDA) {  // entropy-coded data: to the next marker that is not a stuffed 0 or a restart
      ++out.scans;
      while (i + 1 < n && !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) ++i;
    }
  }
  return out;
}

AvifDecoded DecodeAvif(const std::string& avif) {
  AvifDecoded out;
  avifDecoder* decoder = avifDecoderCreate();
  avifResult r = avifDecoderSetIOMemory(decoder, reinterpret_cast<const uint8_t*>(avif.data()), avif.size());
  if (r == AVIF_RESULT_OK) r = avifDecoderParse(decoder);
  if (r == AVIF_RESULT_OK) r = avifDecoderNextImage(decoder);
  if (r != AVIF_RESULT_OK) {
    out.error = avifResultToString(r);
    avifDecoderDestroy(decoder);
    return out;
  }
  const avifImage* image = decoder->image;
  out.yuv_format = image->yuvFormat;
  out.depth = static_cast<int>(image->depth);
  out.has_alpha = image->alphaPlane != nullptr;
  out.icc_profile.assign(reinterpret_cast<const char*>(image->icc.data), image->icc.size);
  out.xmp.assign(reinterpret_cast<const char*>(image->xmp.data), image->xmp.size);
  if (image->yuvFormat == AVIF_PIXEL_FORMAT_YUV400 && !out.has_alpha && image->depth == 8 &&
      image->yuvRange == AVIF_RANGE_FULL) {
    out.pixels = cv::Mat(static_cast<int>(image->height), static_cast<int>(image->width), CV_8UC1,
                         image->yuvPlanes[AVIF_CHAN_Y], image->yuvRowBytes[AVIF_CHAN_Y])
                     .clone();
  } else {
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, image);
    rgb.format = out.has_alpha ? AVIF_RGB_FORMAT_BGRA : AVIF_RGB_FORMAT_BGR;
    rgb.depth = 8;
    out.pixels =
        cv::Mat(static_cast<int>(image->height), static_cast<int>(image->width), out.has_alpha ? CV_8UC4 : CV_8UC3);
    rgb.pixels = out.pixels.data;
    rgb.rowBytes = static_cast<uint32_t>(out.pixels.step[0]);
    r = avifImageYUVToRGB(image, &rgb);
    if (r != AVIF_RESULT_OK) {
      out.error = avifResultToString(r);
      avifDecoderDestroy(decoder);
      return out;
    }
  }
  out.ok = true;
  avifDecoderDestroy(decoder);
  return out;
}

}  // namespace imgproc::testing
