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
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// A job's input as the decode stage left it: decoded, in device memory, ready once its batch's event is.
struct GpuStagedImage final : StagedInput {
  std::unique_ptr<DeviceImage> image;
};

// Null when the device has no JPEG engine: then the lanes decode every JPEG themselves.
FrontStageFactory JpegDecodeStageFactory(std::shared_ptr<NvJpegDevice> codec, BatcherOptions options,
                                         std::string device_name);

}  // namespace imgproc
