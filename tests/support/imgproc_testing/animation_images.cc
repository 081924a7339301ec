#include "imgproc_testing/animation_images.h"

#include <gif_lib.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <stdexcept>

namespace imgproc::testing {

namespace {

int AppendToString(GifFileType* gif, const GifByteType* bytes, int length) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(bytes), length);
  return length;
}

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

std::string EncodeGif(int screen_width, int screen_height, const std::vector<cv::Vec3b>& palette_rgb,
                      const std::vector<GifFrame>& frames) {
  std::string out;
  int error = 0;
  GifFileType* gif = EGifOpen(&out, AppendToString, &error);
  Check(gif != nullptr, "EGifOpen");
  EGifSetGifVersion(gif, true);
  int table_size = 2;
  while (table_size < static_cast<int>(palette_rgb.size())) table_size *= 2;
  std::vector<GifColorType> colours(table_size, GifColorType{0, 0, 0});
  for (size_t i = 0; i < palette_rgb.size(); ++i) {
    colours[i] = GifColorType{palette_rgb[i][0], palette_rgb[i][1], palette_rgb[i][2]};
  }
  ColorMapObject* map = GifMakeMapObject(table_size, colours.data());
  Check(EGifPutScreenDesc(gif, screen_width, screen_height, 8, 0, map) == GIF_OK, "EGifPutScreenDesc");
  GifFreeMapObject(map);
  for (const GifFrame& frame : frames) {
    GraphicsControlBlock control{};
    control.DisposalMode = DISPOSAL_UNSPECIFIED;
    control.DelayTime = 10;
    control.TransparentColor = frame.transparent_index < 0 ? NO_TRANSPARENT_COLOR : frame.transparent_index;
    GifByteType extension[4];
    const size_t length = EGifGCBToExtension(&control, extension);
    Check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(length), extension) == GIF_OK,
          "EGifPutExtension");
    Check(EGifPutImageDesc(gif, frame.left, frame.top, frame.indices.cols, frame.indices.rows, frame.interlaced,
                           nullptr) == GIF_OK,
          "EGifPutImageDesc");
    // An interlaced image is written in the order of its four passes.
    std::vector<int> rows;
    if (frame.interlaced) {
      for (int start : {0, 4, 2, 1}) {
        for (int r = start; r < frame.indices.rows; r += start == 0 || start == 4 ? 8 : start == 2 ? 4 : 2) {
          rows.push_back(r);
        }
      }
    } else {
      for (int r = 0; r < frame.indices.rows; ++r) rows.push_back(r);
    }
    for (int r : rows) {
      Check(
          EGifPutLine(gif, const_cast<GifPixelType*>(frame.indices.ptr<GifPixelType>(r)), frame.indices.cols) == GIF_OK,
          "EGifPutLine");
    }
  }
  Check(EGifCloseFile(gif, &error) == GIF_OK, "EGifCloseFile");
  return out;
}

cv::Mat GifFirstFrameReference(int screen_width, int screen_height, const std::vector<cv::Vec3b>& palette_rgb,
                               const GifFrame& first) {
  cv::Mat canvas(screen_height, screen_width, CV_8UC4, cv::Scalar::all(0));
  for (int y = 0; y < first.indices.rows; ++y) {
    for (int x = 0; x < first.indices.cols; ++x) {
      const int index = first.indices.at<uchar>(y, x);
      const cv::Vec3b rgb = palette_rgb.at(index);
      canvas.at<cv::Vec4b>(first.top + y, first.left + x) =
          cv::Vec4b(rgb[2], rgb[1], rgb[0], index == first.transparent_index ? 0 : 255);
    }
  }
  return canvas;
}

std::string EncodeAnimatedWebp(const std::vector<cv::Mat>& bgra_frames) {
  const int width = bgra_frames.at(0).cols, height = bgra_frames.at(0).rows;
  WebPAnimEncoderOptions options;
  Check(WebPAnimEncoderOptionsInit(&options), "WebPAnimEncoderOptionsInit");
  options.allow_mixed = 0;
  WebPAnimEncoder* encoder = WebPAnimEncoderNew(width, height, &options);
  Check(encoder != nullptr, "WebPAnimEncoderNew");
  WebPConfig config;
  Check(WebPConfigInit(&config), "WebPConfigInit");
  config.lossless = 1;
  config.exact = 1;  // keep the colour under transparent pixels, so the comparison can be exact
  int timestamp_ms = 0;
  for (const cv::Mat& frame : bgra_frames) {
    WebPPicture picture;
    Check(WebPPictureInit(&picture), "WebPPictureInit");
    picture.width = width;
    picture.height = height;
    picture.use_argb = 1;
    Check(WebPPictureImportBGRA(&picture, frame.ptr<uint8_t>(), static_cast<int>(frame.step)), "WebPPictureImportBGRA");
    const bool added = WebPAnimEncoderAdd(encoder, &picture, timestamp_ms, &config);
    WebPPictureFree(&picture);
    Check(added, "WebPAnimEncoderAdd");
    timestamp_ms += 100;
  }
  Check(WebPAnimEncoderAdd(encoder, nullptr, timestamp_ms, nullptr), "WebPAnimEncoderAdd (end)");
  WebPData data;
  WebPDataInit(&data);
  Check(WebPAnimEncoderAssemble(encoder, &data), "WebPAnimEncoderAssemble");
  std::string out(reinterpret_cast<const char*>(data.bytes), data.size);
  WebPDataClear(&data);
  WebPAnimEncoderDelete(encoder);
  return out;
}

}  // namespace imgproc::testing
