// TEST ONLY: used only when --test_fault_injection=illegal_address_after=N is set.
#include "backend/cuda/illegal_address_fault.h"

#include <cuda_runtime.h>

#include "backend/cuda/cuda_fault.h"
#include "backend/cuda/test_fault_kernel.h"
#include "codec/cuda/cuda_handles.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

// On the calling thread's device, which the inner lane's factory bound it to (core/lane.h: lanes are made and run
// on their worker's thread). Waits for the kernel, so that the error is there before the request starts.
void ProvokeIllegalAddress() {
  int device = -1;
  cudaGetDevice(&device);
  cudaStream_t made = nullptr;
  if (const cudaError_t created = cudaStreamCreateWithFlags(&made, cudaStreamNonBlocking); created != cudaSuccess) {
    IMGPROC_LOG(kWarning) << "cuda:" << device << ": no stream for the test fault: " << CudaErrorText(created);
    return;
  }
  const CudaStream stream(made);
  if (const cudaError_t launched = LaunchIllegalAddressKernelForTest(stream.get()); launched != cudaSuccess) {
    IMGPROC_LOG(kWarning) << "cuda:" << device << ": the test fault kernel did not launch: " << CudaErrorText(launched);
    return;
  }
  if (const cudaError_t faulted = cudaStreamSynchronize(stream.get()); !IsStickyCudaError(faulted)) {
    IMGPROC_LOG(kWarning) << "cuda:" << device << ": the test fault kernel left no sticky error ("
                          << CudaErrorText(faulted) << ")";
  }
}

class IllegalAddressFaultLane final : public ExecutionLane {
 public:
  IllegalAddressFaultLane(std::unique_ptr<ExecutionLane> lane, std::shared_ptr<TestFaultCountdown> countdown)
      : lane_(std::move(lane)), countdown_(std::move(countdown)) {}

  absl::StatusOr<JobResult> Run(const Job& job) override {
    if (countdown_->Fire()) ProvokeIllegalAddress();
    return lane_->Run(job);
  }

 private:
  const std::unique_ptr<ExecutionLane> lane_;
  const std::shared_ptr<TestFaultCountdown> countdown_;
};

}  // namespace

LaneFactory WithIllegalAddressFault(LaneFactory lanes, std::shared_ptr<TestFaultCountdown> countdown) {
  return [lanes = std::move(lanes),
          countdown = std::move(countdown)](int worker_index) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    IMGPROC_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionLane> lane, lanes(worker_index));
    return std::make_unique<IllegalAddressFaultLane>(std::move(lane), countdown);
  };
}

}  // namespace imgproc
