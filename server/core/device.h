#pragma once
// A device as the scheduler, the metrics and the transport see it, and how a lane says that its device failed.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace imgproc {

struct DeviceDescription {
  std::string name;  // "cpu", "cuda:0": what ProcessRequest.device names
  std::string kind;  // "cpu" or "cuda"
  std::string description;
  int64_t memory_total_bytes = 0;
  std::string compute_capability;
  std::string pci_bus_id;  // how NVML finds the same GPU whatever CUDA_VISIBLE_DEVICES renumbered
  std::string codecs;      // where and how images are decoded and encoded
};

// A lane's word that its device can run nothing more (a sticky CUDA error: the context is lost until the process
// restarts), as opposed to a failure of one request. The pool then takes the device out of service.
inline constexpr absl::string_view kDeviceFailurePayload = "imgproc/backend/device_failed";

// INTERNAL, not UNAVAILABLE, for the request that was running when the device failed: it may be what broke it
// (a kernel fault its parameters provoke), and clients retry UNAVAILABLE, so a retried query of death would take
// one server after another out of service. `failure` says what broke (the CUDA error), `context` where.
inline absl::Status DeviceFailedError(absl::string_view failure, absl::string_view context) {
  absl::Status status = absl::InternalError(absl::StrCat(context, ": ", failure, "; the device is out of service"));
  status.SetPayload(kDeviceFailurePayload, absl::Cord(failure));
  return status;
}
// What broke the device, when `status` says that it failed.
inline std::optional<std::string> DeviceFailure(const absl::Status& status) {
  const auto failure = status.GetPayload(kDeviceFailurePayload);  // absl::optional, not std:: in every absl build
  if (!failure.has_value()) return std::nullopt;
  return std::string(*failure);
}

}  // namespace imgproc
