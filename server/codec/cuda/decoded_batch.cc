#include "codec/cuda/decoded_batch.h"

namespace imgproc {

DecodedBatch::DecodedBatch(NvJpegDevice* owner, void* memory, NvJpegDevice::BatchEvents events)
    : owner_(owner), memory_(memory), events_(std::move(events)) {}

DecodedBatch::~DecodedBatch() {
  // Its readers have finished (see DeviceImage); a batch that nobody read may still be being written.
  cudaEventSynchronize(events_.done.get());
  owner_->Free(memory_, cudaStreamPerThread);
  owner_->ReturnBatchEvents(std::move(events_));
}

float DecodedBatch::ElapsedMs() const {
  float ms = 0;
  if (cudaEventElapsedTime(&ms, events_.start.get(), events_.done.get()) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return ms;
}

}  // namespace imgproc
