#include "imgproc_testing/encode_checks.h"

#include <avif/avif.h>
#include <libheif/heif.h>

#include <cstdint>
#include <opencv2/imgproc.hpp>

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

HeicDecoded DecodeHeic(const std::string& heic) {
  HeicDecoded out;
  heif_context* context = heif_context_alloc();
  heif_image_handle* handle = nullptr;
  heif_image* image = nullptr;
  auto failed = [&](const heif_error& e) {
    if (e.code == heif_error_Ok) return false;
    out.error = e.message;
    return true;
  };
  auto done = [&] {
    if (image != nullptr) heif_image_release(image);
    if (handle != nullptr) heif_image_handle_release(handle);
    heif_context_free(context);
    return out;
  };
  if (failed(heif_context_read_from_memory_without_copy(context, heic.data(), heic.size(), nullptr)) ||
      failed(heif_context_get_primary_image_handle(context, &handle))) {
    return done();
  }
  // The HEVC configuration (hvcC): chroma_format_idc is the low two bits of its payload's 17th byte.
  if (const size_t at = heic.find("hvcC"); at != std::string::npos && at + 4 + 16 < heic.size()) {
    out.chroma_format_idc = static_cast<uint8_t>(heic[at + 4 + 16]) & 3;
  }
  out.luma_bits = heif_image_handle_get_luma_bits_per_pixel(handle);
  out.has_alpha = heif_image_handle_has_alpha_channel(handle) != 0;
  const heif_color_profile_type profile = heif_image_handle_get_color_profile_type(handle);
  if (profile == heif_color_profile_type_prof || profile == heif_color_profile_type_rICC) {
    out.icc_profile.resize(heif_image_handle_get_raw_color_profile_size(handle));
    if (failed(heif_image_handle_get_raw_color_profile(handle, out.icc_profile.data()))) return done();
  }
  heif_item_id ids[8];
  const int blocks = heif_image_handle_get_list_of_metadata_block_IDs(handle, nullptr, ids, 8);
  for (int i = 0; i < blocks; ++i) {
    std::string data(heif_image_handle_get_metadata_size(handle, ids[i]), '\0');
    if (failed(heif_image_handle_get_metadata(handle, ids[i], data.data()))) return done();
    const std::string type = heif_image_handle_get_metadata_type(handle, ids[i]);
    if (type == "Exif" && data.size() >= 4) {
      const size_t offset = (size_t{static_cast<uint8_t>(data[0])} << 24) |
                            (size_t{static_cast<uint8_t>(data[1])} << 16) |
                            (size_t{static_cast<uint8_t>(data[2])} << 8) | static_cast<uint8_t>(data[3]);
      if (4 + offset <= data.size()) out.exif = data.substr(4 + offset);
    } else if (type == "mime" &&
               std::string(heif_image_handle_get_metadata_content_type(handle, ids[i])) == "application/rdf+xml") {
      out.xmp = data;
    }
  }
  if (failed(heif_decode_image(handle, &image, heif_colorspace_RGB,
                               out.has_alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nullptr))) {
    return done();
  }
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
  const cv::Mat rgb(heif_image_get_height(image, heif_channel_interleaved),
                    heif_image_get_width(image, heif_channel_interleaved), out.has_alpha ? CV_8UC4 : CV_8UC3,
                    const_cast<uint8_t*>(plane), static_cast<size_t>(stride));
  cv::cvtColor(rgb, out.pixels, out.has_alpha ? cv::COLOR_RGBA2BGRA : cv::COLOR_RGB2BGR);
  out.ok = true;
  return done();
}

}  // namespace imgproc::testing
