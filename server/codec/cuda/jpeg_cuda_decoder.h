#pragma once
// Single-image JPEG decode with nvJPEG's CUDA decoder (Huffman on the host, the rest on the SMs), for what the
// JPEG engine does not take. Each object holds nvJPEG state that one thread at a time may use (nvJPEG's
// thread-safety rules): one JpegCudaDecoder per lane, one JpegStageCudaDecoder per decode-stage thread.

#include <memory>
#include <opencv2/core/cuda.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/cuda/cuda_handles.h"
#include "codec/cuda/decoded_batch.h"
#include "codec/cuda/nvjpeg_device.h"

namespace imgproc {

// A lane's decoder, on the lane's stream and into the lane's buffer.
class JpegCudaDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> Create(NvJpegDevice& device);

  // Decodes into `out` on `stream`: BGR, or luma (as libjpeg's grayscale output) when `luma_only` or the JPEG
  // has one component; returns the channels written (3 or 1). INVALID_ARGUMENT for what nvJPEG cannot decode
  // (12-bit, arithmetic coding, CMYK, corrupt data): the caller then tries the CPU decoder.
  absl::StatusOr<int> Decode(absl::string_view jpeg, bool luma_only, cv::cuda::GpuMat& out, cudaStream_t stream);

 private:
  explicit JpegCudaDecoder(nvjpegHandle_t handle) : handle_(handle) {}
  nvjpegHandle_t handle_;
  NvJpegState state_;
};

// The decode stage's decoder: one colour JPEG at a time into device memory of its own, so that JPEGs the engine
// does not take (progressive) are decoded beside the lanes instead of on them. Its own stream and nvJPEG state.
class JpegStageCudaDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegStageCudaDecoder>> Create(NvJpegDevice& device);
  ~JpegStageCudaDecoder();

  // BGR, `width` x `height` (what the plan predicts), into memory that the image owns; returns once it is
  // written. INVALID_ARGUMENT when nvJPEG cannot decode it or it is not a 3-component JPEG of that size.
  absl::StatusOr<std::unique_ptr<DeviceImage>> Decode(absl::string_view jpeg, int width, int height);

 private:
  explicit JpegStageCudaDecoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  CudaStream stream_;
  NvJpegState state_;  // used by the work queued on stream_
};

// The decode stage's decoder for baseline colour JPEGs beside the engine: nvJPEG's decoupled API with its
// GPU_HYBRID backend, whose Huffman decoding runs on the SMs rather than on the host, so that the share of JPEGs
// that the engine cannot keep up with costs the host little (the notes' "How DALI splits work": DALI sends images
// above a million pixels to this backend). Its own stream, nvJPEG state and buffers, as nvJPEG's thread-safety rules
// ask of each thread. nvJPEG's known issues say this decoder may decode a stream with out-of-bound run-length codes
// wrongly rather than fail: a corrupt JPEG can come back as wrong pixels, as from a lenient CPU decoder.
class JpegGpuHuffmanDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegGpuHuffmanDecoder>> Create(NvJpegDevice& device);
  ~JpegGpuHuffmanDecoder();

  // As JpegStageCudaDecoder::Decode; INVALID_ARGUMENT also for a JPEG that the backend does not take.
  absl::StatusOr<std::unique_ptr<DeviceImage>> Decode(absl::string_view jpeg, int width, int height);

 private:
  explicit JpegGpuHuffmanDecoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  // Declared in the order they are made: the state goes before the buffers attached to it and the decoder it
  // came from.
  CudaStream stream_;
  NvJpegDecoder decoder_;
  NvJpegPinnedBuffer pinned_;
  NvJpegDeviceBuffer device_buffer_;
  NvJpegState state_;  // used by the work queued on stream_
  NvJpegDecodeParams params_;
  NvJpegParser parser_;
};

}  // namespace imgproc
