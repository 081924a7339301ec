#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "imgproc/v1/imgproc.grpc.pb.h"

namespace imgproc::testing {

// A cheap valid request (a flip of a generated 64x48 PNG, raw answer) for tests about routing and lifecycle, where
// what the request does does not matter.
imgproc::v1::ProcessRequest SmallFlipRequest();

// One unary Process call with a deadline; `response` may be null when only the status matters.
// The server under test: this build's, or IMGPROC_TEST_SERVER's.
std::string ServerBinary();
// This build's imgproc-server-testing: the server with the test-only --test_fault_injection, which the production
// binary lacks. Only the tests that make a device fail start it.
std::string TestingServerBinary();

grpc::Status CallProcess(imgproc::v1::ImageProcessorService::Stub& stub, const imgproc::v1::ProcessRequest& request,
                         imgproc::v1::ProcessResponse* response = nullptr,
                         std::chrono::milliseconds timeout = std::chrono::minutes(1));

// One ProcessBatch call with a deadline.
grpc::Status CallBatch(imgproc::v1::ImageProcessorService::Stub& stub, const imgproc::v1::ProcessBatchRequest& request,
                       imgproc::v1::ProcessBatchResponse* response,
                       std::chrono::milliseconds timeout = std::chrono::minutes(2));

// The real server binary on a loopback port chosen by the kernel, stopped (SIGTERM) when destroyed.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra_flags = {}, std::string binary = ServerBinary());
  ~ServerProcess();

  bool started() const { return port_ > 0; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }  // for /proc/<pid>/status (memory) reads
  std::unique_ptr<imgproc::v1::ImageProcessorService::Stub> NewStub() const;
  std::shared_ptr<grpc::Channel> NewChannel() const;
  // Sends `signal` and waits up to `timeout_s` for the exit; returns the exit code, or -1 (killed/timeout).
  int Stop(int signal, int timeout_s = 30);
  // Waits up to `timeout` for the server to exit by itself; returns its exit code, -1 when a signal ended it, or
  // kStillRunning (it is left running, and the destructor stops it).
  static constexpr int kStillRunning = -2;
  int WaitForExit(std::chrono::milliseconds timeout);
  const std::string& first_line() const { return first_line_; }
  // The lines it printed at start, up to the "metrics on" one: "listening on", the memory budgets.
  const std::vector<std::string>& start_lines() const { return start_lines_; }
  // Every line it printed to stdout since it started, the start lines included (the last 10,000).
  std::vector<std::string> output_lines() const;

 private:
  pid_t pid_ = -1;
  std::string host_ = "127.0.0.1";  // as the server printed it (a test may pass another --listen)
  int port_ = 0;
  int metrics_port_ = 0;
  std::string first_line_;
  std::vector<std::string> start_lines_;
  // The lines read so far; shared with the thread that drains the server's stdout, which may outlive this object.
  struct Output;
  std::shared_ptr<Output> output_;
};

// Sends `request` to `server` from `clients` threads, `per_client` calls each on a connection of its own, and
// counts the answers by the device that ran them; failed calls count under "".
std::map<std::string, int> AnswersByDevice(const ServerProcess& server, const imgproc::v1::ProcessRequest& request,
                                           int clients, int per_client);

// A test suite whose tests share one server on the CPU backend (2 workers), started before the first test and
// stopped after the last.
class CpuServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  static ServerProcess* server_;
};

}  // namespace imgproc::testing
