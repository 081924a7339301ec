#include "codec/shrink_on_load.h"

#include <webp/decode.h>

#include "absl/strings/str_cat.h"

namespace imgproc {

bool HasScaledDecode(const ImageHeader& header) {
  return header.format == ImageFormat::kJpeg || (header.format == ImageFormat::kWebp && !header.webp_animated);
}

absl::StatusOr<cv::Mat> DecodeWebpShrunk(absl::string_view webp, const ImageHeader& header, int factor, int channels) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return absl::InternalError("libwebp: version mismatch with its headers");
  cv::Mat image(ShrunkSide(header.height, factor), ShrunkSide(header.width, factor), channels == 4 ? CV_8UC4 : CV_8UC3);
  config.options.use_scaling = 1;
  config.options.scaled_width = image.cols;
  config.options.scaled_height = image.rows;
  config.output.colorspace = channels == 4 ? MODE_BGRA : MODE_BGR;
  config.output.is_external_memory = 1;  // into the Mat: no copy, and nothing for WebPFreeDecBuffer to free
  config.output.u.RGBA.rgba = image.data;
  config.output.u.RGBA.stride = static_cast<int>(image.step);
  config.output.u.RGBA.size = image.total() * image.elemSize();
  const VP8StatusCode status = WebPDecode(reinterpret_cast<const uint8_t*>(webp.data()), webp.size(), &config);
  if (status != VP8_STATUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode webp data at 1/", factor, " of its size (libwebp status ", status, ")"));
  }
  return image;
}

}  // namespace imgproc
