#pragma once
// TEST ONLY: the lane decorators of the server's test fault injection (app/test_fault_injection.h), so that tests can
// watch the server take a failed device out of service, report it and exit for a restart. Linked into
// imgproc-server-testing alone; the countdown is also what the CUDA lane's illegal-address fault counts with.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/lane.h"

namespace imgproc {

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
