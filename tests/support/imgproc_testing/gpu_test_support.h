#pragma once
// What the GPU suites share: whether a GPU is usable (and why not), and the device they run on.

#include <string>

#include "core/device.h"
#include "core/lane.h"
#include "imgproc/v1/imgproc.pb.h"
#include "scheduler/worker_pool.h"

namespace imgproc::testing {

// Empty when a GPU is usable (and prepares it once, as the server does); otherwise why not.
std::string WhyNoGpu();
// The usable GPUs (0 without one).
int UsableGpuCount();

// cuda:0 as the server describes it.
DeviceDescription GpuDeviceDescription();

// Submits `count` requests to `pool`, cycling through `requests`, and waits for every answer; counts them.
struct RunCounts {
  int ok = 0;
  int failed = 0;
};
RunCounts RunRequests(WorkerPool& pool, const std::vector<imgproc::v1::ProcessRequest>& requests, int count);

}  // namespace imgproc::testing

#define SKIP_WITHOUT_GPU()                                         \
  do {                                                             \
    const std::string why = ::imgproc::testing::WhyNoGpu();        \
    if (!why.empty()) GTEST_SKIP() << "GPU test skipped: " << why; \
  } while (false)
