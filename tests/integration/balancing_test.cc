// Client-side load balancing over replicas, as clients of a headless Service do it: two servers on 127.0.0.1
// and 127.0.0.2, one channel with gRPC's round_robin policy over both addresses.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "imgproc/client.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

double Answered(const ServerProcess& server) { return MetricSum(server.metrics_port(), "imgproc_requests_total"); }

// Waits up to a minute for `count` to reach `at_least`.
bool WaitFor(const std::atomic<int>& count, int at_least) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (count < at_least && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return count >= at_least;
}

TEST(BalancingTest, RoundRobinSpreadsCallsOverBothReplicasWherePickFirstUsesOne) {
  ServerProcess a({"--backend=cpu", "--cpu_workers=1"});
  ServerProcess b({"--backend=cpu", "--cpu_workers=1", "--listen=127.0.0.2:0"});
  ASSERT_TRUE(a.started() && b.started());
  ASSERT_EQ(b.address().rfind("127.0.0.2:", 0), 0u) << b.address();
  const std::string target = "ipv4:" + a.address() + "," + b.address();
  const pb::ProcessRequest request = SmallFlipRequest();

  ClientOptions options;
  options.round_robin = true;
  const ImgprocClient balanced(target, options);
  // round_robin sends to the replicas whose connection is up: on a loaded host the second one comes up a few calls
  // after the first, so the calls counted start once each replica has answered one (at most 200 calls).
  int warm_up = 0;
  for (; warm_up < 200 && (Answered(a) == 0 || Answered(b) == 0); ++warm_up) {
    ASSERT_TRUE(balanced.Process(request).ok()) << warm_up;
  }
  ASSERT_TRUE(Answered(a) > 0 && Answered(b) > 0) << "round_robin used one replica for " << warm_up << " calls";
  const double warm_a = Answered(a), warm_b = Answered(b);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(balanced.Process(request).ok()) << i;
  EXPECT_EQ(Answered(a) - warm_a + Answered(b) - warm_b, 20);
  EXPECT_GE(Answered(a) - warm_a, 5);  // round_robin alternates once both are connected
  EXPECT_GE(Answered(b) - warm_b, 5);

  const double before_a = Answered(a), before_b = Answered(b);
  const ImgprocClient first(target, ClientOptions{});  // gRPC's default, pick_first: one connection, one replica
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(first.Process(request).ok()) << i;
  EXPECT_TRUE((Answered(a) - before_a == 10) != (Answered(b) - before_b == 10))
      << "pick_first spread the calls: " << Answered(a) - before_a << " and " << Answered(b) - before_b;
}

TEST(BalancingTest, StoppingOneReplicaWithSigtermLosesNoRequest) {
  // Without a drain, about half the runs lost a call (CANCELLED): gRPC cancels calls that reach a server after its
  // shutdown began and before a handler took them.
  ServerProcess a({"--backend=cpu", "--cpu_workers=1"});
  ServerProcess b({"--backend=cpu", "--cpu_workers=1", "--listen=127.0.0.2:0", "--drain_delay=1s"});
  ASSERT_TRUE(a.started() && b.started());
  ClientOptions options;
  options.round_robin = true;
  const ImgprocClient client("ipv4:" + a.address() + "," + b.address(), options);
  const pb::ProcessRequest request = SmallFlipRequest();

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&] {
      while (!stop) {
        const absl::Status status = client.Process(request).status();
        (status.ok() ? ok : failed)++;
        if (!status.ok()) ADD_FAILURE() << status;
      }
    });
  }
  // Both replicas serve before one stops; then the other keeps serving alone.
  EXPECT_TRUE(WaitFor(ok, 40));
  const double b_before_stop = Answered(b);
  EXPECT_GT(b_before_stop, 0);
  EXPECT_EQ(b.Stop(SIGTERM), 0);  // finishes what it holds, refuses nothing it accepted
  const int ok_at_stop = ok;
  EXPECT_TRUE(WaitFor(ok, ok_at_stop + 40));
  stop = true;
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(Answered(a), 0);
}

}  // namespace
}  // namespace imgproc::testing
