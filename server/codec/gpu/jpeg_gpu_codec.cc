#include "codec/gpu/jpeg_gpu_codec.h"

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

size_t AlignUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

const unsigned char* Bytes(absl::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

BatchEvents::BatchEvents() {
  cudaEventCreate(&start);
  cudaEventCreate(&done);
}

BatchEvents::~BatchEvents() {
  // Legal while the events are still pending: the driver frees them once they complete.
  cudaEventDestroy(start);
  cudaEventDestroy(done);
}

float BatchEvents::ElapsedMs() const {
  float ms = 0;
  if (cudaEventElapsedTime(&ms, start, done) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return ms;
}

DeviceImage::DeviceImage(NvJpegDevice* owner, void* data, size_t pitch, int width, int height,
                         std::shared_ptr<BatchEvents> events)
    : owner_(owner), data_(data), pitch_(pitch), width_(width), height_(height), events_(std::move(events)) {}

DeviceImage::~DeviceImage() {
  if (data_ == nullptr) return;
  // Never consumed (the request expired or was cancelled after decoding): wait for the decode that writes
  // it, then hand it back in stream order on this thread's stream.
  cudaEventSynchronize(events_->done);
  owner_->Free(data_, cudaStreamPerThread);
}

cv::cuda::GpuMat DeviceImage::view() const { return cv::cuda::GpuMat(height_, width_, CV_8UC3, data_, pitch_); }

void DeviceImage::ReleaseOn(cudaStream_t stream) {
  owner_->Free(data_, stream);
  data_ = nullptr;
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
  if (absl::Status s = NvJpegError(nvjpegJpegStreamCreate(device.hardware(), &d->parser_), "nvjpegJpegStreamCreate");
      !s.ok()) {
    return s;
  }
  return d;
}

JpegHardwareBatchDecoder::~JpegHardwareBatchDecoder() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (parser_ != nullptr) nvjpegJpegStreamDestroy(parser_);
  if (state_ != nullptr) nvjpegJpegStateDestroy(state_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

bool JpegHardwareBatchDecoder::Supports(absl::string_view jpeg) {
  if (nvjpegJpegStreamParseHeader(device_.hardware(), Bytes(jpeg), jpeg.size(), parser_) != NVJPEG_STATUS_SUCCESS) {
    return false;
  }
  unsigned components = 0;
  int supported = 1;  // nvJPEG's convention: 0 means supported
  return nvjpegJpegStreamGetComponentsNum(parser_, &components) == NVJPEG_STATUS_SUCCESS && components == 3 &&
         nvjpegDecodeBatchedSupported(device_.hardware(), parser_, &supported) == NVJPEG_STATUS_SUCCESS &&
         supported == 0;
}

absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> JpegHardwareBatchDecoder::Decode(
    absl::Span<const absl::string_view> jpegs) {
  const int n = static_cast<int>(jpegs.size());
  std::vector<const unsigned char*> data(n);
  std::vector<size_t> lengths(n);
  std::vector<nvjpegImage_t> destinations(n);
  std::vector<std::unique_ptr<DeviceImage>> images;
  images.reserve(n);
  auto events = std::make_shared<BatchEvents>();
  for (int i = 0; i < n; ++i) {
    int components = 0;
    nvjpegChromaSubsampling_t subsampling;
    int widths[NVJPEG_MAX_COMPONENT] = {0}, heights[NVJPEG_MAX_COMPONENT] = {0};
    data[i] = Bytes(jpegs[i]);
    lengths[i] = jpegs[i].size();
    if (absl::Status s = NvJpegError(nvjpegGetImageInfo(device_.hardware(), data[i], lengths[i], &components,
                                                        &subsampling, widths, heights),
                                     "nvjpegGetImageInfo");
        !s.ok()) {
      return s;  // `images` frees what was taken, in stream order
    }
    const size_t pitch = AlignUp(size_t(widths[0]) * 3, 256);
    absl::StatusOr<void*> memory = device_.Allocate(pitch * heights[0], stream_);
    if (!memory.ok()) return memory.status();
    images.push_back(std::make_unique<DeviceImage>(&device_, *memory, pitch, widths[0], heights[0], events));
    destinations[i] = nvjpegImage_t{};
    destinations[i].channel[0] = static_cast<unsigned char*>(*memory);
    destinations[i].pitch[0] = pitch;
  }
  // No wait for other streams here: the pool hands out only memory whose free has completed (NvJpegDevice).
  std::lock_guard<std::mutex> engine(device_.hardware_mutex());
  if (absl::Status s = NvJpegError(nvjpegDecodeBatchedInitialize(device_.hardware(), state_, n, 1, NVJPEG_OUTPUT_BGRI),
                                   "nvjpegDecodeBatchedInitialize");
      !s.ok()) {
    return s;
  }
  cudaEventRecord(events->start, stream_);
  absl::Status decoded = NvJpegError(
      nvjpegDecodeBatched(device_.hardware(), state_, data.data(), lengths.data(), destinations.data(), stream_),
      absl::StrCat("hardware decode of a batch of ", n));
  cudaEventRecord(events->done, stream_);
  if (!decoded.ok()) {
    for (auto& image : images) image->ReleaseOn(stream_);
    return decoded;
  }
  return images;
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
  if (absl::Status s = NvJpegError(
          nvjpegGetImageInfo(handle_, Bytes(jpeg), jpeg.size(), &components, &subsampling, widths, heights),
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
  if (absl::Status s = NvJpegError(nvjpegDecode(handle_, state_, Bytes(jpeg), jpeg.size(),
                                                channels == 1 ? NVJPEG_OUTPUT_Y : NVJPEG_OUTPUT_BGRI, &destination,
                                                stream),
                                   "nvjpegDecode");
      !s.ok()) {
    return s;
  }
  return channels;
}

// ---------------------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<JpegGpuEncoder>> JpegGpuEncoder::Create(NvJpegDevice& device, cudaStream_t stream) {
  std::unique_ptr<JpegGpuEncoder> e(new JpegGpuEncoder(device));
  if (absl::Status s = NvJpegError(nvjpegEncoderStateCreate(device.cuda(), &e->state_, stream),
                                   "nvjpegEncoderStateCreate");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = NvJpegError(nvjpegEncoderParamsCreate(device.cuda(), &e->params_, stream),
                                   "nvjpegEncoderParamsCreate");
      !s.ok()) {
    return s;
  }
  return e;
}

JpegGpuEncoder::~JpegGpuEncoder() {
  if (params_ != nullptr) nvjpegEncoderParamsDestroy(params_);
  if (state_ != nullptr) nvjpegEncoderStateDestroy(state_);
}

absl::StatusOr<std::string> JpegGpuEncoder::Encode(const cv::cuda::GpuMat& image, int quality, cudaStream_t stream) {
  const int channels = image.channels();
  if (image.depth() != CV_8U || (channels != 1 && channels != 3)) {
    return absl::InternalError(absl::StrCat("GPU JPEG encode takes 8-bit 1- or 3-channel images, got type ", image.type()));
  }
  if (quality != quality_) {
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetQuality(params_, quality, stream), "encoder quality");
        !s.ok()) {
      return s;
    }
    quality_ = quality;
  }
  if (channels != channels_) {
    if (absl::Status s = NvJpegError(
            nvjpegEncoderParamsSetSamplingFactors(params_, channels == 1 ? NVJPEG_CSS_GRAY : NVJPEG_CSS_420, stream),
            "encoder sampling factors");
        !s.ok()) {
      return s;
    }
    channels_ = channels;
  }
  nvjpegImage_t source{};
  source.channel[0] = const_cast<unsigned char*>(image.ptr<unsigned char>());
  source.pitch[0] = image.step;
  const nvjpegStatus_t status =
      channels == 3 ? nvjpegEncodeImage(device_.cuda(), state_, params_, &source, NVJPEG_INPUT_BGRI, image.cols,
                                        image.rows, stream)
                    : nvjpegEncodeYUV(device_.cuda(), state_, params_, &source, NVJPEG_CSS_GRAY, image.cols,
                                      image.rows, stream);
  if (absl::Status s = NvJpegError(status, "nvjpegEncode"); !s.ok()) return s;
  // The bitstream's length is known once the encode has run.
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream), "JPEG encode"); !s.ok()) return s;
  size_t length = 0;
  if (absl::Status s = NvJpegError(nvjpegEncodeRetrieveBitstream(device_.cuda(), state_, nullptr, &length, stream),
                                   "bitstream length");
      !s.ok()) {
    return s;
  }
  std::string bitstream(length, '\0');
  if (absl::Status s = NvJpegError(nvjpegEncodeRetrieveBitstream(device_.cuda(), state_,
                                                                 reinterpret_cast<unsigned char*>(bitstream.data()),
                                                                 &length, stream),
                                   "bitstream copy");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream), "bitstream copy"); !s.ok()) return s;
  bitstream.resize(length);
  return bitstream;
}

}  // namespace imgproc
