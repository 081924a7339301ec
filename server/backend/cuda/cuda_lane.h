#pragma once
// A CUDA lane: one worker's cv::cuda::Stream, the device and pinned buffers it reuses, and its nvJPEG decoder
// and encoder state.

#include <memory>

#include "backend/cuda/cuda_codec_options.h"
#include "codec/cuda/nvjpeg_device.h"
#include "core/device.h"
#include "core/lane.h"

namespace imgproc {

// `codec` may be null (no nvJPEG): then every image is decoded and encoded on the CPU; `options.cuda_decode` and
// `options.cuda_encode` say whether the lane decodes and encodes JPEGs with nvJPEG. A lane whose request meets a
// sticky CUDA error answers it with DeviceFailedError (core/device.h), which takes the device out of service.
LaneFactory CudaLaneFactory(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options);

}  // namespace imgproc
