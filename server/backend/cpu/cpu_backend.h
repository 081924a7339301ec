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
// One CPU lane, for callers that run jobs without a pool (tests, fuzzers); it cannot fail. `stripe_work`: the work
// of one stripe of a long pass (CpuPassContext), smaller in tests that cut images into many stripes.
std::unique_ptr<ExecutionLane> MakeCpuLane(double stripe_work = CpuPassContext().stripe_work);

}  // namespace imgproc
