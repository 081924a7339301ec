// /metrics of the real server, scraped over HTTP: exact values after a known sequence of requests, accepted
// by promtool, and collected by a real Prometheus server on loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;

pb::ProcessRequest Flip(const std::string& image) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.add_operations()->mutable_flip();
  return request;
}

std::map<std::string, double> Scrape(int port) {
  std::string error;
  const std::string body = HttpGet(port, "/metrics", &error);
  EXPECT_FALSE(body.empty()) << error;
  return ParseMetrics(body);
}

double Get(const std::map<std::string, double>& m, const std::string& name, std::map<std::string, std::string> labels) {
  const auto it = m.find(SeriesKey(name, std::move(labels)));
  return it == m.end() ? -1 : it->second;
}

TEST(MetricsTest, ExactValuesAfterAKnownSequence) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--queue_capacity=1"});
  ASSERT_TRUE(server.started());
  ASSERT_GT(server.metrics_port(), 0);
  auto stub = server.NewStub();
  const std::string small = EncodeAs(GeneratedImage(64, 48), ".png");
  double bytes_in = 0, pixels = 0;

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CallProcess(*stub, Flip(small)).ok());
  bytes_in += 3 * small.size();
  pixels += 3 * 64 * 48;
  pb::ProcessRequest garbage;
  garbage.set_image("not an image");
  pb::ProcessRequest bad_param = Flip(small);
  bad_param.add_operations()->mutable_median_blur()->set_kernel_size(2);
  pb::ProcessRequest bad_device = Flip(small);
  bad_device.set_device("cuda:9");
  for (const auto* r : {&garbage, &bad_param, &bad_device}) {
    ASSERT_EQ(CallProcess(*stub, *r).error_code(), grpc::INVALID_ARGUMENT);
    bytes_in += r->image().size();
  }
  {  // a stream: two answers and one failure, one at a time so that the one-slot queue never overflows
    grpc::ClientContext context;
    auto stream = stub->ProcessStream(&context);
    pb::ProcessStreamResponse r;
    for (const pb::ProcessRequest& item : {Flip(small), garbage, Flip(small)}) {
      ASSERT_TRUE(stream->Write(StreamItem(item)));
      ASSERT_TRUE(stream->Read(&r));
    }
    stream->WritesDone();
    ASSERT_FALSE(stream->Read(&r));
    ASSERT_TRUE(stream->Finish().ok());
    bytes_in += 2 * small.size() + garbage.image().size();
    pixels += 2 * 64 * 48;
  }
  // Overload: one slow request runs, one with a short deadline waits behind it and expires there, one more
  // finds the queue (capacity 1) full.
  pb::ProcessRequest slow;
  slow.set_image(ReadFile(PhotoPath("nature/Wood.jpg")));
  auto* bilateral = slow.add_operations()->mutable_bilateral_filter();
  bilateral->set_diameter(25);
  bilateral->set_sigma_color(50);
  bilateral->set_sigma_space(50);
  auto running = std::async(std::launch::async, [&] { return CallProcess(*stub, slow); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  auto expiring =
      std::async(std::launch::async, [&] { return CallProcess(*stub, Flip(small), nullptr, milliseconds(500)); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 2, 1));
  EXPECT_EQ(CallProcess(*stub, Flip(small)).error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(expiring.get().error_code(), grpc::DEADLINE_EXCEEDED);
  ASSERT_TRUE(running.get().ok());
  bytes_in += slow.image().size() + 2 * small.size();
  pixels += 2560.0 * 1920;

  // The skipped request is counted when the worker reaches it, just after the slow one; its answer, which the
  // client stopped waiting for, only then.
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 0, 0));
  std::map<std::string, double> m;
  for (int i = 0; i < 100; ++i) {
    m = Scrape(server.metrics_port());
    if (Get(m, "imgproc_skipped_requests_total", {{"device", "cpu"}, {"reason", "deadline"}}) == 1) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto requests = [&](const char* method, const char* code, const char* device) {
    return Get(m, "imgproc_requests_total",
               {{"backend", "cpu"}, {"code", code}, {"device", device}, {"method", method}});
  };
  EXPECT_EQ(requests("Process", "OK", "cpu"), 4);
  EXPECT_EQ(requests("Process", "INVALID_ARGUMENT", "none"), 3);
  EXPECT_EQ(requests("Process", "RESOURCE_EXHAUSTED", "none"), 1);
  EXPECT_EQ(requests("Process", "DEADLINE_EXCEEDED", "none"), 1);
  EXPECT_EQ(requests("ProcessStream", "OK", "cpu"), 2);
  EXPECT_EQ(requests("ProcessStream", "INVALID_ARGUMENT", "none"), 1);
  EXPECT_EQ(Get(m, "imgproc_skipped_requests_total", {{"device", "cpu"}, {"reason", "deadline"}}), 1);
  EXPECT_EQ(Get(m, "imgproc_request_duration_seconds_count", {{"method", "Process"}}), 9);
  EXPECT_EQ(Get(m, "imgproc_request_duration_seconds_count", {{"method", "ProcessStream"}}), 3);
  for (const char* stage : {"queue_wait", "decode", "upload", "operations", "download", "encode"}) {
    EXPECT_EQ(Get(m, "imgproc_stage_duration_seconds_count", {{"device", "cpu"}, {"stage", stage}}), 6) << stage;
  }
  EXPECT_EQ(Get(m, "imgproc_stage_duration_seconds_bucket", {{"device", "cpu"}, {"stage", "decode"}, {"le", "+Inf"}}),
            6);
  EXPECT_EQ(Get(m, "imgproc_operations_total", {{"device", "cpu"}, {"operation", "flip"}}), 5);
  EXPECT_EQ(Get(m, "imgproc_operations_total", {{"device", "cpu"}, {"operation", "bilateral_filter"}}), 1);
  EXPECT_EQ(Get(m, "imgproc_received_bytes_total", {}), bytes_in);
  EXPECT_EQ(Get(m, "imgproc_pixels_processed_total", {{"device", "cpu"}}), pixels);
  EXPECT_EQ(Get(m, "imgproc_in_flight_requests", {}), 0);
  EXPECT_EQ(Get(m, "imgproc_queue_depth", {{"device", "cpu"}}), 0);
  EXPECT_EQ(Get(m, "imgproc_workers", {{"device", "cpu"}}), 1);
  EXPECT_GT(Get(m, "imgproc_worker_busy_seconds_total", {{"device", "cpu"}}), 0.1);
  EXPECT_GT(Get(m, "imgproc_sent_bytes_total", {}), 0);
  bool build_info = false;
  for (const auto& [key, value] : m) build_info |= key.rfind("imgproc_build_info{", 0) == 0 && value == 1;
  EXPECT_TRUE(build_info);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) *output += buffer;
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool OnPath(const std::string& program) {
  std::string ignored;
  return RunCommand("command -v " + program, &ignored) == 0;
}

TEST(MetricsTest, PromtoolAcceptsTheScrape) {
  if (!OnPath("promtool")) GTEST_SKIP() << "promtool not found (Debian package prometheus; scripts/install-deps.sh)";
  ServerProcess server({"--backend=cpu"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ASSERT_TRUE(CallProcess(*stub, Flip(EncodeAs(GeneratedImage(32, 32), ".png"))).ok());
  const std::string body = HttpGet(server.metrics_port(), "/metrics");
  ASSERT_FALSE(body.empty());
  const std::string path = ::testing::TempDir() + "/imgproc_scrape.txt";
  std::ofstream(path) << body;
  std::string output;
  const int code = RunCommand("promtool check metrics < " + path, &output);
  EXPECT_EQ(code, 0) << "promtool (Debian package prometheus) said:\n" << output;
}

TEST(MetricsTest, RealPrometheusCollectsTheSeries) {
  if (!OnPath("prometheus"))
    GTEST_SKIP() << "prometheus not found (Debian package prometheus; scripts/install-deps.sh)";
  ServerProcess server({"--backend=cpu"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ASSERT_TRUE(CallProcess(*stub, Flip(EncodeAs(GeneratedImage(32, 32), ".png"))).ok());

  char dir_template[] = "/tmp/imgproc-prometheus-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const int port = FreeLoopbackPort();
  std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: imgproc\n"
                                         << "    static_configs:\n      - targets: ['127.0.0.1:"
                                         << server.metrics_port() << "']\n";
  // Everything the child needs is made before fork: with threads in this process, the child may only make
  // async-signal-safe calls.
  const std::string config = "--config.file=" + dir + "/prometheus.yml";
  const std::string storage = "--storage.tsdb.path=" + dir + "/data";
  const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
  const int log = open((dir + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t prometheus = fork();
  if (prometheus == 0) {
    if (log >= 0) dup2(log, STDERR_FILENO);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (log >= 0) close(log);
  std::string answer;
  for (int i = 0; i < 60 && answer.find("imgproc_requests_total") == std::string::npos; ++i) {
    std::this_thread::sleep_for(milliseconds(500));
    answer = HttpGet(port, "/api/v1/query?query=imgproc_requests_total");
  }
  kill(prometheus, SIGTERM);
  int status = 0;
  waitpid(prometheus, &status, 0);
  EXPECT_NE(answer.find("\"status\":\"success\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"__name__\":\"imgproc_requests_total\""), std::string::npos)
      << "Prometheus never returned the series; its log is " << dir << "/prometheus.log; last answer: " << answer;
  EXPECT_NE(answer.find("\"code\":\"OK\""), std::string::npos) << answer;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace imgproc::testing
