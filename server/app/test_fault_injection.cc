#include "app/test_fault_injection.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace imgproc {

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

}  // namespace imgproc
