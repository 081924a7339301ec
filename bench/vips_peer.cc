// libvips as a peer: the engine of imgproxy and of most libvips/sharp thumbnailers, in-process like the OpenCV
// baseline, on W1 (thumbnail) and W4 (small images). With --shrink_on_load the JPEG loader decodes at 1/2 (W1's
// half size), as imgproxy does; without it, at full size like the OpenCV baseline.
//
//   imgproc-vips-peer --workload=W1 --input=DIR_OR_FILES --duration=10s [--threads=N] [--shrink_on_load]
//
// Each thread runs its own pipeline with libvips' own thread pool set to one thread, so that --threads is the
// parallelism, as with the baseline and the server's CPU workers; the operation cache is off, since bench
// inputs repeat.
#include <vips/vips.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "harness.h"

ABSL_FLAG(std::string, workload, "W1", "W1 thumbnail, W4 small images, W7 AVIF thumbnail or W8 HEIC thumbnail");
ABSL_FLAG(std::string, input, "", "image files or directories, comma-separated");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to run");
ABSL_FLAG(int, threads, 0, "worker threads; 0: one per core");
ABSL_FLAG(bool, shrink_on_load, false, "W1: let the JPEG loader decode at 1/2 (imgproxy's path)");

namespace {

// Unrefs every image it was given when it goes out of scope.
class Images {
 public:
  VipsImage** Next() { return &held_[used_++]; }
  ~Images() {
    for (int i = 0; i < used_; ++i) {
      if (held_[i] != nullptr) g_object_unref(held_[i]);
    }
  }

 private:
  VipsImage* held_[4] = {};
  int used_ = 0;
};

// W1 as bench/run.sh and the baseline define it: half size (bilinear), Gaussian sigma 1.5, JPEG q90. W4: a
// horizontal flip and JPEG q85.
// W7: a 320-wide thumbnail as AVIF, as `vips thumbnail in.jpg out.avif[Q=60,effort=1] 320` makes it (shrink-on-load
// always, as vips_thumbnail does): libheif's AV1 encoder (libaom) at quality 60; libvips 8.14 gives libheif's aom
// speed 9 - effort, so effort 1 is the service's default speed 8.
bool ThumbnailAvif(const std::string& bytes) {
  VipsImage* thumbnail = nullptr;
  if (vips_thumbnail_buffer(const_cast<char*>(bytes.data()), bytes.size(), &thumbnail, 320, "height", 100000,
                            nullptr) != 0) {
    return false;
  }
  void* out = nullptr;
  size_t size = 0;
  const int failed = vips_heifsave_buffer(thumbnail, &out, &size, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "Q",
                                          60, "effort", 1, nullptr);
  g_object_unref(thumbnail);
  g_free(out);
  return failed == 0 && size > 0;
}

bool Process(const std::string& workload, bool shrink_on_load, const std::string& bytes) {
  if (workload == "W7") return ThumbnailAvif(bytes);
  Images images;
  if (workload == "W8") {
    // HEIC to a JPEG thumbnail 400 pixels wide, as `vips thumbnail in.heic out.jpg 400` does (libheif underneath).
    VipsImage** thumbnail = images.Next();
    if (vips_thumbnail_buffer(const_cast<char*>(bytes.data()), bytes.size(), thumbnail, 400, nullptr) != 0)
      return false;
    void* out = nullptr;
    size_t size = 0;
    if (vips_jpegsave_buffer(*thumbnail, &out, &size, "Q", 90, nullptr) != 0) return false;
    g_free(out);
    return size > 0;
  }
  VipsImage** in = images.Next();
  const int shrink = workload == "W1" && shrink_on_load ? 2 : 1;
  if (shrink > 1) {
    *in = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access", VIPS_ACCESS_SEQUENTIAL, "shrink", shrink,
                                     nullptr);
  } else {
    *in = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access", VIPS_ACCESS_SEQUENTIAL, nullptr);
  }
  if (*in == nullptr) return false;
  VipsImage* last = *in;
  if (workload == "W1") {
    // The loader's ceil(side / 2) is already the size W1 asks for (round(side * 0.5)); the resize then does
    // nothing. Rounded sizes: the full-size path gets the same output size as the other systems.
    const double target_width = std::round(vips_image_get_width(*in) * shrink * 0.5);
    const double scale = target_width / vips_image_get_width(*in);
    if (scale != 1.0) {
      VipsImage** resized = images.Next();
      if (vips_resize(last, resized, scale, "kernel", VIPS_KERNEL_LINEAR, nullptr) != 0) return false;
      last = *resized;
    }
    VipsImage** blurred = images.Next();
    if (vips_gaussblur(last, blurred, 1.5, nullptr) != 0) return false;
    last = *blurred;
  } else {
    VipsImage** flipped = images.Next();
    if (vips_flip(last, flipped, VIPS_DIRECTION_HORIZONTAL, nullptr) != 0) return false;
    last = *flipped;
  }
  void* out = nullptr;
  size_t size = 0;
  if (vips_jpegsave_buffer(last, &out, &size, "Q", workload == "W1" ? 90 : 85, nullptr) != 0) return false;
  g_free(out);
  return size > 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (VIPS_INIT(argv[0]) != 0) {
    std::cerr << "imgproc-vips-peer: vips_init failed: " << vips_error_buffer() << "\n";
    return 1;
  }
  const std::string workload = absl::GetFlag(FLAGS_workload);
  if (workload != "W1" && workload != "W4" && workload != "W7" && workload != "W8") {
    std::cout << R"({"skipped":"the libvips peer runs W1, W4, W7 and W8 only"})" << std::endl;
    return 0;
  }
  vips_concurrency_set(1);
  vips_cache_set_max(0);
  const std::vector<std::string> images = imgproc::bench::LoadImages(absl::GetFlag(FLAGS_input), "imgproc-vips-peer");
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool shrink_on_load = absl::GetFlag(FLAGS_shrink_on_load);
  imgproc::bench::RunClosedLoop(images, threads, absl::GetFlag(FLAGS_duration), [&](const std::string& image) {
    const bool ok = Process(workload, shrink_on_load, image);
    if (!ok) vips_error_clear();
    return ok;
  });
  vips_shutdown();
  return 0;
}
