// The in-process baseline: what a user would write instead of calling imgproc. One thread per core, each
// looping decode -> operations -> encode with plain OpenCV calls, no RPC. Same workloads as bench/run.sh.
//
//   imgproc-baseline --workload=W1 --input=DIR_OR_FILES --duration=10s [--threads=N] [--concurrency-one]
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, workload, "W1", "W1 thumbnail, W2 4K bilateral, W3 ML preprocessing, W4 small images");
ABSL_FLAG(std::string, input, "", "image files or directories, comma-separated");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to run");
ABSL_FLAG(int, threads, 0, "worker threads; 0: one per core");

namespace {

using Clock = std::chrono::steady_clock;

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
  std::vector<std::string> images;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty()))) {
    std::vector<std::string> files;
    if (std::filesystem::is_directory(item)) {
      for (const auto& e : std::filesystem::directory_iterator(item)) files.push_back(e.path().string());
    } else {
      files.push_back(item);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      images.push_back(s.str());
    }
  }
  if (images.empty()) {
    std::cerr << "imgproc-baseline: --input names no images\n";
    return 2;
  }
  const std::string workload = absl::GetFlag(FLAGS_workload);
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cv::setNumThreads(1);  // the threads are the parallelism, as with the server's CPU workers
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop = start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  std::mutex mu;
  std::vector<int64_t> latencies;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<int64_t> mine;
      for (size_t i = t; Clock::now() < stop; i += threads) {
        const Clock::time_point s = Clock::now();
        const std::string out = Process(workload, images[i % images.size()]);
        if (out.empty()) std::abort();
        mine.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s).count());
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : pool) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, size_t(p / 100 * latencies.size()))] / 1000.0;
  };
  std::cout << absl::StrFormat(R"({"count":%d,"errors":0,"wrong":0,"duration_s":%.3f,"rps":%.3f,"threads":%d,)"
                               R"("latency_ms":{"p50":%.3f,"p99":%.3f,"max":%.3f}})",
                               latencies.size(), wall, latencies.size() / wall, threads, pct(50), pct(99), pct(100))
            << std::endl;
  return 0;
}
