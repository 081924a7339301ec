// The client library's retries against real servers: what is retried, what is not, and for how large a request.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "imgproc/client.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Attempts the server refused with RESOURCE_EXHAUSTED: one per attempt, since the server counts each refusal.
double RefusedRequests(int metrics_port) {
  double refused = 0;
  for (const auto& [series, value] : ParseMetrics(HttpGet(metrics_port, "/metrics"))) {
    if (series.rfind("imgproc_requests_total{", 0) == 0 &&
        series.find("code=\"RESOURCE_EXHAUSTED\"") != std::string::npos) {
      refused += value;
    }
  }
  return refused;
}

// Holds the only worker for a second or more (a wide bilateral filter on a photo).
pb::ProcessRequest SlowRequest() {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Wood.jpg")));
  auto* bilateral = request.add_operations()->mutable_bilateral_filter();
  bilateral->set_diameter(19);
  bilateral->set_sigma_color(50);
  bilateral->set_sigma_space(50);
  request.mutable_output()->mutable_png()->set_compression_level(0);
  return request;
}

pb::ProcessRequest QuickRequest() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(64, 48), ".png"));  // far below any retry buffer
  request.mutable_output()->mutable_png();
  return request;
}

// A server with one worker and room for one waiting request, both taken by slow requests until destroyed.
class FullServer {
 public:
  explicit FullServer(std::vector<std::string> flags) {
    // No grace at the end: the queued slow request is then skipped, not run.
    flags.insert(flags.end(), {"--backend=cpu", "--cpu_workers=1", "--queue_capacity=1", "--shutdown_grace=0s"});
    server_ = std::make_unique<ServerProcess>(flags);
    if (!server_->started()) return;
    stub_ = server_->NewStub();
    running_ = std::async(std::launch::async, [this] { return CallProcess(*stub_, slow_); });
    if (!WaitForServerState(server_->metrics_port(), 1, 0)) return;
    waiting_ = std::async(std::launch::async, [this] { return CallProcess(*stub_, slow_); });
    full_ = WaitForServerState(server_->metrics_port(), 2, 1);
  }
  ~FullServer() {
    server_->Stop(SIGTERM);
    if (running_.valid()) running_.wait();
    if (waiting_.valid()) waiting_.wait();
  }
  bool full() const { return full_; }
  const ServerProcess& server() const { return *server_; }

 private:
  const pb::ProcessRequest slow_ = SlowRequest();
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<pb::ImageProcessorService::Stub> stub_;
  std::future<grpc::Status> running_, waiting_;
  bool full_ = false;
};

TEST(ClientRetryTest, QueueFullWithoutPushbackIsNotRetried) {
  FullServer full({"--retry_pushback=0"});
  ASSERT_TRUE(full.full());
  ClientOptions options;
  options.max_attempts = 5;
  ImgprocClient client(full.server().address(), options);
  const absl::Status status = client.Process(QuickRequest()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  // Retrying a full queue that gave no pushback only adds to the overload: one attempt, not five.
  EXPECT_EQ(RefusedRequests(full.server().metrics_port()), 1);
}

TEST(ClientRetryTest, QueueFullWithPushbackIsRetriedAfterThePushback) {
  FullServer full({"--retry_pushback=100ms"});
  ASSERT_TRUE(full.full());
  ClientOptions options;
  options.max_attempts = 3;
  ImgprocClient client(full.server().address(), options);
  const auto start = steady_clock::now();
  const absl::Status status = client.Process(QuickRequest()).status();
  const auto waited = steady_clock::now() - start;
  // The slow requests hold the queue for seconds, longer than two pushbacks of 100 to 200 ms.
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(RefusedRequests(full.server().metrics_port()), 3);
  EXPECT_GE(waited, milliseconds(200)) << "retried before the pushback had passed";
}

TEST(ClientRetryTest, UnavailableIsRetriedForAPhotoLargerThanGrpcsDefaultRetryBuffer) {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Dune.jpg")));
  ASSERT_GT(request.ByteSizeLong(), 256u << 10) << "the photo must exceed gRPC's default 256 KiB retry buffer";
  auto* resize = request.add_operations()->mutable_resize();
  resize->set_width(320);
  resize->set_height(200);
  request.mutable_output()->mutable_png();

  const int port = FreeLoopbackPort();
  ClientOptions once;
  once.max_attempts = 1;
  ASSERT_EQ(ImgprocClient("127.0.0.1:" + std::to_string(port), once).Process(request).status().code(),
            absl::StatusCode::kUnavailable)
      << "without retries, a call to the port before the server is up fails";

  ClientOptions options;
  options.max_attempts = 5;
  options.deadline = std::chrono::seconds(30);
  // The first attempt finds nothing listening (UNAVAILABLE); the server comes up while the client backs off.
  // The client (its connection) goes before the server stops, which would otherwise wait for it to leave.
  auto call = std::async(std::launch::async,
                         [&] { return ImgprocClient("127.0.0.1:" + std::to_string(port), options).Process(request); });
  std::this_thread::sleep_for(milliseconds(100));
  ServerProcess server({"--listen=127.0.0.1:" + std::to_string(port), "--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started()) << "port " << port << " was taken meanwhile";
  const absl::StatusOr<pb::ProcessResponse> response = call.get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->width(), 320);
  EXPECT_EQ(response->height(), 200);
}

}  // namespace
}  // namespace imgproc::testing
