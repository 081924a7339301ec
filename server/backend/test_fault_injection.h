#pragma once
// TEST ONLY: faults provoked on purpose (--test_fault_injection), so that tests can watch the server take a failed
// device out of service, report it and exit for a restart. Nothing here is made, and no lane changes, unless the
// flag is set; never set it in production.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/device.h"
#include "core/lane.h"

namespace imgproc {

struct TestFaultInjection {
  enum class Kind {
    kNone,
    // Any backend: after N requests a lane reports a device failure, without touching the device.
    kDeviceFailure,
    // CUDA backend: after N requests a lane launches a kernel that writes through an invalid pointer, a real
    // sticky CUDA error (cudaErrorIllegalAddress), before it runs the request (backend/cuda/illegal_address_fault.h).
    kIllegalAddress,
  };
  Kind kind = Kind::kNone;
  int64_t after_requests = 0;
  std::string device;  // the one device that fails; empty: each device, after its own N requests

  bool Targets(absl::string_view device_name) const { return device.empty() || device == device_name; }
};

// "" (none), "device_failure_after=N" or "illegal_address_after=N", either with "@DEVICE" for one device only
// ("device_failure_after=0@cpu:1"); INVALID_ARGUMENT otherwise.
absl::StatusOr<TestFaultInjection> ParseTestFaultInjection(absl::string_view spec);

// Counts the requests that one device's lanes start, and fires once: for the request after the first `after`.
class TestFaultCountdown {
 public:
  explicit TestFaultCountdown(int64_t after) : after_(after) {}
  bool Fire() { return started_.fetch_add(1) == after_; }

 private:
  const int64_t after_;
  std::atomic<int64_t> started_{0};
};

// `lanes`' lanes, of which the one that takes the request after the first `countdown` ones answers it with a
// DeviceFailedError instead of running it, as a lane that hit a sticky CUDA error does.
LaneFactory WithSimulatedDeviceFailure(LaneFactory lanes, std::shared_ptr<TestFaultCountdown> countdown,
                                       std::string device_name);

}  // namespace imgproc
