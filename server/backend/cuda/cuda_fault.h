#pragma once
// Telling a failed request from a failed device on the CUDA backend. After a sticky error (a kernel's illegal
// memory access, an uncorrectable ECC error...) the process's CUDA context is unusable: every later call returns
// the same error, and only a new process can use the device again.

#include <cuda_runtime.h>

#include <string>

namespace imgproc {

// The errors that CUDA documents as leaving the process "in an inconsistent state" (driver_types.h), and the
// hardware faults (uncorrectable ECC or NVLink errors) after which nothing the device computed can be trusted.
bool IsStickyCudaError(cudaError_t error);

// After a request failed (a cv::Exception from an OpenCV CUDA call carries only a message, nvJPEG its own status):
// waits for `stream` and reads the error state, clearing an error that is not sticky. Returns the sticky error
// when there is one (every call reports it, so these do too), else cudaSuccess: the device is still usable.
cudaError_t FindStickyCudaError(cudaStream_t stream);
// The same without waiting for any stream: a sticky error that the runtime has already seen, else cudaSuccess.
cudaError_t SeenStickyCudaError();

// "cudaErrorIllegalAddress: an illegal memory access was encountered"
std::string CudaErrorText(cudaError_t error);

}  // namespace imgproc
