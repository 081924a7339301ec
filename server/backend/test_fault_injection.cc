#include "backend/test_fault_injection.h"

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

class SimulatedDeviceFailureLane final : public ExecutionLane {
 public:
  SimulatedDeviceFailureLane(std::unique_ptr<ExecutionLane> lane, std::shared_ptr<TestFaultCountdown> countdown,
                             std::string device_name)
      : lane_(std::move(lane)), countdown_(std::move(countdown)), device_name_(std::move(device_name)) {}

  absl::StatusOr<JobResult> Run(const Job& job) override {
    if (countdown_->Fire()) {
      return DeviceFailedError("simulated device failure (test fault injection: device_failure_after)",
                               absl::StrCat(device_name_, " running the request"));
    }
    return lane_->Run(job);
  }

 private:
  const std::unique_ptr<ExecutionLane> lane_;
  const std::shared_ptr<TestFaultCountdown> countdown_;
  const std::string device_name_;
};

}  // namespace

LaneFactory WithSimulatedDeviceFailure(LaneFactory lanes, std::shared_ptr<TestFaultCountdown> countdown,
                                       std::string device_name) {
  return [lanes = std::move(lanes), countdown = std::move(countdown),
          device_name = std::move(device_name)](int worker_index) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    absl::StatusOr<std::unique_ptr<ExecutionLane>> lane = lanes(worker_index);
    if (!lane.ok()) return lane.status();
    return std::make_unique<SimulatedDeviceFailureLane>(*std::move(lane), countdown, device_name);
  };
}

}  // namespace imgproc
