#include "backend/cuda/cuda_fault.h"

#include "absl/strings/str_cat.h"

namespace imgproc {

bool IsStickyCudaError(cudaError_t error) {
  switch (error) {
    case cudaErrorECCUncorrectable:
    case cudaErrorNvlinkUncorrectable:
    case cudaErrorContained:
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorMpsClientTerminated:
    case cudaErrorExternalDevice: return true;
    default: return false;
  }
}

cudaError_t FindStickyCudaError(cudaStream_t stream) {
  const cudaError_t waited = cudaStreamSynchronize(stream);
  return IsStickyCudaError(waited) ? waited : SeenStickyCudaError();
}

cudaError_t SeenStickyCudaError() {
  const cudaError_t last = cudaGetLastError();  // resets a non-sticky error; a sticky one stays
  if (IsStickyCudaError(last)) return last;
  const cudaError_t still = cudaPeekAtLastError();
  return IsStickyCudaError(still) ? still : cudaSuccess;
}

std::string CudaErrorText(cudaError_t error) {
  return absl::StrCat(cudaGetErrorName(error), ": ", cudaGetErrorString(error));
}

}  // namespace imgproc
