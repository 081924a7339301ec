// Two GPUs in one server: requests spread over both, a device hint pins one, and one GPU out of service leaves
// the other serving. Skipped with fewer than two usable GPUs (integration.MultiDeviceTest checks the same paths
// on CPU devices everywhere).
#include <gtest/gtest.h>

#include <map>

#include "imgproc_testing/device_failure_checks.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

#define SKIP_WITHOUT_TWO_GPUS()                                                                                      \
  do {                                                                                                               \
    SKIP_WITHOUT_GPU();                                                                                              \
    if (UsableGpuCount() < 2) GTEST_SKIP() << "GPU test skipped: " << UsableGpuCount() << " usable GPU(s), needs 2"; \
  } while (false)

pb::ProcessRequest PhotoRequest(const std::string& photo) {
  pb::ProcessRequest request;
  request.set_image(photo);
  request.add_operations()->mutable_resize()->set_scale(0.5);
  request.mutable_output()->mutable_jpeg()->set_quality(90);
  return request;
}

TEST(MultiGpuTest, RequestsSpreadOverBothGpusAndAHintPinsOne) {
  SKIP_WITHOUT_TWO_GPUS();
  ServerProcess server({"--backend=cuda", "--cuda_workers=2"});
  ASSERT_TRUE(server.started());
  const pb::ProcessRequest request = PhotoRequest(ReadFile(PhotoPath("nature/Dune.jpg")));
  std::map<std::string, int> answered_by = AnswersByDevice(server, request, 16, 8);
  EXPECT_EQ(answered_by.count(""), 0u) << answered_by[""] << " calls failed";
  EXPECT_GE(answered_by["cuda:0"], 16) << answered_by["cuda:0"] << " of 128 on cuda:0";
  EXPECT_GE(answered_by["cuda:1"], 16) << answered_by["cuda:1"] << " of 128 on cuda:1";

  auto stub = server.NewStub();
  pb::ProcessRequest pinned = request;
  pinned.set_device("cuda:1");
  for (int i = 0; i < 4; ++i) {
    pb::ProcessResponse response;
    ASSERT_TRUE(CallProcess(*stub, pinned, &response).ok());
    EXPECT_EQ(response.device(), "cuda:1");
  }
}

TEST(MultiGpuTest, OneGpuOutOfServiceLeavesTheOtherServing) {
  SKIP_WITHOUT_TWO_GPUS();
  ServerProcess server({"--backend=cuda", "--cuda_workers=2", "--test_fault_injection=device_failure_after=0@cuda:1",
                        "--no_device_exit_delay=1s"},
                       TestingServerBinary());
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const pb::ProcessRequest request = PhotoRequest(ReadFile(PhotoPath("nature/Dune.jpg")));
  pb::ProcessRequest on_second = request;
  on_second.set_device("cuda:1");
  EXPECT_EQ(CallProcess(*stub, on_second).error_code(), grpc::StatusCode::INTERNAL);
  for (int i = 0; i < 6; ++i) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.device(), "cuda:0");
  }
  EXPECT_EQ(DeviceState(server, "cuda:1", "failed"), 1);
  EXPECT_EQ(DeviceState(server, "cuda:0", "serving"), 1);
  EXPECT_EQ(server.WaitForExit(std::chrono::seconds(3)), ServerProcess::kStillRunning);
}

}  // namespace
}  // namespace imgproc::testing
