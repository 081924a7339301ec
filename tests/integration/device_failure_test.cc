// A device that fails is taken out of service, and a server with no device left exits for a restart. The failure is
// simulated (--test_fault_injection=device_failure_after=N: a lane reports it as a CUDA lane reports a sticky CUDA
// error), so that the pool, the scheduler, health, metrics and the exit are checked where there is no GPU;
// gpu.GpuFaultTest checks the same with a real kernel fault.
#include <gtest/gtest.h>
#include <signal.h>

#include "imgproc_testing/device_failure_checks.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

TEST(DeviceFailureTest, TheFailingRequestIsInternalThenTheDeviceIsOutOfServiceAndTheServerExitsWithCode3) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2", "--test_fault_injection=device_failure_after=2",
                        "--no_device_exit_delay=8s"},
                       TestingServerBinary());
  ASSERT_TRUE(server.started());
  EXPECT_EQ(DeviceState(server, "cpu", "serving"), 1);
  EXPECT_EQ(DeviceState(server, "cpu", "failed"), 0);
  auto stub = server.NewStub();
  const pb::ProcessRequest request = SmallFlipRequest();
  for (int i = 0; i < 2; ++i) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, request, &response, std::chrono::seconds(30));
    ASSERT_TRUE(status.ok()) << "request " << i << ": " << status.error_message();
    EXPECT_EQ(response.device(), "cpu");
  }
  const grpc::Status failed = CallProcess(*stub, request, nullptr, std::chrono::seconds(30));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INTERNAL) << failed.error_message();
  EXPECT_NE(failed.error_message().find("simulated device failure"), std::string::npos) << failed.error_message();
  EXPECT_NE(failed.error_message().find("cpu"), std::string::npos) << failed.error_message();
  // 8 s of answering, then a 2 s grace at most, and room for a loaded machine.
  ExpectOutOfServiceThenExit(server, "cpu", request, std::chrono::seconds(40));
}

TEST(DeviceFailureTest, SigtermWhileWaitingToExitStillExitsWithCode3) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--test_fault_injection=device_failure_after=0",
                        "--no_device_exit_delay=10m"},
                       TestingServerBinary());
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const grpc::Status failed = CallProcess(*stub, SmallFlipRequest(), nullptr, std::chrono::seconds(30));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INTERNAL) << failed.error_message();
  EXPECT_EQ(server.Stop(SIGTERM, 30), kExitNoUsableDevice);
}

TEST(DeviceFailureTest, AnUnknownFaultInjectionIsRefusedAtStart) {
  ServerProcess server({"--backend=cpu", "--test_fault_injection=explode_after=1"}, TestingServerBinary());
  EXPECT_FALSE(server.started());
  EXPECT_EQ(server.WaitForExit(std::chrono::seconds(30)), 2);
}

}  // namespace
}  // namespace imgproc::testing
