// imgproc-heic-encode-cost: one core's microseconds per pixel of the server's HEIC encoder (codec/heic_encode.h) at
// each x265 preset, on a photo at thumbnail and at screen size: the figures behind HeicEncodeWork's table, and so
// behind the work budget's bound on a HEIC answer (an HEVC encode cannot be stopped once it runs).
//   imgproc-heic-encode-cost [--photo PATH] [--widths 320,1680] [--speeds 0,...,9] [--repeat N]
// Prints per speed and width: the process's CPU and the wall time per pixel (medians of --repeat
// runs), the bytes and the PSNR of libheif's decode against the source.

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "codec/heic_encode.h"
#include "libheif_decode.h"

ABSL_FLAG(std::string, photo, "/usr/share/backgrounds/mate/nature/Garden.jpg", "the source photo");
ABSL_FLAG(std::string, widths, "320,1680", "widths the photo is resized to (INTER_AREA, aspect kept)");
ABSL_FLAG(std::string, speeds, "0,1,2,3,4,5,6,7,8,9", "speeds (x265 presets placebo..ultrafast)");
ABSL_FLAG(int, repeat, 3, "encodes per case; the median is printed");

namespace {

// The process's CPU time, not the calling thread's: x265 encodes on its own frame thread while the caller waits.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double WallSeconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

std::vector<int> Ints(const std::string& list) {
  std::vector<int> out;
  for (absl::string_view word : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(word, &v)) out.push_back(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const cv::Mat source = cv::imread(absl::GetFlag(FLAGS_photo), cv::IMREAD_COLOR);
  if (source.empty()) {
    std::fprintf(stderr, "cannot read %s\n", absl::GetFlag(FLAGS_photo).c_str());
    return 1;
  }
  std::printf("%-6s %-10s %6s %10s %12s %10s %8s\n", "speed", "preset", "width", "cpu us/px", "wall us/px", "bytes",
              "PSNR dB");
  for (int speed : Ints(absl::GetFlag(FLAGS_speeds))) {
    for (int width : Ints(absl::GetFlag(FLAGS_widths))) {
      cv::Mat photo;
      cv::resize(source, photo, cv::Size(width, width * source.rows / source.cols), 0, 0, cv::INTER_AREA);
      imgproc::HeicEncodeOptions options;
      options.speed = speed;
      std::vector<double> micros, wall_micros;
      std::string bytes;
      for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_repeat)); ++i) {
        const double start = ProcessCpuSeconds();
        const double wall_start = WallSeconds();
        absl::StatusOr<std::string> heic = imgproc::EncodeHeic(photo, options);
        micros.push_back((ProcessCpuSeconds() - start) * 1e6 / photo.total());
        wall_micros.push_back((WallSeconds() - wall_start) * 1e6 / photo.total());
        if (!heic.ok()) {
          std::fprintf(stderr, "speed %d: %s\n", speed, std::string(heic.status().message()).c_str());
          return 1;
        }
        bytes = *std::move(heic);
      }
      std::sort(micros.begin(), micros.end());
      std::sort(wall_micros.begin(), wall_micros.end());

      const cv::Mat decoded = imgproc::bench::DecodeWithLibheif(bytes);
      const double psnr = decoded.size() == photo.size() ? cv::PSNR(decoded, photo) : 0;
      std::printf("%-6d %-10s %6d %10.3f %12.3f %10zu %8.2f\n", speed, imgproc::HeicPresetName(speed), width,
                  micros[micros.size() / 2], wall_micros[wall_micros.size() / 2], bytes.size(), psnr);
    }
  }
  return 0;
}
