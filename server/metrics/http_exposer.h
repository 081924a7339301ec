#pragma once
// Serves a prometheus-cpp registry as GET /metrics over plain HTTP, in one thread of its own.
//
// prometheus-cpp's own Exposer runs on civetweb, whose Debian/Ubuntu build starts its threads with a fixed
// 100 KB stack. With OpenCV's CUDA modules, the CUDA runtime and NPP loaded, their thread-local storage no
// longer fits in that and civetweb cannot start (seen on an H100 host: "Cannot create first worker thread").
// A scrape endpoint needs little: this one uses default thread stacks and prometheus-cpp's text serializer.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace imgproc {

class MetricsHttpServer {
 public:
  // Listens on "host:port" (port 0: the kernel picks; see port()).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                   std::shared_ptr<prometheus::Registry> registry);
  ~MetricsHttpServer();  // stops and joins

  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port, std::shared_ptr<prometheus::Registry> registry);
  void Serve();
  void Answer(int client) const;

  const int fd_;
  const int port_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace imgproc
