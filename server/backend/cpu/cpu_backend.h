#pragma once

#include "core/device.h"
#include "core/lane.h"

namespace imgproc {

// OpenCV's CPU functions, one lane per worker thread. OpenCV's own thread pool is limited to one thread
// per lane (see main): parallelism comes from the workers, which keeps tail latency predictable.
DeviceDescription CpuDeviceDescription();
LaneFactory CpuLaneFactory();
// One CPU lane, for callers that run jobs without a pool (tests, fuzzers); it cannot fail.
std::unique_ptr<ExecutionLane> MakeCpuLane();

}  // namespace imgproc
