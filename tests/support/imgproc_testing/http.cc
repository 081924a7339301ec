#include "imgproc_testing/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

namespace imgproc::testing {

int ConnectLoopback(int port, int receive_timeout_s) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{receive_timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string HttpExchange(int port, const std::string& request) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[65536];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  return response;
}

std::string HttpGet(int port, const std::string& path, std::string* error) {
  absl::StatusOr<std::string> body = ::imgproc::HttpGet("127.0.0.1:" + std::to_string(port), path, absl::Seconds(10));
  if (!body.ok()) {
    if (error) *error = std::string(body.status().message());
    return "";
  }
  return *std::move(body);
}

std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> values;
  for (const auto& [key, series] : ParseExposition(text)) values[key] = series.value;
  return values;
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

double MetricSum(int metrics_port, const std::string& name) {
  double sum = 0;
  for (const auto& [series, value] : ParseMetrics(HttpGet(metrics_port, "/metrics"))) {
    if (series == name || series.rfind(name + "{", 0) == 0) sum += value;
  }
  return sum;
}

bool WaitForServerState(int metrics_port, double in_flight, double queued) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    if (MetricSum(metrics_port, "imgproc_in_flight_requests") == in_flight &&
        MetricSum(metrics_port, "imgproc_queue_depth") == queued) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string error;
  const std::string text = HttpGet(metrics_port, "/metrics", &error);
  std::printf("server state: %g in flight, %g queued (wanted %g, %g); scrape error '%s', %zu bytes\n",
              MetricSum(metrics_port, "imgproc_in_flight_requests"), MetricSum(metrics_port, "imgproc_queue_depth"),
              in_flight, queued, error.c_str(), text.size());
  return false;
}

}  // namespace imgproc::testing
