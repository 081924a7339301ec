// The in-process baseline: what a user would write instead of calling imgproc. One thread per core, each
// looping decode -> operations -> encode with plain OpenCV calls, no RPC. Same workloads as bench/run.sh.
//
//   imgproc-baseline --workload=W1 --input=DIR_OR_FILES --duration=10s [--threads=N]
#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "harness.h"

ABSL_FLAG(std::string, workload, "W1", "W1 thumbnail, W2 4K bilateral, W3 ML preprocessing, W4 small images");
ABSL_FLAG(std::string, input, "", "image files or directories, comma-separated");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to run");
ABSL_FLAG(int, threads, 0, "worker threads; 0: one per core");

namespace {

std::string Process(const std::string& workload, const std::string& bytes) {
  const cv::Mat src = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                                   cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  std::vector<uchar> out;
  cv::Mat a, b;
  if (workload == "W1") {
    cv::resize(src, a, cv::Size(), 0.5, 0.5, cv::INTER_LINEAR);
    cv::GaussianBlur(a, b, {5, 5}, 1.5);
    cv::imencode(".jpg", b, out, {cv::IMWRITE_JPEG_QUALITY, 90});
  } else if (workload == "W2") {
    cv::bilateralFilter(src, a, 9, 75, 75);
    cv::imencode(".jpg", a, out, {cv::IMWRITE_JPEG_QUALITY, 90});
  } else if (workload == "W3") {
    cv::resize(src, a, {224, 224}, 0, 0, cv::INTER_AREA);
    cv::cvtColor(a, b, cv::COLOR_BGR2RGB);
    b.convertTo(a, CV_32F, 1 / 255.0);
    cv::subtract(a, cv::Scalar(0.485, 0.456, 0.406), a);
    cv::divide(a, cv::Scalar(0.229, 0.224, 0.225), a);
    std::vector<cv::Mat> planes;
    cv::split(a, planes);
    std::string chw;
    for (const cv::Mat& p : planes) chw.append(reinterpret_cast<const char*>(p.data), p.total() * p.elemSize());
    return chw;
  } else {
    cv::flip(src, a, 1);
    cv::imencode(".jpg", a, out, {cv::IMWRITE_JPEG_QUALITY, 85});
  }
  return std::string(out.begin(), out.end());
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::vector<std::string> images = imgproc::bench::LoadImages(absl::GetFlag(FLAGS_input), "imgproc-baseline");
  const std::string workload = absl::GetFlag(FLAGS_workload);
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cv::setNumThreads(1);  // the threads are the parallelism, as with the server's CPU workers
  imgproc::bench::RunClosedLoop(images, threads, absl::GetFlag(FLAGS_duration),
                                [&](const std::string& image) { return !Process(workload, image).empty(); });
  return 0;
}
