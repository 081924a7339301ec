#pragma once

#include "core/device.h"
#include "core/lane.h"
#include "ops/operation.h"

namespace imgproc {

// OpenCV's CPU functions, one lane per worker thread. OpenCV's own thread pool is limited to one thread
// per lane (see main): parallelism comes from the workers, which keeps tail latency predictable.
// `index` of `count` CPU devices: named "cpu" when there is one, "cpu:0", "cpu:1"... when --cpu_devices splits the
// CPU backend into several pools (to run the multi-device paths without GPUs).
DeviceDescription CpuDeviceDescription(int index = 0, int count = 1);
LaneFactory CpuLaneFactory();
// One CPU lane, for callers that run jobs without a pool (tests, fuzzers); it cannot fail. How a long pass is cut
// into stripes (CpuPassContext): tests cut images into many small stripes of a fixed work.
std::unique_ptr<ExecutionLane> MakeCpuLane(double stripe_work = CpuPassContext().stripe_work,
                                           double stripe_seconds = CpuPassContext().stripe_seconds);

}  // namespace imgproc
