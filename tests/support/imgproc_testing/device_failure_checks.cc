#include "imgproc_testing/device_failure_checks.h"

#include <gtest/gtest.h>

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "imgproc_testing/http.h"

namespace imgproc::testing {

double DeviceState(const ServerProcess& server, const std::string& device, const std::string& state) {
  const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server.metrics_port(), "/metrics"));
  const auto it = metrics.find(SeriesKey("imgproc_device_state", {{"device", device}, {"state", state}}));
  return it == metrics.end() ? -1 : it->second;
}

void ExpectOutOfServiceThenExit(ServerProcess& server, const std::string& device,
                                const imgproc::v1::ProcessRequest& request, std::chrono::seconds exit_within) {
  const auto start = std::chrono::steady_clock::now();
  auto stub = server.NewStub();
  const imgproc::v1::ProcessRequest named = [&] {
    imgproc::v1::ProcessRequest r = request;
    r.set_device(device);
    return r;
  }();
  for (const imgproc::v1::ProcessRequest* r : {&request, &named, &request}) {
    // Answered at once, not run: a deadline of seconds tells a refusal from a hang.
    const grpc::Status status = CallProcess(*stub, *r, nullptr, std::chrono::seconds(10));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_NE(status.error_message().find("device " + device + " is out of service"), std::string::npos)
        << status.error_message();
  }

  EXPECT_EQ(DeviceState(server, device, "failed"), 1);
  EXPECT_EQ(DeviceState(server, device, "serving"), 0);

  // The main thread turns health to NOT_SERVING once the scheduler tells it, a moment after the failure.
  auto health = grpc::health::v1::Health::NewStub(server.NewChannel());
  for (const std::string service : {"", "imgproc.v1.ImageProcessorService"}) {
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::health::v1::HealthCheckRequest check;
      check.set_service(service);
      status = health->Check(&context, check, &response);
      if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < give_up);
    EXPECT_TRUE(status.ok()) << "health '" << service << "': " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING) << "health '" << service << "'";
  }

  const int exit_code = server.WaitForExit(exit_within);
  EXPECT_EQ(exit_code, kExitNoUsableDevice)
      << (exit_code == ServerProcess::kStillRunning ? "still running" : "exit code " + std::to_string(exit_code)) << " "
      << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count()
      << " s after the device failed";
}

}  // namespace imgproc::testing
