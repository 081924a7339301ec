#pragma once
// TEST ONLY (--test_fault_injection=illegal_address_after=N): see backend/test_fault_injection.h.

#include <cuda_runtime.h>

namespace imgproc {

// Queues on `stream` a one-thread kernel that stores through an invalid device pointer. The launch itself
// succeeds; the kernel's fault, cudaErrorIllegalAddress, is sticky and surfaces at the stream's next
// synchronization, as a real kernel bug's would. Returns the launch's error.
cudaError_t LaunchIllegalAddressKernelForTest(cudaStream_t stream);

}  // namespace imgproc
