#include "backend/test_fault_injection.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace imgproc {
namespace {

class SimulatedDeviceFailureLane final : public ExecutionLane {
 public:
  SimulatedDeviceFailureLane(std::unique_ptr<ExecutionLane> lane, std::shared_ptr<TestFaultCountdown> countdown,
                             std::string device_name)
      : lane_(std::move(lane)), countdown_(std::move(countdown)), device_name_(std::move(device_name)) {}

  absl::StatusOr<JobResult> Run(const Job& job) override {
    if (countdown_->Fire()) {
      return DeviceFailedError("simulated device failure (--test_fault_injection=device_failure_after)",
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

absl::StatusOr<TestFaultInjection> ParseTestFaultInjection(absl::string_view spec) {
  TestFaultInjection injection;
  if (spec.empty()) return injection;
  const std::pair<absl::string_view, absl::string_view> kind_and_count = absl::StrSplit(spec, absl::MaxSplits('=', 1));
  if (kind_and_count.first == "device_failure_after") {
    injection.kind = TestFaultInjection::Kind::kDeviceFailure;
  } else if (kind_and_count.first == "illegal_address_after") {
    injection.kind = TestFaultInjection::Kind::kIllegalAddress;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--test_fault_injection: '", spec,
                                                   "' is neither device_failure_after=N nor illegal_address_after=N"));
  }
  const std::pair<absl::string_view, absl::string_view> count_and_device =
      absl::StrSplit(kind_and_count.second, absl::MaxSplits('@', 1));
  if (!absl::SimpleAtoi(count_and_device.first, &injection.after_requests) || injection.after_requests < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--test_fault_injection: '", count_and_device.first, "' is no count of requests (0 or more)"));
  }
  injection.device = std::string(count_and_device.second);
  if (absl::StrContains(kind_and_count.second, '@') && injection.device.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--test_fault_injection: '", spec, "' names no device after '@'"));
  }
  return injection;
}

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
