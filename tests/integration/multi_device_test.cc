// Several devices in one server. The CPU backend split into pools (--cpu_devices=2: cpu:0 and cpu:1) takes the
// paths a multi-GPU server takes (routing by load, device hints, one device out of service while the other
// serves), so that they are checked here and in CI; the 2-GPU machine measures the rest.
#include <gtest/gtest.h>

#include <map>

#include "grpc/health/v1/health.grpc.pb.h"
#include "imgproc_testing/device_failure_checks.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// A request that holds a worker for some milliseconds, so that requests in flight overlap and load tells the
// devices apart (a 64x48 flip is done before the next one is routed).
pb::ProcessRequest BlurRequest() {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(640, 480), ".png"));
  pb::GaussianBlur* blur = request.add_operations()->mutable_gaussian_blur();
  blur->set_kernel_width(15);
  request.mutable_output()->mutable_raw();
  return request;
}

double RequestsAnsweredBy(const ServerProcess& server, const std::string& device) {
  const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server.metrics_port(), "/metrics"));
  const auto it = metrics.find(SeriesKey(
      "imgproc_requests_total", {{"backend", "cpu"}, {"code", "OK"}, {"device", device}, {"method", "Process"}}));
  return it == metrics.end() ? 0 : it->second;
}

TEST(MultiDeviceTest, RequestsSpreadOverTheDevicesAndAHintPinsOne) {
  ServerProcess server({"--backend=cpu", "--cpu_devices=2", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  {
    grpc::ClientContext context;
    pb::GetServerInfoResponse info;
    ASSERT_TRUE(stub->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
    ASSERT_EQ(info.devices_size(), 2);
    EXPECT_EQ(info.devices(0).name(), "cpu:0");
    EXPECT_EQ(info.devices(1).name(), "cpu:1");
    EXPECT_EQ(info.devices(1).workers(), 1);
  }

  // 8 clients, 6 requests each: the least loaded device takes each one.
  const pb::ProcessRequest request = BlurRequest();
  std::map<std::string, int> answered_by = AnswersByDevice(server, request, 8, 6);
  EXPECT_EQ(answered_by.count(""), 0u) << answered_by[""] << " calls failed";
  EXPECT_EQ(answered_by.size(), 2u);
  // Each device has one worker and the router sends a request to the one with less work: neither may take most.
  EXPECT_GE(answered_by["cpu:0"], 12) << answered_by["cpu:0"] << " of 48 on cpu:0";
  EXPECT_GE(answered_by["cpu:1"], 12) << answered_by["cpu:1"] << " of 48 on cpu:1";
  EXPECT_EQ(RequestsAnsweredBy(server, "cpu:0"), answered_by["cpu:0"]);
  EXPECT_EQ(RequestsAnsweredBy(server, "cpu:1"), answered_by["cpu:1"]);

  // A hint pins the request, however idle the other device is.
  pb::ProcessRequest pinned = request;
  pinned.set_device("cpu:1");
  for (int i = 0; i < 4; ++i) {
    pb::ProcessResponse response;
    ASSERT_TRUE(CallProcess(*stub, pinned, &response).ok());
    EXPECT_EQ(response.device(), "cpu:1");
  }
  pinned.set_device("cpu:7");
  const grpc::Status unknown = CallProcess(*stub, pinned);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown.error_message().find("available: cpu:0, cpu:1"), std::string::npos) << unknown.error_message();
}

TEST(MultiDeviceTest, OneDeviceOutOfServiceLeavesTheOtherServing) {
  ServerProcess server({"--backend=cpu", "--cpu_devices=2", "--cpu_workers=1",
                        "--test_fault_injection=device_failure_after=0@cpu:0", "--no_device_exit_delay=1s"},
                       TestingServerBinary());
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  pb::ProcessRequest on_first = SmallFlipRequest();
  on_first.set_device("cpu:0");
  const grpc::Status failed = CallProcess(*stub, on_first, nullptr, std::chrono::seconds(30));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INTERNAL) << failed.error_message();

  // Every request now goes to cpu:1; one that names cpu:0 is told why not.
  for (int i = 0; i < 6; ++i) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, SmallFlipRequest(), &response, std::chrono::seconds(30));
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.device(), "cpu:1");
  }
  const grpc::Status refused = CallProcess(*stub, on_first, nullptr, std::chrono::seconds(10));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.error_message().find("device cpu:0 is out of service"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(DeviceState(server, "cpu:0", "failed"), 1);
  EXPECT_EQ(DeviceState(server, "cpu:1", "serving"), 1);

  // A device is still in service: health stays SERVING and the server does not exit after --no_device_exit_delay.
  EXPECT_EQ(server.WaitForExit(std::chrono::seconds(3)), ServerProcess::kStillRunning);
  auto health = grpc::health::v1::Health::NewStub(server.NewChannel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(MultiDeviceTest, AFaultAimedAtADeviceThatIsNotThereIsRefusedAtStart) {
  ServerProcess server({"--backend=cpu", "--cpu_devices=2", "--test_fault_injection=device_failure_after=0@cpu:5"},
                       TestingServerBinary());
  EXPECT_FALSE(server.started());
  EXPECT_EQ(server.WaitForExit(std::chrono::seconds(30)), 2);
}

}  // namespace
}  // namespace imgproc::testing
