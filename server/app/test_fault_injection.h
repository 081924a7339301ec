#pragma once
// TEST ONLY: faults provoked on purpose (--test_fault_injection), so that tests can watch the server take a failed
// device out of service, report it and exit for a restart. Compiled into imgproc-server-testing alone
// (IMGPROC_TEST_FAULT_INJECTION), which the tests that need it start; the production imgproc-server has neither the
// flag nor this code.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

struct TestFaultInjection {
  enum class Kind {
    kNone,
    // Any backend: after N requests a lane reports a device failure, without touching the device.
    kDeviceFailure,
    // CUDA backend: after N requests a lane launches a kernel that writes through an invalid pointer on its
    // stream, a real sticky CUDA error (cudaErrorIllegalAddress).
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

}  // namespace imgproc
