#pragma once
// TEST ONLY (--test_fault_injection=illegal_address_after=N): see backend/test_fault_injection.h.

#include <memory>

#include "backend/test_fault_injection.h"
#include "core/lane.h"

namespace imgproc {

// `lanes`' CUDA lanes, of which the one that takes the request after the first `countdown` ones first provokes a
// real sticky CUDA error on its device: a kernel that stores through an invalid pointer, on a stream of its own,
// waited for. The error then belongs to the device's whole context, so the lane runs the request and meets it at
// its next CUDA call, as it would meet a fault of its own kernels. The lanes know nothing of it.
LaneFactory WithIllegalAddressFault(LaneFactory lanes, std::shared_ptr<TestFaultCountdown> countdown);

}  // namespace imgproc
