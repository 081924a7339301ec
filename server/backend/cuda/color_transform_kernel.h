#pragma once
// Colour conversion to sRGB on the device (issue 29 item 3): the kernel that applies a ColorDeviceForm's tables
// (codec/color_device_form.h) to an 8-bit image. Only CUDA's and our own plain headers here: nvcc compiles it.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "codec/color_device_math.h"

namespace imgproc {

// Queues on `stream` the conversion of `src` into `dst` (same size, 8-bit, `channels` of them: what
// ColorDeviceForm::Accepts takes; a fourth channel is copied). `tables` point to device memory. Returns the launch's
// error.
cudaError_t LaunchColorTransform(ColorDeviceKind kind, const ColorTablesView& tables, const uint8_t* src,
                                 size_t src_step, uint8_t* dst, size_t dst_step, int width, int height, int channels,
                                 cudaStream_t stream);

}  // namespace imgproc
