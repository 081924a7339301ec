#pragma once
// JPEG on the GPU with nvJPEG: batched decode on the hardware JPEG engine, single-image decode on the SMs
// (nvJPEG's CUDA/hybrid decoder, for what the engine does not take), and encode. Each object holds nvJPEG
// state that one thread at a time may use (nvJPEG's thread-safety rules): one batch decoder per batcher
// thread, one JpegCudaDecoder and one JpegGpuEncoder per lane.

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/cuda.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "codec/gpu/nvjpeg_device.h"

namespace imgproc {

// Events bracketing one batch on the decoder's stream: consumers wait on `done`; the two give the batch's
// GPU time. Destroyed when the last image of the batch is released.
class BatchEvents {
 public:
  BatchEvents();
  ~BatchEvents();
  BatchEvents(const BatchEvents&) = delete;
  BatchEvents& operator=(const BatchEvents&) = delete;
  cudaEvent_t start = nullptr;
  cudaEvent_t done = nullptr;
  // GPU milliseconds from start to done; only once `done` has completed.
  float ElapsedMs() const;
};

// A decoded BGR image in memory of the device's stream-ordered pool. A consumer on another stream waits on
// `events->done` before reading, and hands the memory back on its own stream with ReleaseOn once its reads
// are queued (stream order keeps the memory valid until they ran).
class DeviceImage {
 public:
  DeviceImage(NvJpegDevice* owner, void* data, size_t pitch, int width, int height,
              std::shared_ptr<BatchEvents> events);
  ~DeviceImage();  // frees on the stream given to ReleaseOn, or on the decoder's after waiting for it
  DeviceImage(const DeviceImage&) = delete;
  DeviceImage& operator=(const DeviceImage&) = delete;

  cv::cuda::GpuMat view() const;
  const std::shared_ptr<BatchEvents>& events() const { return events_; }
  void ReleaseOn(cudaStream_t stream);

 private:
  NvJpegDevice* owner_;
  void* data_;
  size_t pitch_;
  int width_, height_;
  std::shared_ptr<BatchEvents> events_;
};

class JpegHardwareBatchDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegHardwareBatchDecoder>> Create(NvJpegDevice& device);
  ~JpegHardwareBatchDecoder();

  // Whether the engine takes this JPEG, from its header (nvjpegDecodeBatchedSupported): baseline Huffman,
  // 8-bit, 3 components in the subsamplings the engine implements. Cheap: parses markers, no entropy data.
  bool Supports(absl::string_view jpeg);

  // Decodes every input to BGR. nvJPEG reports one status per call, so the batch succeeds or fails as a
  // whole; the caller retries the members of a failed batch one by one elsewhere.
  absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> Decode(absl::Span<const absl::string_view> jpegs);

 private:
  explicit JpegHardwareBatchDecoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  cudaStream_t stream_ = nullptr;
  nvjpegJpegState_t state_ = nullptr;
  nvjpegJpegStream_t parser_ = nullptr;
};

class JpegCudaDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> Create(NvJpegDevice& device);
  ~JpegCudaDecoder();

  // Decodes into `out` on `stream`: BGR, or luma (as libjpeg's grayscale output) when `luma_only` or the JPEG
  // has one component; returns the channels written (3 or 1). INVALID_ARGUMENT for what nvJPEG cannot decode
  // (12-bit, arithmetic coding, CMYK, corrupt data): the caller then tries the CPU decoder.
  absl::StatusOr<int> Decode(absl::string_view jpeg, bool luma_only, cv::cuda::GpuMat& out, cudaStream_t stream);

 private:
  explicit JpegCudaDecoder(nvjpegHandle_t handle) : handle_(handle) {}
  nvjpegHandle_t handle_;
  nvjpegJpegState_t state_ = nullptr;
};

class JpegGpuEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegGpuEncoder>> Create(NvJpegDevice& device, cudaStream_t stream);
  ~JpegGpuEncoder();

  // Encodes an 8-bit 1- or 3-channel image at `quality` (4:2:0 for colour, as libjpeg's default), waits for
  // the stream, and returns only the bitstream, copied straight into the answer.
  absl::StatusOr<std::string> Encode(const cv::cuda::GpuMat& image, int quality, cudaStream_t stream);

 private:
  explicit JpegGpuEncoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  nvjpegEncoderState_t state_ = nullptr;
  nvjpegEncoderParams_t params_ = nullptr;
  int quality_ = -1;
  int channels_ = -1;
};

}  // namespace imgproc
