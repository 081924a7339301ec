// SIGTERM with a queue longer than the workers: every request admitted before the signal is answered OK within
// --shutdown_grace, or refused at once with UNAVAILABLE saying that the grace cannot cover it (retryable
// elsewhere); none is cut off mid-way, and the process exits within the grace plus the margin README states.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using Seconds = std::chrono::duration<double>;

// README ("Shutdown"): the process exits within --shutdown_grace plus this margin.
constexpr Seconds kExitMargin{2.0};

// A chain of `filters` bilateral filters of diameter 9 on a 2560x1600 photo: each about 0.1 s of one CPU worker on
// a fast idle host, 0.2 s on the 2-core development host (0.6 s with other builds running): small enough a unit
// that the work per request follows the measured pace closely.
pb::ProcessRequest HeavyBilateral(int filters) {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Aqua.jpg")));
  for (int i = 0; i < filters; ++i) {
    auto* bilateral = request.add_operations()->mutable_bilateral_filter();
    bilateral->set_diameter(9);
    bilateral->set_sigma_color(40);
    bilateral->set_sigma_space(40);
  }
  return request;
}

struct Outcome {
  grpc::Status status;
  Seconds after_signal{0};  // when the answer came, from the SIGTERM (negative: before it)
};

struct ShutdownRun {
  std::vector<Outcome> outcomes;
  Seconds exit_after{0};
  int exit_code = -1;
};

// `requests` calls on 2 workers, each on a connection of its own, each taking `seconds_per_request` or more of a
// worker on this host; SIGTERM once all are admitted (in flight, all but two queued). The work per request is
// scaled from a measured one-filter request, so that the queue outlasts the grace on a fast host as on a slow one.
ShutdownRun SigtermWithQueuedWork(int requests, double seconds_per_request, const std::string& grace) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2", "--shutdown_grace=" + grace});
  EXPECT_TRUE(server.started());
  // A server that has served: one request per worker, so that it knows its service time when the signal comes (one
  // that has not judges from the first requests to finish after it, and refuses later).
  const pb::ProcessRequest one_filter = HeavyBilateral(1);
  const auto warm_start = std::chrono::steady_clock::now();
  {
    auto a = std::async(std::launch::async, [&] { return CallProcess(*server.NewStub(), one_filter).ok(); });
    auto b = std::async(std::launch::async, [&] { return CallProcess(*server.NewStub(), one_filter).ok(); });
    EXPECT_TRUE(a.get() && b.get());
  }
  const Seconds one_filter_time = std::chrono::steady_clock::now() - warm_start;
  const int filters = std::max(1, static_cast<int>(std::ceil(seconds_per_request / one_filter_time.count())));
  std::printf("one filter %.2f s here: %d filters a request\n", one_filter_time.count(), filters);
  const pb::ProcessRequest request = HeavyBilateral(filters);
  std::chrono::steady_clock::time_point signalled = std::chrono::steady_clock::time_point::max();
  std::vector<std::future<std::pair<grpc::Status, std::chrono::steady_clock::time_point>>> calls;
  for (int i = 0; i < requests; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      auto stub = server.NewStub();
      pb::ProcessResponse response;
      grpc::Status status = CallProcess(*stub, request, &response, std::chrono::minutes(5));
      if (status.ok() && response.width() != 2560) status = grpc::Status(grpc::INTERNAL, "wrong answer");
      return std::make_pair(status, std::chrono::steady_clock::now());
    }));
  }
  ShutdownRun run;
  if (!WaitForServerState(server.metrics_port(), requests, requests - 2)) return run;
  signalled = std::chrono::steady_clock::now();
  run.exit_code = server.Stop(SIGTERM, 120);
  run.exit_after = std::chrono::steady_clock::now() - signalled;
  for (auto& call : calls) {
    auto [status, answered] = call.get();
    run.outcomes.push_back({status, answered - signalled});
    std::printf("%-16s %6.2f s after SIGTERM: %s\n", status.ok() ? "OK" : std::to_string(status.error_code()).c_str(),
                run.outcomes.back().after_signal.count(), status.error_message().c_str());
  }
  std::printf("exit code %d, %.2f s after SIGTERM (grace %s)\n", run.exit_code, run.exit_after.count(), grace.c_str());
  return run;
}

// The refusal README documents for requests the grace cannot cover: UNAVAILABLE, sent at SIGTERM.
bool IsRefusedForTheGrace(const grpc::Status& status) {
  return status.error_code() == grpc::UNAVAILABLE &&
         status.error_message().find("would not finish within the shutdown grace") != std::string::npos;
}

