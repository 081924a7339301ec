#pragma once
// The CUDA backend's decode stage: JPEGs that the GPU's hardware JPEG engine takes are decoded together,
// across concurrent requests, in batches formed by a DynamicBatcher (--decode_max_batch,
// --decode_max_delay_us); each decoded image goes on to a lane with its job. What the engine does not take
// (progressive, 4:1:1, CMYK, other formats), and every member of a batch that nvJPEG failed as a whole,
// reaches the lanes undecoded and is decoded there alone: on the SMs with nvJPEG, else on the CPU. So a bad
// image in a batch fails only its own request.

#include <memory>
#include <string>

#include "codec/gpu/jpeg_gpu_codec.h"
#include "scheduler/counted_budget.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Decoded images that no lane has finished with, bounded: when lanes fall behind, the stage waits instead of
// decoding ahead into device memory, and its queue grows into full batches meanwhile.
using DecodedImageBudget = CountedBudget;

// A job's input as the decode stage left it: decoded, in device memory, ready once its batch's `done` is.
class GpuStagedImage final : public StagedInput {
 public:
  GpuStagedImage(std::unique_ptr<DeviceImage> image, std::shared_ptr<DecodedImageBudget> budget)
      : image_(std::move(image)), budget_(std::move(budget)) {}
  ~GpuStagedImage() override { Release(); }
  const DeviceImage& image() const { return *image_; }
  // Once the lane's reads of the image have completed: its memory may go to a later batch, and the stage may
  // decode one more image.
  void Release() {
    if (image_ == nullptr) return;
    image_.reset();
    budget_->Release();
  }

 private:
  std::unique_ptr<DeviceImage> image_;
  std::shared_ptr<DecodedImageBudget> budget_;
};

struct DecodeStageOptions {
  BatcherOptions batching;
  // At most this many decoded images (at least one batch) are held for lanes at a time, which bounds the
  // device memory they take.
  int max_decoded = 128;
  // Smaller JPEGs skip the batcher and decode in their lane (nvJPEG on the SMs): for them the wait for a
  // batch costs more than the decode. On an H100, 256x256 JPEGs (W4) went 11,286-12,138 images/s that way
  // against 9,494-9,694 through engine batches.
  int64_t min_pixels = 100'000;
};

// Null when the device has no JPEG engine: then the lanes decode every JPEG themselves.
FrontStageFactory JpegDecodeStageFactory(std::shared_ptr<NvJpegDevice> codec, DecodeStageOptions options,
                                         std::string device_name);

}  // namespace imgproc
