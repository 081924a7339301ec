#pragma once
// The CUDA backend's decode stage: JPEGs that the GPU's hardware JPEG engine takes are decoded together,
// across concurrent requests, in batches formed by a DynamicBatcher (--decode_max_batch,
// --decode_max_delay_us); each decoded image goes on to a lane with its job. What the engine does not take
// (progressive, 4:1:1, CMYK, other formats), and every member of a batch that nvJPEG failed as a whole,
// reaches the lanes undecoded and is decoded there alone: on the SMs with nvJPEG, else on the CPU. So a bad
// image in a batch fails only its own request.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "codec/gpu/jpeg_gpu_codec.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Decoded images that no lane has finished with, bounded: when lanes fall behind, the stage waits instead of
// decoding ahead into device memory, and its queue grows into full batches meanwhile.
class DecodedImageBudget {
 public:
  explicit DecodedImageBudget(int limit) : available_(limit) {}
  void Acquire(int n);  // waits until n are available
  void Release();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int available_ ABSL_GUARDED_BY(mu_);
};

// A job's input as the decode stage left it: decoded, in device memory, ready once its batch's event is.
struct GpuStagedImage final : StagedInput {
  ~GpuStagedImage() override { budget->Release(); }
  std::unique_ptr<DeviceImage> image;
  std::shared_ptr<DecodedImageBudget> budget;
};

// Null when the device has no JPEG engine: then the lanes decode every JPEG themselves. At most `max_decoded`
// decoded images (at least one batch) are held for lanes at a time, which bounds the device memory they take.
FrontStageFactory JpegDecodeStageFactory(std::shared_ptr<NvJpegDevice> codec, BatcherOptions options,
                                         int max_decoded, std::string device_name);

}  // namespace imgproc
