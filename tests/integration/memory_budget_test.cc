// The admission budgets derived from the memory limit, on the real server: a pod limit the test writes (a cgroup v2
// tree under --memory_limit_root), the start line and the /metrics gauges that say it, and a flood of large
// requests refused RESOURCE_EXHAUSTED beyond the derived budget; flags still win.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <opencv2/core.hpp>
#include <thread>
#include <vector>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kPodLimit = int64_t{512} << 20;
// 10% and 40% of it (README, "Memory budgets").
constexpr int64_t kQueuedInput = 53687091;
constexpr int64_t kPixels = 214748364;

// A container's view of cgroup v2 whose pod, one level up, is limited to `limit` bytes.
class PodLimitRoot {
 public:
  explicit PodLimitRoot(int64_t limit)
      : root_(fs::temp_directory_path() / ("imgproc-pod-limit-" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    Write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
    Write("proc/self/mountinfo", "25 28 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    Write("sys/fs/cgroup/kubepods/pod1/memory.max", std::to_string(limit) + "\n");
    Write("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n");
  }
  ~PodLimitRoot() { fs::remove_all(root_); }
  std::string flag() const { return "--memory_limit_root=" + root_.string(); }

 private:
  void Write(const std::string& path, const std::string& contents) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << contents;
  }
  fs::path root_;
};

// A figure of /proc/<pid>/status in MB, e.g. VmRSS or VmHWM (the peak).
double StatusMegabytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return -1;
}

// The start line that states the memory limit, from its message on (the log line's timestamp and level before it).
std::string MemoryLine(const ServerProcess& server) {
  for (const std::string& line : server.start_lines()) {
    if (const size_t at = line.find("imgproc memory limit "); at != std::string::npos) return line.substr(at);
  }
  return "";
}

TEST(MemoryBudgetTest, BudgetsComeFromThePodLimitAndSayWhere) {
  const PodLimitRoot pod(kPodLimit);
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", pod.flag()});
  ASSERT_TRUE(server.started());
  EXPECT_EQ(MemoryLine(server),
            "imgproc memory limit 512 MiB (cgroup v2 /sys/fs/cgroup/kubepods/pod1/memory.max); budgets: queued input "
            "51.2 MiB (10% of it), decoded pixels per device 204.8 MiB (40% of it), gRPC receive quota 65 MiB (one "
            "largest request, above 10% of it)\n");
  const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server.metrics_port(), "/metrics"));
  const auto gauge = [&](const std::string& name, std::map<std::string, std::string> labels) {
    const auto it = metrics.find(SeriesKey(name, std::move(labels)));
    return it == metrics.end() ? -1 : it->second;
  };
  EXPECT_EQ(gauge("imgproc_memory_limit_bytes", {{"source", "cgroup_v2"}}), kPodLimit);
  EXPECT_EQ(gauge("imgproc_memory_budget_bytes", {{"budget", "queued_input"}, {"source", "derived"}}), kQueuedInput);
  EXPECT_EQ(gauge("imgproc_memory_budget_bytes", {{"budget", "pixels_per_device"}, {"source", "derived"}}), kPixels);
  EXPECT_EQ(gauge("imgproc_memory_budget_bytes", {{"budget", "grpc_quota"}, {"source", "derived"}}), 65 << 20);
}

TEST(MemoryBudgetTest, AFlagStillWins) {
  const PodLimitRoot pod(kPodLimit);
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", pod.flag(), "--max_pixel_bytes=1000000"});
  ASSERT_TRUE(server.started());
  EXPECT_NE(MemoryLine(server).find("decoded pixels per device 976.6 KiB (--max_pixel_bytes)"), std::string::npos)
      << MemoryLine(server);
  const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server.metrics_port(), "/metrics"));
  EXPECT_EQ(metrics.at(SeriesKey("imgproc_memory_budget_bytes", {{"budget", "pixels_per_device"}, {"source", "flag"}})),
            1000000);
}

TEST(MemoryBudgetTest, AFloodOfLargeRequestsIsRefusedBeyondTheDerivedBudget) {
  // 16 requests of a 17 MB PNG (noise does not compress), each a second or more of bilateral filter on one worker:
  // with the old fixed 4 GiB all were admitted; a 512 MiB pod admits at most three at a time (51.2 MiB of input),
  // and gRPC's 65 MiB receive quota refuses some before they reach admission.
  const PodLimitRoot pod(kPodLimit);
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", pod.flag()});
  ASSERT_TRUE(server.started());
  cv::Mat noise(2400, 2400, CV_8UC3);
  cv::randu(noise, 0, 256);
  pb::ProcessRequest request;
  request.set_image(EncodeAs(noise, ".png"));
  ASSERT_GT(request.image().size(), kQueuedInput / 4);
  auto* bilateral = request.add_operations()->mutable_bilateral_filter();
  bilateral->set_diameter(9);
  bilateral->set_sigma_color(30);
  bilateral->set_sigma_space(30);
  request.mutable_output()->mutable_raw();
  const double rss_before = StatusMegabytes(server.pid(), "VmRSS");
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 16; ++i) {
    calls.push_back(std::async(std::launch::async, [&] { return CallProcess(*server.NewStub(), request); }));
  }
  int ok = 0, refused_by_budget = 0, refused_by_quota = 0;
  for (auto& call : calls) {
    const grpc::Status status = call.get();
    if (status.ok()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(status.error_code(), grpc::RESOURCE_EXHAUSTED) << status.error_message();
    if (status.error_message().find("over its limit of " + std::to_string(kQueuedInput)) != std::string::npos) {
      ++refused_by_budget;
    } else {
      // gRPC's receive quota (65 MiB here), under pressure, refuses a new stream before any handler sees it:
      // RST_STREAM with ENHANCE_YOUR_CALM (11), which gRPC reports as RESOURCE_EXHAUSTED.
      EXPECT_NE(status.error_message().find("RST_STREAM with error code 11"), std::string::npos)
          << status.error_message();
      ++refused_by_quota;
    }
  }
  std::printf("%d answered, %d refused for the derived input budget of %lld bytes, %d by gRPC's quota\n", ok,
              refused_by_budget, static_cast<long long>(kQueuedInput), refused_by_quota);
  std::printf("server RSS %.0f MB before, peak %.0f MB\n", rss_before, StatusMegabytes(server.pid(), "VmHWM"));
  // How many are answered depends on which bound refuses first, admission's or gRPC's quota (both derived): on a
  // loaded host the whole burst can reach gRPC's quota before the first request is read, and all are refused there.
  EXPECT_GE(refused_by_budget + refused_by_quota, 1);
  // Whatever the flood met, the server serves the same request once it is alone. gRPC's quota can reset the streams
  // of requests already admitted (its reclaimer cancels calls under pressure), and their work holds its input until
  // it ends: wait for that before sending.
  // The metrics can read idle a moment before a reset call's work has let go of its input (a loaded host showed
  // three inputs still held): while the budget alone refuses it, the request is tried again, for 10 s at most.
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 0, 0));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  grpc::Status alone = CallProcess(*server.NewStub(), request);
  while (!alone.ok() && alone.error_message().find("of queued input") != std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    alone = CallProcess(*server.NewStub(), request);
  }
  EXPECT_TRUE(alone.ok()) << alone.error_code() << " " << alone.error_message();
}

}  // namespace
}  // namespace imgproc::testing
