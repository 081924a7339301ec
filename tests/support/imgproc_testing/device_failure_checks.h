#pragma once
// What a server shows once its only device failed, checked the same way for a simulated failure (integration) and
// a real sticky CUDA error (gpu).

#include <chrono>
#include <string>

#include "imgproc/v1/imgproc.pb.h"
#include "imgproc_testing/server_process.h"

namespace imgproc::testing {

// The server's exit code when no device is left in service (kExitNoUsableDevice in server/app/server_run.h).
inline constexpr int kExitNoUsableDevice = 3;

// After `device`, the server's only device, failed: `request` is answered UNAVAILABLE naming the device, with and
// without naming it, within seconds; imgproc_device_state says failed; health says NOT_SERVING for "" and for
// imgproc.v1.ImageProcessorService; and the server exits by itself with kExitNoUsableDevice within `exit_within`.
void ExpectOutOfServiceThenExit(ServerProcess& server, const std::string& device,
                                const imgproc::v1::ProcessRequest& request, std::chrono::seconds exit_within);

// imgproc_device_state{device, state} as the server's /metrics shows it; -1 when absent.
double DeviceState(const ServerProcess& server, const std::string& device, const std::string& state);

}  // namespace imgproc::testing
