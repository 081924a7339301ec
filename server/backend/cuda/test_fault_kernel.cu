// TEST ONLY: compiled into the CUDA build, called only when --test_fault_injection=illegal_address_after=N is set.
#include "backend/cuda/test_fault_kernel.h"

namespace imgproc {
namespace {

// The pointer arrives as an argument so that the compiler cannot see that it is invalid and drop or rewrite the store.
__global__ void StoreThroughPointer(int* target) { *target = 1; }

}  // namespace

cudaError_t LaunchIllegalAddressKernelForTest(cudaStream_t stream) {
  // Address 0 is never mapped on the device: the store is an illegal address whatever else the process holds,
  // and it cannot land in another request's memory.
  StoreThroughPointer<<<1, 1, 0, stream>>>(nullptr);
  return cudaGetLastError();
}

}  // namespace imgproc
