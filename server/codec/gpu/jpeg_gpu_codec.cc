#include "codec/gpu/jpeg_gpu_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"

namespace imgproc {
namespace {

size_t AlignUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

const unsigned char* Bytes(absl::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

DecodedBatch::DecodedBatch(NvJpegDevice* owner, void* memory, NvJpegDevice::BatchEvents events)
    : owner_(owner), memory_(memory), events_(events) {}

DecodedBatch::~DecodedBatch() {
  // Its readers have finished (see DeviceImage); a batch that nobody read may still be being written.
  cudaEventSynchronize(events_.done);
  owner_->Free(memory_, cudaStreamPerThread);
  owner_->ReturnBatchEvents(events_);
}

float DecodedBatch::ElapsedMs() const {
  float ms = 0;
  if (cudaEventElapsedTime(&ms, events_.start, events_.done) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> JpegEngineClassifier::Create(NvJpegDevice& device) {
  if (device.hardware() == nullptr) return absl::FailedPreconditionError(device.hardware_note());
  return std::unique_ptr<JpegEngineClassifier>(new JpegEngineClassifier(device));
}

JpegEngineClassifier::~JpegEngineClassifier() {
  for (nvjpegJpegStream_t parser : idle_parsers_) nvjpegJpegStreamDestroy(parser);
}

std::optional<EngineJpeg> JpegEngineClassifier::Inspect(absl::string_view jpeg) {
  nvjpegJpegStream_t parser = nullptr;
  {
    MutexLock lock(&mutex_);
    if (!idle_parsers_.empty()) {
      parser = idle_parsers_.back();
      idle_parsers_.pop_back();
    }
  }
  if (parser == nullptr && nvjpegJpegStreamCreate(device_.hardware(), &parser) != NVJPEG_STATUS_SUCCESS) {
    return std::nullopt;  // the lanes decode it
  }
  EngineJpeg taken{jpeg};
  unsigned components = 0;
  int supported = 1;  // nvJPEG's convention: 0 means supported
  const bool takes =
      nvjpegJpegStreamParseHeader(device_.hardware(), Bytes(jpeg), jpeg.size(), parser) == NVJPEG_STATUS_SUCCESS &&
      nvjpegJpegStreamGetComponentsNum(parser, &components) == NVJPEG_STATUS_SUCCESS && components == 3 &&
      nvjpegDecodeBatchedSupported(device_.hardware(), parser, &supported) == NVJPEG_STATUS_SUCCESS && supported == 0 &&
      nvjpegJpegStreamGetFrameDimensions(parser, &taken.width, &taken.height) == NVJPEG_STATUS_SUCCESS &&
      taken.width > 0 && taken.height > 0;
  {
    MutexLock lock(&mutex_);
    idle_parsers_.push_back(parser);
  }
  if (!takes) return std::nullopt;
  return taken;
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegHardwareBatchDecoder>> JpegHardwareBatchDecoder::Create(NvJpegDevice& device) {
  if (device.hardware() == nullptr) return absl::FailedPreconditionError(device.hardware_note());
  std::unique_ptr<JpegHardwareBatchDecoder> d(new JpegHardwareBatchDecoder(device));
  if (absl::Status s = CudaError(cudaSetDevice(device.device()), "cudaSetDevice"); !s.ok()) return s;
  // Non-blocking: no implicit ordering with the legacy default stream that other libraries may use.
  if (absl::Status s = CudaError(cudaStreamCreateWithFlags(&d->stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = NvJpegError(nvjpegJpegStateCreate(device.hardware(), &d->state_), "nvjpegJpegStateCreate");
      !s.ok()) {
    return s;
  }
  return d;
}

JpegHardwareBatchDecoder::~JpegHardwareBatchDecoder() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (state_ != nullptr) nvjpegJpegStateDestroy(state_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

absl::StatusOr<PreparedBatch> JpegHardwareBatchDecoder::Prepare(absl::Span<const EngineJpeg> jpegs) {
  PreparedBatch batch;
  if (jpegs.empty()) return batch;
  std::vector<size_t> pitches, offsets;
  size_t total = 0;
  for (const EngineJpeg& jpeg : jpegs) {
    pitches.push_back(AlignUp(size_t(jpeg.width) * 3, 256));
    offsets.push_back(total);
    total += pitches.back() * jpeg.height;
  }
  absl::StatusOr<NvJpegDevice::BatchEvents> events = device_.TakeBatchEvents();
  if (!events.ok()) return events.status();
  absl::StatusOr<void*> memory = device_.Allocate(total, stream_);
  if (!memory.ok()) {
    device_.ReturnBatchEvents(*events);
    return memory.status();
  }
  batch.shared = std::make_shared<DecodedBatch>(&device_, *memory, *events);
  for (size_t i = 0; i < jpegs.size(); ++i) {
    unsigned char* data = static_cast<unsigned char*>(*memory) + offsets[i];
    batch.images.push_back(std::make_unique<DeviceImage>(
        batch.shared, data, pitches[i], static_cast<int>(jpegs[i].width), static_cast<int>(jpegs[i].height)));
    batch.data.push_back(Bytes(jpegs[i].data));
    batch.lengths.push_back(jpegs[i].data.size());
    nvjpegImage_t destination{};
    destination.channel[0] = data;
    destination.pitch[0] = pitches[i];
    batch.destinations.push_back(destination);
  }
  return batch;
}

absl::Status JpegHardwareBatchDecoder::Run(PreparedBatch& batch) {
  const int n = batch.size();
  if (n == 0) return absl::OkStatus();
  // No wait for other streams here: the pool hands out only memory whose free has completed (NvJpegDevice).
  // But the host waits for this decoder's previous batch: the engine does not follow stream order (see the
  // notes on pytorch/vision#9606; nvImageCodec waits the same way), and batches given to it back to back on one
  // state, once preparing them got fast, left it stuck for good under load on an H100 (the batch thread
  // spinning in nvJPEG, every lane idle). Several batch threads keep the engine fed meanwhile.
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream_), "the previous JPEG engine batch"); !s.ok()) {
    batch.images.clear();
    return s;
  }
  MutexLock engine(&device_.hardware_mutex());
  absl::Status decoded =
      NvJpegError(nvjpegDecodeBatchedInitialize(device_.hardware(), state_, n, 1, NVJPEG_OUTPUT_BGRI),
                  "nvjpegDecodeBatchedInitialize");
  if (decoded.ok()) {
    cudaEventRecord(batch.shared->start(), stream_);
    decoded = NvJpegError(nvjpegDecodeBatched(device_.hardware(), state_, batch.data.data(), batch.lengths.data(),
                                              batch.destinations.data(), stream_),
                          absl::StrCat("hardware decode of a batch of ", n));
  }
  // Recorded in every case, so that `done` (which the batch's destructor waits for, before its events go to
  // another batch) is this batch's, never a completed record left by an earlier one.
  cudaEventRecord(batch.shared->done(), stream_);
  if (!decoded.ok()) batch.images.clear();  // its memory goes back once nvJPEG is done with it
  return decoded;
}

absl::Status JpegHardwareBatchDecoder::WaitUntilDecoded(PreparedBatch& batch) {
  if (batch.shared == nullptr) return absl::OkStatus();
  absl::Status s = CudaError(cudaEventSynchronize(batch.shared->done()), "JPEG engine batch");
  if (!s.ok()) batch.images.clear();
  return s;
}

absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> JpegHardwareBatchDecoder::Decode(
    JpegEngineClassifier& classifier, absl::Span<const absl::string_view> jpegs) {
  std::vector<EngineJpeg> taken;
  for (absl::string_view jpeg : jpegs) {
    std::optional<EngineJpeg> inspected = classifier.Inspect(jpeg);
    if (!inspected) {
      return absl::InvalidArgumentError(
          absl::StrCat("the JPEG engine does not take image ", taken.size(), " of the batch"));
    }
    taken.push_back(*inspected);
  }
  absl::StatusOr<PreparedBatch> batch = Prepare(taken);
  if (!batch.ok()) return batch.status();
  if (absl::Status s = Run(*batch); !s.ok()) return s;
  return std::move(batch->images);
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> JpegCudaDecoder::Create(NvJpegDevice& device) {
  std::unique_ptr<JpegCudaDecoder> d(new JpegCudaDecoder(device.cuda()));
  if (absl::Status s = NvJpegError(nvjpegJpegStateCreate(d->handle_, &d->state_), "nvjpegJpegStateCreate"); !s.ok()) {
    return s;
  }
  return d;
}

JpegCudaDecoder::~JpegCudaDecoder() {
  if (state_ != nullptr) nvjpegJpegStateDestroy(state_);
}

absl::StatusOr<int> JpegCudaDecoder::Decode(absl::string_view jpeg, bool luma_only, cv::cuda::GpuMat& out,
                                            cudaStream_t stream) {
  int components = 0;
  nvjpegChromaSubsampling_t subsampling;
  int widths[NVJPEG_MAX_COMPONENT] = {0}, heights[NVJPEG_MAX_COMPONENT] = {0};
  if (absl::Status s =
          NvJpegError(nvjpegGetImageInfo(handle_, Bytes(jpeg), jpeg.size(), &components, &subsampling, widths, heights),
                      "nvjpegGetImageInfo");
      !s.ok()) {
    return s;
  }
  if (components != 1 && components != 3) {
    // CMYK and YCCK (4 components): nvJPEG's conversion is a plain subtraction that ignores Adobe's inverted
    // storage; libjpeg's is right, so these go to the CPU.
    return absl::InvalidArgumentError(absl::StrCat("JPEG with ", components, " components: decoded on the CPU"));
  }
  const int channels = (luma_only || components == 1) ? 1 : 3;
  out.create(heights[0], widths[0], channels == 1 ? CV_8UC1 : CV_8UC3);
  nvjpegImage_t destination{};
  destination.channel[0] = out.data;
  destination.pitch[0] = out.step;
  if (absl::Status s =
          NvJpegError(nvjpegDecode(handle_, state_, Bytes(jpeg), jpeg.size(),
                                   channels == 1 ? NVJPEG_OUTPUT_Y : NVJPEG_OUTPUT_BGRI, &destination, stream),
                      "nvjpegDecode");
      !s.ok()) {
    return s;
  }
  return channels;
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegStageCudaDecoder>> JpegStageCudaDecoder::Create(NvJpegDevice& device) {
  std::unique_ptr<JpegStageCudaDecoder> d(new JpegStageCudaDecoder(device));
  if (absl::Status s = CudaError(cudaSetDevice(device.device()), "cudaSetDevice"); !s.ok()) return s;
  if (absl::Status s = CudaError(cudaStreamCreateWithFlags(&d->stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = NvJpegError(nvjpegJpegStateCreate(device.cuda(), &d->state_), "nvjpegJpegStateCreate");
      !s.ok()) {
    return s;
  }
  return d;
}

JpegStageCudaDecoder::~JpegStageCudaDecoder() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (state_ != nullptr) nvjpegJpegStateDestroy(state_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

absl::StatusOr<std::unique_ptr<DeviceImage>> JpegStageCudaDecoder::Decode(absl::string_view jpeg, int width,
                                                                          int height) {
  int components = 0;
  nvjpegChromaSubsampling_t subsampling;
  int widths[NVJPEG_MAX_COMPONENT] = {0}, heights[NVJPEG_MAX_COMPONENT] = {0};
  if (absl::Status s = NvJpegError(
          nvjpegGetImageInfo(device_.cuda(), Bytes(jpeg), jpeg.size(), &components, &subsampling, widths, heights),
          "nvjpegGetImageInfo");
      !s.ok()) {
    return s;
  }
  if (components != 3 || widths[0] != width || heights[0] != height) {
    return absl::InvalidArgumentError(absl::StrCat("nvJPEG reads a ", widths[0], "x", heights[0], " JPEG of ",
                                                   components, " components where ", width, "x", height,
                                                   " colour was expected"));
  }
  const size_t pitch = AlignUp(size_t(width) * 3, 256);
  absl::StatusOr<NvJpegDevice::BatchEvents> events = device_.TakeBatchEvents();
  if (!events.ok()) return events.status();
  absl::StatusOr<void*> memory = device_.Allocate(pitch * height, stream_);
  if (!memory.ok()) {
    device_.ReturnBatchEvents(*events);
    return memory.status();
  }
  // A batch of one: the image owns its memory and events, as an engine batch's images share theirs.
  auto shared = std::make_shared<DecodedBatch>(&device_, *memory, *events);
  auto image = std::make_unique<DeviceImage>(shared, static_cast<unsigned char*>(*memory), pitch, width, height);
  nvjpegImage_t destination{};
  destination.channel[0] = static_cast<unsigned char*>(*memory);
  destination.pitch[0] = pitch;
  cudaEventRecord(shared->start(), stream_);
  absl::Status decoded = NvJpegError(
      nvjpegDecode(device_.cuda(), state_, Bytes(jpeg), jpeg.size(), NVJPEG_OUTPUT_BGRI, &destination, stream_),
      "nvjpegDecode");
  // Recorded in every case: the memory goes back only once whatever nvJPEG queued has run.
  cudaEventRecord(shared->done(), stream_);
  if (decoded.ok()) decoded = CudaError(cudaEventSynchronize(shared->done()), "nvJPEG decode");
  if (!decoded.ok()) return decoded;
  return image;
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegGpuEncoder>> JpegGpuEncoder::Create(NvJpegDevice& device, cudaStream_t stream) {
  std::unique_ptr<JpegGpuEncoder> e(new JpegGpuEncoder(device));
  if (absl::Status s =
          NvJpegError(nvjpegEncoderStateCreate(device.cuda(), &e->state_, stream), "nvjpegEncoderStateCreate");
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          NvJpegError(nvjpegEncoderParamsCreate(device.cuda(), &e->params_, stream), "nvjpegEncoderParamsCreate");
      !s.ok()) {
    return s;
  }
  return e;
}

JpegGpuEncoder::~JpegGpuEncoder() {
  if (pinned_ != nullptr) cudaFreeHost(pinned_);
  if (params_ != nullptr) nvjpegEncoderParamsDestroy(params_);
  if (state_ != nullptr) nvjpegEncoderStateDestroy(state_);
}

namespace {

nvjpegChromaSubsampling_t SamplingOf(int channels, ChromaSubsampling chroma) {
  if (channels == 1) return NVJPEG_CSS_GRAY;
  switch (chroma) {
    case ChromaSubsampling::k444: return NVJPEG_CSS_444;
    case ChromaSubsampling::k422: return NVJPEG_CSS_422;
    default: return NVJPEG_CSS_420;
  }
}

// The option nvJPEG was asked for beyond libjpeg's defaults, in the order a refusal is most likely to come from.
const char* FirstNonDefaultOption(const JpegEncodeOptions& options) {
  if (options.progressive) return "progressive";
  if (options.chroma == ChromaSubsampling::k422 || options.chroma == ChromaSubsampling::k444) {
    return "chroma_subsampling";
  }
  if (options.optimize) return "optimize";
  return "";
}

}  // namespace

absl::StatusOr<std::string> JpegGpuEncoder::Encode(const cv::cuda::GpuMat& image, const JpegEncodeOptions& options,
                                                   cudaStream_t stream, const char** refused_option) {
  const int channels = image.channels();
  if (image.depth() != CV_8U || (channels != 1 && channels != 3)) {
    return absl::InternalError(
        absl::StrCat("GPU JPEG encode takes 8-bit 1- or 3-channel images, got type ", image.type()));
  }
  // A setter nvJPEG refuses is an option the CPU encoder then takes; the parameters keep what they had, and the
  // cached value is reset so that the next request sets it again.
  auto refuse = [&](const char* option, const absl::Status& why) -> absl::Status {
    if (refused_option != nullptr) *refused_option = option;
    return absl::UnimplementedError(absl::StrCat("nvJPEG refused ", option, ": ", why.message()));
  };
  if (options.quality != quality_) {
    if (absl::Status s =
            NvJpegError(nvjpegEncoderParamsSetQuality(params_, options.quality, stream), "encoder quality");
        !s.ok()) {
      return s;
    }
    quality_ = options.quality;
  }
  const nvjpegChromaSubsampling_t sampling = SamplingOf(channels, options.chroma);
  if (sampling != sampling_) {
    sampling_ = NVJPEG_CSS_UNKNOWN;
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetSamplingFactors(params_, sampling, stream),
                                     "nvjpegEncoderParamsSetSamplingFactors");
        !s.ok()) {
      return refuse("chroma_subsampling", s);
    }
    sampling_ = sampling;
  }
  const nvjpegJpegEncoding_t encoding =
      options.progressive ? NVJPEG_ENCODING_PROGRESSIVE_DCT_HUFFMAN : NVJPEG_ENCODING_BASELINE_DCT;
  if (encoding != encoding_) {
    encoding_ = NVJPEG_ENCODING_UNKNOWN;
    if (absl::Status s =
            NvJpegError(nvjpegEncoderParamsSetEncoding(params_, encoding, stream), "nvjpegEncoderParamsSetEncoding");
        !s.ok()) {
      return refuse("progressive", s);
    }
    encoding_ = encoding;
  }
  // Progressive scans need tables of their own statistics; libjpeg always optimizes them, and so does this.
  const int optimized = options.optimize || options.progressive ? 1 : 0;
  if (optimized != optimized_huffman_) {
    optimized_huffman_ = -1;
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetOptimizedHuffman(params_, optimized, stream),
                                     "nvjpegEncoderParamsSetOptimizedHuffman");
        !s.ok()) {
      return refuse(options.progressive ? "progressive" : "optimize", s);
    }
    optimized_huffman_ = optimized;
  }
  nvjpegImage_t source{};
  source.channel[0] = const_cast<unsigned char*>(image.ptr<unsigned char>());
  source.pitch[0] = image.step;
  const nvjpegStatus_t status = channels == 3 ? nvjpegEncodeImage(device_.cuda(), state_, params_, &source,
                                                                  NVJPEG_INPUT_BGRI, image.cols, image.rows, stream)
                                              : nvjpegEncodeYUV(device_.cuda(), state_, params_, &source,
                                                                NVJPEG_CSS_GRAY, image.cols, image.rows, stream);
  if ((status == NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED || status == NVJPEG_STATUS_INVALID_PARAMETER) &&
      FirstNonDefaultOption(options)[0] != '\0') {
    cudaGetLastError();
    return refuse(FirstNonDefaultOption(options), NvJpegError(status, "nvjpegEncode"));
  }
  if (absl::Status s = NvJpegError(status, "nvjpegEncode"); !s.ok()) return s;
  // The bitstream's length is known once the encode has run.
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream), "JPEG encode"); !s.ok()) return s;
  size_t length = 0;
  if (absl::Status s = NvJpegError(nvjpegEncodeRetrieveBitstream(device_.cuda(), state_, nullptr, &length, stream),
                                   "bitstream length");
      !s.ok()) {
    return s;
  }
  if (length > pinned_size_ && length <= kMaxPinnedBitstream) {
    // Grows once to past the largest answer so far, so a warm lane allocates nothing here.
    const size_t size = std::min(kMaxPinnedBitstream, std::max(length + length / 4, size_t{1} << 20));
    unsigned char* grown = nullptr;
    if (cudaHostAlloc(reinterpret_cast<void**>(&grown), size, cudaHostAllocDefault) == cudaSuccess) {
      if (pinned_ != nullptr) cudaFreeHost(pinned_);
      pinned_ = grown;
      pinned_size_ = size;
    } else {
      cudaGetLastError();  // no pinned memory to spare: retrieve into the answer directly
    }
  }
  const bool through_pinned = length <= pinned_size_;
  std::string bitstream;
  if (!through_pinned) bitstream.resize(length);
  unsigned char* target = through_pinned ? pinned_ : reinterpret_cast<unsigned char*>(bitstream.data());
  if (absl::Status s =
          NvJpegError(nvjpegEncodeRetrieveBitstream(device_.cuda(), state_, target, &length, stream), "bitstream copy");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream), "bitstream copy"); !s.ok()) return s;
  if (through_pinned) return std::string(reinterpret_cast<const char*>(pinned_), length);
  bitstream.resize(length);
  return bitstream;
}

}  // namespace imgproc
