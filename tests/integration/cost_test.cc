// Bounded cost on the real server: an expired or cancelled request frees its worker between the passes of an
// iterative step, and SIGTERM ends the process within its grace while such a step runs. The step used is the
// issue's: an elliptic 255x255 morphology on a 1080p image, about 2.5 s per iteration on one CPU worker, with
// 100 iterations (minutes), let through by a raised --max_request_work.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <future>
#include <thread>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

pb::ProcessRequest HundredIterationMorphology() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(1920, 1080), ".png"));
  pb::Morphology* morphology = request.add_operations()->mutable_morphology();
  morphology->set_shape(pb::Morphology::SHAPE_ELLIPSE);
  morphology->set_kernel_width(255);
  morphology->set_iterations(100);
  return request;
}

pb::ProcessRequest SmallRequest() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(64, 64), ".png"));
  request.add_operations()->mutable_flip();
  return request;
}

TEST(CostBudgetTest, TheDefaultBudgetRefusesTheRequestBeforeAnyWork) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const grpc::Status refused = CallProcess(*stub, HundredIterationMorphology());
  EXPECT_EQ(refused.error_code(), grpc::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("operations[0].morphology: estimated work"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(MetricSum(server.metrics_port(), "imgproc_in_flight_requests"), 0);
  EXPECT_TRUE(CallProcess(*stub, SmallRequest()).ok());
}

TEST(CancellationTest, AnExpiredRequestFreesItsWorkerBetweenIterations) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--max_request_work=1e14"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const grpc::Status expired = CallProcess(*stub, HundredIterationMorphology(), nullptr, milliseconds(500));
  EXPECT_EQ(expired.error_code(), grpc::DEADLINE_EXCEEDED) << expired.error_message();
  // The only worker must come free within about one iteration, not after all 100 (minutes): a request sent now
  // is answered within its minute.
  pb::ProcessResponse response;
  const grpc::Status next = CallProcess(*stub, SmallRequest(), &response, seconds(60));
  EXPECT_TRUE(next.ok()) << next.error_code() << " " << next.error_message();
  EXPECT_EQ(response.width(), 64);
}

TEST(CancellationTest, ACancelledRequestFreesItsWorkerBetweenIterations) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--max_request_work=1e14"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  grpc::ClientContext context;
  auto call = std::async(std::launch::async, [&] {
    pb::ProcessResponse response;
    return stub->Process(&context, HundredIterationMorphology(), &response);
  });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));  // running
  // Into the morphology: the lane checked cancellation between steps already, before its decode ended.
  std::this_thread::sleep_for(seconds(1));
  context.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::CANCELLED);
  EXPECT_TRUE(CallProcess(*stub, SmallRequest(), nullptr, seconds(60)).ok());
}

TEST(ShutdownTest, SigtermEndsTheProcessWithinItsGraceWhileALongStepRuns) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--max_request_work=1e14", "--shutdown_grace=1s"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  auto call = std::async(std::launch::async, [&] { return CallProcess(*stub, HundredIterationMorphology()); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  // Within the grace plus about one iteration; before, the process waited for all 100. Stop gives up (-1) after
  // 60 s.
  EXPECT_EQ(server.Stop(SIGTERM, 60), 0);
  const grpc::StatusCode code = call.get().error_code();
  EXPECT_TRUE(code == grpc::CANCELLED || code == grpc::UNAVAILABLE) << code;
}

// Memory admission by bytes: a queue of few requests can still hold gigabytes when each is large.
pb::ProcessRequest SlowPhotoRequest() {  // seconds on one CPU worker
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Wood.jpg")));
  auto* bilateral = request.add_operations()->mutable_bilateral_filter();
  bilateral->set_diameter(25);
  bilateral->set_sigma_color(50);
  bilateral->set_sigma_space(50);
  return request;
}

void ExpectSecondRequestRefusedForItsBytes(const std::vector<std::string>& flags, const std::string& message) {
  ServerProcess server(flags);
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const pb::ProcessRequest slow = SlowPhotoRequest();
  auto running = std::async(std::launch::async, [&] { return CallProcess(*stub, slow); });
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 1, 0));
  // One photo fits, two do not, though the queue has room for 256 requests.
  const grpc::Status refused = CallProcess(*stub, slow);
  EXPECT_EQ(refused.error_code(), grpc::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find(message), std::string::npos) << refused.error_message();
  EXPECT_TRUE(running.get().ok());
  // Released once answered: the same request is admitted again.
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 0, 0));
  EXPECT_TRUE(CallProcess(*stub, slow).ok());
}

TEST(MemoryAdmissionTest, QueuedInputIsBoundedInBytesPerServer) {
  const int64_t photo = static_cast<int64_t>(ReadFile(PhotoPath("nature/Wood.jpg")).size());
  ExpectSecondRequestRefusedForItsBytes(
      {"--backend=cpu", "--cpu_workers=1", "--max_queued_bytes=" + std::to_string(photo * 3 / 2)},
      "the server is full: its requests hold " + std::to_string(photo) + " bytes of input");
}

TEST(MemoryAdmissionTest, QueuedInputIsBoundedInBytesPerDevice) {
  const int64_t photo = static_cast<int64_t>(ReadFile(PhotoPath("nature/Wood.jpg")).size());
  ExpectSecondRequestRefusedForItsBytes(
      {"--backend=cpu", "--cpu_workers=1", "--max_queued_bytes=1000000000",
       "--max_queued_bytes_per_device=" + std::to_string(photo * 3 / 2)},
      "queue of cpu is full: its requests hold " + std::to_string(photo) + " bytes of input");
}

TEST(MemoryAdmissionTest, DecodedPixelsAreBoundedInBytesPerDevice) {
  absl::StatusOr<Plan> plan = BuildPlan(SlowPhotoRequest(), ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const int64_t peak = plan->peak_pixel_bytes;  // the bilateral filter's input and output
  EXPECT_EQ(peak, 2 * PixelChannels(plan->decoded));
  ExpectSecondRequestRefusedForItsBytes(
      {"--backend=cpu", "--cpu_workers=1", "--max_pixel_bytes=" + std::to_string(peak * 3 / 2)},
      "queue of cpu is full: its requests will hold up to " + std::to_string(peak) + " bytes of decoded pixels");
}

}  // namespace
}  // namespace imgproc::testing
