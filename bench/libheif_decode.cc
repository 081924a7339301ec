#include "libheif_decode.h"

#include <libheif/heif.h>

#include <opencv2/imgproc.hpp>

namespace imgproc::bench {

cv::Mat DecodeWithLibheif(const std::string& bytes) {
  heif_context* context = heif_context_alloc();
  heif_image_handle* handle = nullptr;
  heif_image* image = nullptr;
  cv::Mat bgr;
  if (heif_context_read_from_memory_without_copy(context, bytes.data(), bytes.size(), nullptr).code == heif_error_Ok &&
      heif_context_get_primary_image_handle(context, &handle).code == heif_error_Ok &&
      heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, nullptr).code ==
          heif_error_Ok) {
    int stride = 0;
    const uint8_t* plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    const cv::Mat rgb(heif_image_get_height(image, heif_channel_interleaved),
                      heif_image_get_width(image, heif_channel_interleaved), CV_8UC3, const_cast<uint8_t*>(plane),
                      static_cast<size_t>(stride));
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  }
  if (image != nullptr) heif_image_release(image);
  if (handle != nullptr) heif_image_handle_release(handle);
  heif_context_free(context);
  return bgr;
}

}  // namespace imgproc::bench
