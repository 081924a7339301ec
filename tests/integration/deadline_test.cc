// A deadline or a cancellation frees a CPU worker in the middle of one long pass: the heaviest single passes the
// default work budget admits (bench/worst-case-hold.sh's chains, seconds each on one worker) run in stripes with
// a stop check between them. Measured by the queue wait of a cheap request sent to the same one-worker server
// while the heavy one runs: it waits for the heavy one's deadline (or cancellation) and then for the worker to
// stop, which takes tens of milliseconds (README, "Bounds"); the bound asserted is 1 s, generous for a loaded host
// and well under the seconds the pass holds a worker when it cannot be stopped inside.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kHeavyDeadline(1000);
constexpr int64_t kReleaseBoundUs = 1'000'000;

struct HeavyChain {
  std::string name;
  int width, height;  // the resize before the heavy step: the estimate comes just under the default budget
  std::function<void(pb::Operation&)> heavy;
};

std::vector<HeavyChain> HeavyChains() {
  return {{"bilateral_d31", 4800, 3500,
           [](pb::Operation& op) {
             auto* b = op.mutable_bilateral_filter();
             b->set_diameter(31);
             b->set_sigma_color(50);
             b->set_sigma_space(50);
           }},
          {"gaussian_255", 8000, 4000, [](pb::Operation& op) { op.mutable_gaussian_blur()->set_kernel_width(255); }},
          {"median_31", 4800, 3500, [](pb::Operation& op) { op.mutable_median_blur()->set_kernel_size(31); }},
          // The warp makes its 10000x10000 output itself: a resize to that size first would be a pass of its own
          // that runs as one call (README, Bounds), up to seconds in a sanitizer build, before the warp begins.
          {"warp_perspective_cubic", 2560, 1600, [](pb::Operation& op) {
             auto* warp = op.mutable_warp_perspective();
             for (const double v : {1.0, 0.1, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}) warp->add_matrix(v);
             warp->set_width(10000);
             warp->set_height(10000);
             warp->set_interpolation(pb::INTERPOLATION_CUBIC);
           }}};
}

// The photo resized, the heavy step, and a resize to 64x64 so that encoding the answer costs nothing.
pb::ProcessRequest HeavyRequest(const HeavyChain& chain) {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Aqua.jpg")));  // 2560x1600
  request.set_disable_shrink_on_load(true);
  auto* resize = request.add_operations()->mutable_resize();
  resize->set_width(chain.width);
  resize->set_height(chain.height);
  chain.heavy(*request.add_operations());
  auto* small = request.add_operations()->mutable_resize();
  small->set_width(64);
  small->set_height(64);
  request.mutable_output()->mutable_raw();
  return request;
}

pb::ProcessRequest CheapRequest() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(64, 64), ".png"));
  request.add_operations()->mutable_flip();
  request.mutable_output()->mutable_raw();
  return request;
}

class DeadlineTest : public ::testing::TestWithParam<HeavyChain> {};

TEST_P(DeadlineTest, AnExpiredPassFreesTheWorkerSoonAfterItsDeadline) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const auto sent = std::chrono::steady_clock::now();
  auto heavy = std::async(std::launch::async,
                          [&] { return CallProcess(*stub, HeavyRequest(GetParam()), nullptr, kHeavyDeadline); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));  // running
  pb::ProcessResponse response;
  const grpc::Status cheap = CallProcess(*stub, CheapRequest(), &response, seconds(60));
  ASSERT_TRUE(cheap.ok()) << cheap.error_code() << " " << cheap.error_message();
  EXPECT_EQ(heavy.get().error_code(), grpc::DEADLINE_EXCEEDED);
  // The cheap request arrived after the heavy one started, so it waited at most until the heavy one's deadline
  // and then for the worker to stop.
  const int64_t deadline_us = std::chrono::duration_cast<std::chrono::microseconds>(kHeavyDeadline).count();
  EXPECT_LT(response.timings().queue_wait_us(), deadline_us + kReleaseBoundUs)
      << "the worker was held " << (response.timings().queue_wait_us() - deadline_us) / 1000
      << " ms past the heavy request's deadline (its pass cannot be stopped inside?)";
  EXPECT_LT(std::chrono::steady_clock::now() - sent, seconds(30));
}

INSTANTIATE_TEST_SUITE_P(HeaviestChains, DeadlineTest, ::testing::ValuesIn(HeavyChains()),
                         [](const auto& info) { return info.param.name; });

class CancelTest : public ::testing::TestWithParam<HeavyChain> {};

TEST_P(CancelTest, ACancelledPassFreesTheWorkerSoonAfterTheCancellation) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  grpc::ClientContext context;
  auto heavy = std::async(std::launch::async, [&] {
    pb::ProcessResponse ignored;
    return stub->Process(&context, HeavyRequest(GetParam()), &ignored);
  });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  pb::ProcessResponse response;
  auto cheap =
      std::async(std::launch::async, [&] { return CallProcess(*stub, CheapRequest(), &response, seconds(60)); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 2, 1));  // the cheap one waits for the worker
  const auto cancelled = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(milliseconds(600));  // into the heavy step, as the client was
  context.TryCancel();
  EXPECT_EQ(heavy.get().error_code(), grpc::CANCELLED);
  const grpc::Status cheap_status = cheap.get();
  ASSERT_TRUE(cheap_status.ok()) << cheap_status.error_code() << " " << cheap_status.error_message();
  const int64_t waited_after_cancel_us =
      response.timings().queue_wait_us() -
      std::chrono::duration_cast<std::chrono::microseconds>(milliseconds(600)).count();
  EXPECT_LT(waited_after_cancel_us, kReleaseBoundUs)
      << "the worker was held " << waited_after_cancel_us / 1000 << " ms past the cancellation";
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, seconds(30));
}

// The bilateral filter of the report and the warp (0.4 s of resize first, then ~2 s of warp).
INSTANTIATE_TEST_SUITE_P(HeavyChains, CancelTest, ::testing::Values(HeavyChains()[0], HeavyChains()[3]),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace imgproc::testing
