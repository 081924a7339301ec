#pragma once
// JPEG on the GPU with nvJPEG: batched decode on the hardware JPEG engine, single-image decode on the SMs
// (nvJPEG's CUDA/hybrid decoder, for what the engine does not take), and encode. Each object holds nvJPEG
// state that one thread at a time may use (nvJPEG's thread-safety rules): one batch decoder per batcher
// thread, one JpegStageCudaDecoder per decode-stage thread, one JpegCudaDecoder and one JpegGpuEncoder per lane.

#include <memory>
#include <opencv2/core/cuda.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "codec/encode_options.h"
#include "codec/gpu/nvjpeg_device.h"
#include "common/mutex.h"

namespace imgproc {

// One engine batch: the device memory that all its images share and the events bracketing its decode on the
// decoder's stream. Consumers wait on `done`; the two give the batch's GPU time. Freed with the last of its
// images. One allocation and one (reused) pair of events per batch rather than per image, because the batch
// thread is the decode stage's bottleneck: under load on an H100 it spent ~10 us per image allocating per
// image, ~160 us per image creating events per batch and ~350 us per image in the engine call.
class DecodedBatch {
 public:
  DecodedBatch(NvJpegDevice* owner, void* memory, NvJpegDevice::BatchEvents events);
  ~DecodedBatch();  // waits for the decode (a batch nobody read), then frees
  DecodedBatch(const DecodedBatch&) = delete;
  DecodedBatch& operator=(const DecodedBatch&) = delete;
  cudaEvent_t start() const { return events_.start; }
  cudaEvent_t done() const { return events_.done; }
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

// A JPEG that the engine takes, with its frame size, as JpegEngineClassifier found it.
struct EngineJpeg {
  absl::string_view data;
  unsigned width = 0;
  unsigned height = 0;
};

// Which JPEGs the engine takes, from the header alone (nvjpegDecodeBatchedSupported): baseline Huffman, 8-bit,
// 3 components in the subsamplings the engine implements. Parses markers, no entropy data (~40 us for a
// photo). Safe to call from any thread, so that request threads classify their own inputs: on the batch
// thread, which the whole decode stage waits on, it took ~80 us per image under load.
class JpegEngineClassifier {
 public:
  static absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> Create(NvJpegDevice& device);
  ~JpegEngineClassifier();
  std::optional<EngineJpeg> Inspect(absl::string_view jpeg);

 private:
  explicit JpegEngineClassifier(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  Mutex mutex_;
  std::vector<nvjpegJpegStream_t> idle_parsers_ ABSL_GUARDED_BY(mutex_);  // one more is made when all are busy
};

// A batch given its output memory, ready for the engine: what Prepare leaves for Run.
struct PreparedBatch {
  std::vector<std::unique_ptr<DeviceImage>> images;  // one per input, in input order
  std::vector<const unsigned char*> data;
  std::vector<size_t> lengths;
  std::vector<nvjpegImage_t> destinations;
  std::shared_ptr<DecodedBatch> shared;  // the images' memory and events; null for an empty batch
  int size() const { return static_cast<int>(data.size()); }
};

class JpegHardwareBatchDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegHardwareBatchDecoder>> Create(NvJpegDevice& device);
  ~JpegHardwareBatchDecoder();

  // Gives each JPEG (one the classifier accepted) device memory for its BGR output. The inputs' data must
  // outlive Run.
  absl::StatusOr<PreparedBatch> Prepare(absl::Span<const EngineJpeg> jpegs);
  // Decodes the prepared batch on the engine. nvJPEG reports one status per call, so the batch succeeds or
  // fails as a whole; the caller retries the members of a failed batch one by one elsewhere.
  absl::Status Run(PreparedBatch& batch);
  // Waits on the host until the engine has written the batch: INVALID_ARGUMENT or INTERNAL if it failed late.
  absl::Status WaitUntilDecoded(PreparedBatch& batch);
  // Classify, Prepare and Run; INVALID_ARGUMENT unless the engine takes every input.
  absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> Decode(JpegEngineClassifier& classifier,
                                                                   absl::Span<const absl::string_view> jpegs);

 private:
  explicit JpegHardwareBatchDecoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  cudaStream_t stream_ = nullptr;
  nvjpegJpegState_t state_ = nullptr;
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

// nvJPEG's CUDA decoder for the decode stage: one colour JPEG at a time into device memory of its own, so that
// JPEGs the engine does not take (progressive: Huffman decoding on the calling thread, the rest on the SMs) are
// decoded beside the lanes instead of on them. One thread at a time; its own stream and nvJPEG state.
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
  cudaStream_t stream_ = nullptr;
  nvjpegJpegState_t state_ = nullptr;
};

class JpegGpuEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegGpuEncoder>> Create(NvJpegDevice& device, cudaStream_t stream);
  ~JpegGpuEncoder();

  // Encodes an 8-bit 1- or 3-channel image with `options` (by default 4:2:0 baseline for colour, as libjpeg's
  // default), waits for the stream, and returns only the bitstream, copied straight into the answer. nvJPEG
  // takes each option (nvjpegEncoderParamsSetSamplingFactors, SetEncoding with PROGRESSIVE_DCT_HUFFMAN,
  // SetOptimizedHuffman, which progressive also sets, as libjpeg does); where this library refuses one (an error
  // from its setter, or IMPLEMENTATION_NOT_SUPPORTED / INVALID_PARAMETER from the encode with it set), the answer is
  // UNIMPLEMENTED and `refused_option` (when given) names it ("progressive", "chroma_subsampling", "optimize"): the
  // lane then encodes on the CPU.
  absl::StatusOr<std::string> Encode(const cv::cuda::GpuMat& image, const JpegEncodeOptions& options,
                                     cudaStream_t stream, const char** refused_option = nullptr);
  // The default options (4:2:0 for colour, baseline, standard tables) at `quality`: the codec bench and its test.
  absl::StatusOr<std::string> Encode(const cv::cuda::GpuMat& image, int quality, cudaStream_t stream) {
    JpegEncodeOptions options;
    options.quality = quality;
    return Encode(image, options, stream);
  }

 private:
  explicit JpegGpuEncoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  nvjpegEncoderState_t state_ = nullptr;
  nvjpegEncoderParams_t params_ = nullptr;
  // The bitstream comes back through pinned memory: retrieved into pageable memory it cost a lane ~2.2 ms of
  // host time per W1 answer on an H200, into pinned ~0.6 ms. Grows to the largest bitstream seen, up to
  // kMaxPinnedBitstream; larger ones are retrieved straight into the answer.
  static constexpr size_t kMaxPinnedBitstream = size_t{32} << 20;
  unsigned char* pinned_ = nullptr;
  size_t pinned_size_ = 0;
  int quality_ = -1;
  nvjpegChromaSubsampling_t sampling_ = NVJPEG_CSS_UNKNOWN;
  nvjpegJpegEncoding_t encoding_ = NVJPEG_ENCODING_UNKNOWN;
  int optimized_huffman_ = -1;
};

}  // namespace imgproc
