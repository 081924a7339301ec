#pragma once
// Decoded JPEGs in device memory: the images of one decode (an engine batch, or a batch of one from nvJPEG's CUDA
// decoder) share one allocation and one pair of events, so that a lane on another stream can wait for them.

#include <cstddef>
#include <memory>
#include <opencv2/core/cuda.hpp>

#include "codec/cuda/nvjpeg_device.h"

namespace imgproc {

// The pitch of a decoded BGR row of `width` pixels: rows start on 256-byte boundaries.
inline size_t DecodedPitch(int width) { return (size_t(width) * 3 + 255) / 256 * 256; }

// One batch: the device memory that all its images share and the events bracketing its decode on the decoder's
// stream. Consumers wait on `done`; the two give the batch's GPU time. Freed with the last of its images. One
// allocation and one (reused) pair of events per batch rather than per image, because the batch thread is the
// decode stage's bottleneck (BENCHMARKS.md, "The decode stage under load, by phase").
class DecodedBatch {
 public:
  DecodedBatch(NvJpegDevice* owner, void* memory, NvJpegDevice::BatchEvents events);
  ~DecodedBatch();  // waits for the decode (a batch nobody read), then frees
  DecodedBatch(const DecodedBatch&) = delete;
  DecodedBatch& operator=(const DecodedBatch&) = delete;
  cudaEvent_t start() const { return events_.start.get(); }
  cudaEvent_t done() const { return events_.done.get(); }
  // GPU milliseconds from start to done; only once `done` has completed.
  float ElapsedMs() const;

 private:
  NvJpegDevice* owner_;
  void* memory_;
  NvJpegDevice::BatchEvents events_;
};

// A decoded BGR image in its batch's memory. A consumer on another stream waits on `batch().done()` before
// reading, and destroys the image only once its reads have completed (its stream synchronised): the memory
// may then go to another batch.
class DeviceImage {
 public:
  DeviceImage(std::shared_ptr<DecodedBatch> batch, unsigned char* data, size_t pitch, int width, int height)
      : batch_(std::move(batch)), data_(data), pitch_(pitch), width_(width), height_(height) {}
  DeviceImage(const DeviceImage&) = delete;
  DeviceImage& operator=(const DeviceImage&) = delete;

  cv::cuda::GpuMat view() const { return cv::cuda::GpuMat(height_, width_, CV_8UC3, data_, pitch_); }
  const DecodedBatch& batch() const { return *batch_; }

 private:
  std::shared_ptr<DecodedBatch> batch_;
  unsigned char* data_;
  size_t pitch_;
  int width_, height_;
};

}  // namespace imgproc
