#pragma once
// Serves a prometheus-cpp registry as GET /metrics over plain HTTP, on GNU libmicrohttpd.
//
// Why libmicrohttpd: a scrape endpoint faces any client that can reach its port, so it must answer while other
// connections sit idle or trickle their headers. libmicrohttpd multiplexes every connection on epoll in a small
// pool of threads, bounds each connection's memory (request line and headers) and closes idle ones. The
// hand-written server it replaces answered one connection at a time, so 66 idle connections held a scrape for
// minutes. prometheus-cpp's own Exposer runs on civetweb, whose Debian/Ubuntu build starts its threads with a
// fixed 100 KB stack: with OpenCV's CUDA modules, the CUDA runtime and NPP loaded, their thread-local storage no
// longer fits and civetweb cannot start ("Cannot create first worker thread", seen on an H100 host).
// libmicrohttpd's threads get the system's default stack size.

#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace imgproc {

// What one scrape endpoint accepts; the defaults are what the server uses.
struct MetricsHttpLimits {
  int threads = 2;                      // scrapes answered at once; idle connections take none
  int max_connections = 1000;           // beyond it, new connections are closed at once
  int idle_timeout_seconds = 10;        // a connection that sends nothing for this long is closed
  size_t max_request_bytes = 32 << 10;  // request line and headers; beyond it the answer is 431
};

class MetricsHttpServer {
 public:
  // Listens on "host:port" (port 0: the kernel picks; see port()).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  std::shared_ptr<prometheus::Registry> registry,
                                                                  MetricsHttpLimits limits = {});
  ~MetricsHttpServer();  // stops listening, closes every connection and joins the threads
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int port, std::shared_ptr<prometheus::Registry> registry)
      : port_(port), registry_(std::move(registry)) {}

  const int port_;
  std::shared_ptr<prometheus::Registry> registry_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace imgproc
