#include "harness.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace imgproc::bench {

std::vector<std::string> LoadImages(const std::string& input, const char* program) {
  std::vector<std::string> images;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(input, ',', absl::SkipEmpty()))) {
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
    std::cerr << program << ": --input names no images\n";
    std::exit(2);
  }
  return images;
}

void RunClosedLoop(const std::vector<std::string>& images, int threads, absl::Duration duration,
                   const std::function<bool(const std::string& image)>& process) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop = start + absl::ToChronoNanoseconds(duration);
  std::mutex mu;
  std::vector<int64_t> latencies;
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<int64_t> mine;
      for (size_t i = t; Clock::now() < stop; i += threads) {
        const Clock::time_point s = Clock::now();
        if (!process(images[i % images.size()])) ++errors;
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
    return latencies.empty() ? 0.0
                             : latencies[std::min(latencies.size() - 1, size_t(p / 100 * latencies.size()))] / 1000.0;
  };
  const int64_t ok = static_cast<int64_t>(latencies.size()) - errors.load();
  std::cout << absl::StrFormat(R"({"count":%d,"errors":%d,"wrong":0,"duration_s":%.3f,"rps":%.3f,"threads":%d,)"
                               R"("latency_ms":{"p50":%.3f,"p99":%.3f,"max":%.3f}})",
                               ok, errors.load(), wall, ok / wall, threads, pct(50), pct(99), pct(100))
            << std::endl;
}

}  // namespace imgproc::bench