TEST(ShutdownGraceTest, TwentyQueuedRequestsBeyondTheGraceAnswerOkOrAreRefusedAtOnce) {
  // The case, 20 requests on 2 workers with a 10 s grace, with 15 s of work or more on any host: before,
  // gRPC cancelled what was left at the deadline (UNAVAILABLE "Cancelling all calls" after 10 s) and the process
  // exited after it.
  const ShutdownRun run = SigtermWithQueuedWork(20, 1.5, "10s");
  ASSERT_EQ(run.outcomes.size(), 20u);
  int ok = 0, refused = 0;
  for (const Outcome& outcome : run.outcomes) {
    ok += outcome.status.ok();
    refused += IsRefusedForTheGrace(outcome.status);
    // Nothing cut at the end of the grace, nothing cancelled by gRPC: answered, or refused while still queued.
    EXPECT_TRUE(outcome.status.ok() || IsRefusedForTheGrace(outcome.status))
        << outcome.status.error_code() << " " << outcome.status.error_message() << " after "
        << outcome.after_signal.count() << " s";
    if (IsRefusedForTheGrace(outcome.status)) EXPECT_LT(outcome.after_signal.count(), 10.0);
  }
  std::printf("%d OK, %d refused at once for the grace\n", ok, refused);
  EXPECT_GE(ok, 2);  // the two running at the signal, at least
  EXPECT_GT(refused, 0);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_LE(run.exit_after.count(), (Seconds(10) + kExitMargin).count());
}

TEST(ShutdownGraceTest, WorkBeyondTheGraceIsRefusedAtOnceAndTheRestAnswersOk) {
  // 3 s of work or more in a 2 s grace: some must be refused, and those at once; the two running at the signal take
  // 0.3 s as measured, so they finish within the grace even on a host three times slower when the signal comes.
  const ShutdownRun run = SigtermWithQueuedWork(20, 0.3, "2s");
  ASSERT_EQ(run.outcomes.size(), 20u);
  int ok = 0, refused = 0;
  for (const Outcome& outcome : run.outcomes) {
    ok += outcome.status.ok();
    if (IsRefusedForTheGrace(outcome.status)) {
      ++refused;
      // "At once": within the grace, not at its end (the message says which refusal it is; a loaded host delayed
      // these answers past 1 s at ctest -j2, the bound this had before).
      EXPECT_LT(outcome.after_signal.count(), 2.0) << outcome.status.error_message();
    } else {
      EXPECT_TRUE(outcome.status.ok()) << outcome.status.error_code() << " " << outcome.status.error_message()
                                       << " after " << outcome.after_signal.count() << " s";
    }
  }
  std::printf("%d OK, %d refused at once for the grace\n", ok, refused);
  EXPECT_GT(refused, 0);
  EXPECT_GE(ok, 2);  // the two running when the signal came
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_LE(run.exit_after.count(), (Seconds(2) + kExitMargin).count());
}

TEST(ShutdownGraceTest, WhatTheGraceEndsIsAnsweredUnavailableWithWhy) {
  // A server that has not served yet has no service time to judge from: its queue runs until the grace ends. A step
  // of 100 short iterations (a 255-pixel elliptic morphology on 480x270, tenths of a second each) stops between
  // two of them at the end of the grace; the request queued behind it never runs.
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--max_request_work=1e14", "--shutdown_grace=1s"});
  ASSERT_TRUE(server.started());
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(480, 270), ".png"));
  pb::Morphology* morphology = request.add_operations()->mutable_morphology();
  morphology->set_shape(pb::Morphology::SHAPE_ELLIPSE);
  morphology->set_kernel_width(255);
  morphology->set_iterations(100);
  auto stub = server.NewStub();
  auto running = std::async(std::launch::async, [&] { return CallProcess(*stub, request); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  auto queued = std::async(std::launch::async, [&] { return CallProcess(*stub, request); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 2, 1));
  const auto signalled = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(SIGTERM, 60), 0);
  const Seconds exit_after = std::chrono::steady_clock::now() - signalled;
  std::printf("exit %.2f s after SIGTERM (grace 1 s)\n", exit_after.count());
  const grpc::Status cut = running.get(), skipped = queued.get();
  EXPECT_EQ(cut.error_code(), grpc::UNAVAILABLE) << cut.error_message();
  EXPECT_NE(cut.error_message().find("shutdown grace ended while this request ran"), std::string::npos)
      << cut.error_message();
  EXPECT_EQ(skipped.error_code(), grpc::UNAVAILABLE) << skipped.error_message();
  EXPECT_NE(skipped.error_message().find("shutdown grace ended before it ran"), std::string::npos)
      << skipped.error_message();
  EXPECT_LE(exit_after.count(), (Seconds(1) + kExitMargin).count());
}

}  // namespace
}  // namespace imgproc::testing
