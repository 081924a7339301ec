// Bounded GPU work on the real server: long iterative work is queued in chunks with a check of the request
// between them, so an expired request frees its lane and SIGTERM ends the process within its grace. The work is
// the issue's: a 101x101 rectangular morphology with 50 iterations on a 4K image, which OpenCV's CUDA filter ran as
// one 5001x5001 rectangle (four such requests held an H100 for minutes); let through by a raised
// --max_request_work.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

pb::ProcessRequest LongGpuMorphology() {
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg")));
  pb::Morphology* morphology = request.add_operations()->mutable_morphology();
  morphology->set_op(pb::Morphology::OP_DILATE);
  morphology->set_kernel_width(101);
  morphology->set_iterations(50);
  request.mutable_output()->mutable_png();
  return request;
}

pb::ProcessRequest SmallRequest() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(64, 64), ".png"));
  request.add_operations()->mutable_flip();
  return request;
}

TEST(GpuBoundsTest, TheDefaultBudgetRefusesTheIssuesRequest) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const grpc::Status refused = CallProcess(*stub, LongGpuMorphology());
  EXPECT_EQ(refused.error_code(), grpc::RESOURCE_EXHAUSTED) << refused.error_message();
}

TEST(GpuBoundsTest, AnExpiredRequestFreesItsLaneWithinAChunk) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1", "--max_request_work=1e15"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status expired = CallProcess(*stub, LongGpuMorphology(), nullptr, milliseconds(1000));
  EXPECT_EQ(expired.error_code(), grpc::DEADLINE_EXCEEDED) << expired.error_message();
  pb::ProcessResponse response;
  const grpc::Status next = CallProcess(*stub, SmallRequest(), &response, seconds(60));
  EXPECT_TRUE(next.ok()) << next.error_code() << " " << next.error_message();
  std::printf("the lane answered the next request %.1f s after the expired one was sent\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TEST(GpuBoundsTest, SigtermEndsTheProcessWithinItsGraceWhileGpuWorkIsQueued) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=4", "--max_request_work=1e15", "--shutdown_grace=2s"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&] { return CallProcess(*stub, LongGpuMorphology()); }));
  }
  ASSERT_TRUE(WaitForServerState(server.metrics_port(), 4, 0));
  std::this_thread::sleep_for(seconds(2));  // all four into their morphology
  const auto stop = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(SIGTERM, 60), 0);
  std::printf("exited %.1f s after SIGTERM (grace 2 s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - stop).count());
  for (auto& call : calls) EXPECT_FALSE(call.get().ok());
}

}  // namespace
}  // namespace imgproc::testing
