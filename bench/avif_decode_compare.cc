// AVIF decode, libheif 1.15 against libavif 0.11 (the choice issue 30 asks to measure), both over dav1d on Debian
// 12, each called as the server would (8-bit BGR out), and the server's own path (codec::Decode, which took libavif
// for AVIF from these figures: codec/heif_decode.h). Each photo is encoded once with libavif (aom, 4:2:0, 8-bit,
// quantizer 10, speed 8), then decoded --repeats times by each; prints per photo the median time of each and how
// far their pixels are apart (max and mean absolute difference, BGR), then the totals.
//   imgproc-avif-decode-compare [--input=/usr/share/backgrounds/mate/nature] [--repeats=5]
#include <avif/avif.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "codec/codec.h"
#include "codec/image_header.h"
#include "libheif_decode.h"

ABSL_FLAG(std::string, input, "/usr/share/backgrounds/mate/nature", "a directory of JPEG photos");
ABSL_FLAG(int, repeats, 5, "decodes of each file by each library (the median is reported)");

namespace {

using Clock = std::chrono::steady_clock;

std::string EncodeAvif(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  avifImage* image = avifImageCreate(rgb.cols, rgb.rows, 8, AVIF_PIXEL_FORMAT_YUV420);
  avifRGBImage pixels;
  avifRGBImageSetDefaults(&pixels, image);
  pixels.format = AVIF_RGB_FORMAT_RGB;
  pixels.pixels = rgb.data;
  pixels.rowBytes = static_cast<uint32_t>(rgb.step);
  avifImageRGBToYUV(image, &pixels);
  avifEncoder* encoder = avifEncoderCreate();
  encoder->speed = 8;
  encoder->minQuantizer = encoder->maxQuantizer = 10;
  avifRWData out = AVIF_DATA_EMPTY;
  std::string bytes;
  if (avifEncoderWrite(encoder, image, &out) == AVIF_RESULT_OK)
    bytes.assign(reinterpret_cast<char*>(out.data), out.size);
  avifRWDataFree(&out);
  avifEncoderDestroy(encoder);
  avifImageDestroy(image);
  return bytes;
}

cv::Mat DecodeWithLibavif(const std::string& bytes) {
  avifDecoder* decoder = avifDecoderCreate();
  avifImage* image = avifImageCreateEmpty();
  cv::Mat bgr;
  if (avifDecoderReadMemory(decoder, image, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) ==
      AVIF_RESULT_OK) {
    avifRGBImage pixels;
    avifRGBImageSetDefaults(&pixels, image);
    pixels.format = AVIF_RGB_FORMAT_BGR;
    pixels.depth = 8;
    bgr.create(static_cast<int>(image->height), static_cast<int>(image->width), CV_8UC3);
    pixels.pixels = bgr.data;
    pixels.rowBytes = static_cast<uint32_t>(bgr.step);
    if (avifImageYUVToRGB(image, &pixels) != AVIF_RESULT_OK) bgr.release();
  }
  avifImageDestroy(image);
  avifDecoderDestroy(decoder);
  return bgr;
}

cv::Mat DecodeWithServer(const std::string& bytes) {
  absl::StatusOr<imgproc::ImageHeader> header = imgproc::ReadImageHeader(bytes);
  if (!header.ok()) return {};
  const imgproc::ImageSpec spec = imgproc::DecodedSpec(*header, imgproc::DecodeMode::kColor);
  absl::StatusOr<cv::Mat> image = imgproc::Decode(bytes, *header, imgproc::DecodeMode::kColor, spec);
  return image.ok() ? *image : cv::Mat();
}

template <typename F>
double MedianMs(int repeats, F decode, cv::Mat& last) {
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const Clock::time_point start = Clock::now();
    last = decode();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(absl::GetFlag(FLAGS_input))) {
    if (e.path().extension() == ".jpg") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::printf("%-18s %10s %8s %11s %11s %10s %8s %9s\n", "photo", "size", "avif KB", "libheif ms", "libavif ms",
              "server ms", "max diff", "mean diff");
  double total_heif = 0, total_avif = 0, total_server = 0;
  int max_diff_all = 0;
  for (const std::string& file : files) {
    const cv::Mat photo = cv::imread(file, cv::IMREAD_COLOR);
    const std::string avif = EncodeAvif(photo);
    cv::Mat by_heif, by_avif, by_server;
    const double heif_ms = MedianMs(
        repeats, [&] { return imgproc::bench::DecodeWithLibheif(avif); }, by_heif);
    const double server_ms = MedianMs(
        repeats, [&] { return DecodeWithServer(avif); }, by_server);
    const double avif_ms = MedianMs(
        repeats, [&] { return DecodeWithLibavif(avif); }, by_avif);
    if (by_heif.empty() || by_avif.empty() || by_heif.size() != by_avif.size() || by_server.size() != by_avif.size()) {
      std::printf("%s: a decode failed\n", file.c_str());
      return 1;
    }
    cv::Mat diff;
    cv::absdiff(by_heif, by_avif, diff);
    double max_diff = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
    const cv::Scalar mean = cv::mean(diff);
    std::printf("%-18s %5dx%-4d %8.0f %11.1f %11.1f %10.1f %8.0f %9.3f\n",
                std::filesystem::path(file).filename().c_str(), photo.cols, photo.rows, avif.size() / 1024.0, heif_ms,
                avif_ms, server_ms, max_diff, (mean[0] + mean[1] + mean[2]) / 3);
    total_heif += heif_ms;
    total_server += server_ms;
    total_avif += avif_ms;
    max_diff_all = std::max(max_diff_all, static_cast<int>(max_diff));
  }
  std::printf(
      "total: libheif %.0f ms, libavif %.0f ms (libheif/libavif %.2f), server %.0f ms; largest libheif-libavif pixel "
      "difference %d\n",
      total_heif, total_avif, total_heif / total_avif, total_server, max_diff_all);
  return 0;
}
