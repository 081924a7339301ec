#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "imgproc/v1/imgproc.grpc.pb.h"

namespace imgproc::testing {

// The real server binary on a loopback port chosen by the kernel, stopped (SIGTERM) when destroyed.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra_flags = {});
  ~ServerProcess();

  bool started() const { return port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  std::unique_ptr<imgproc::v1::ImageProcessor::Stub> NewStub() const;
  std::shared_ptr<grpc::Channel> NewChannel() const;
  // Sends `signal` and waits up to `timeout_s` for the exit; returns the exit code, or -1 (killed/timeout).
  int Stop(int signal, int timeout_s = 30);
  const std::string& first_line() const { return first_line_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string first_line_;
};

}  // namespace imgproc::testing
