// The /metrics endpoint against hostile clients: idle and trickling connections must not hold a scrape, and
// oversized or unexpected requests get an HTTP error while scrapes go on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"

namespace imgproc::testing {
namespace {

// "HTTP/1.1 404 Not Found..." -> 404; 0 when there is no status line.
int StatusCode(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

TEST(MetricsEndpointTest, TwoHundredIdleConnectionsDoNotDelayAScrape) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  // Each opens and sends the start of a request, then nothing: the server before libmicrohttpd answered one
  // connection at a time and waited 5 s on each, so a scrape behind these waited for minutes.
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = ConnectLoopback(server.metrics_port());
    ASSERT_GE(fd, 0) << "connection " << i << " refused";
    ASSERT_EQ(send(fd, "GET /metr", 9, MSG_NOSIGNAL), 9);
    idle.push_back(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  const std::string body = HttpGet(server.metrics_port(), "/metrics", &error);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(body.find("imgproc_in_flight_requests"), std::string::npos) << error;
  // The bound; a healthy scrape takes milliseconds here, one behind the idle connections minutes.
  EXPECT_LT(took, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  for (int fd : idle) close(fd);
}

TEST(MetricsEndpointTest, OversizedHeadersAndOtherPathsGetHttpErrorsAndScrapesGoOn) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  const int port = server.metrics_port();
  const std::string huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(64 << 10, 'a') + "\r\n\r\n";
  const std::string refused = HttpExchange(port, huge);
  EXPECT_EQ(StatusCode(refused), 431) << refused.substr(0, 100);

  const std::string missing = HttpExchange(port, "GET /other HTTP/1.0\r\n\r\n");
  EXPECT_EQ(StatusCode(missing), 404) << missing.substr(0, 100);
  const std::string post = HttpExchange(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(StatusCode(post), 405) << post.substr(0, 100);

  std::string error;
  EXPECT_NE(HttpGet(port, "/metrics", &error).find("imgproc_in_flight_requests"), std::string::npos) << error;
}

}  // namespace
}  // namespace imgproc::testing
