#include "codec/cuda/jpeg_cuda_decoder.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace imgproc {

namespace {

// Device memory of its own, and the events, for one decoded BGR image: a batch of one, so that the image owns them
// as an engine batch's images share theirs.
struct SingleImageTarget {
  std::shared_ptr<DecodedBatch> shared;
  std::unique_ptr<DeviceImage> image;
  nvjpegImage_t destination{};
};

absl::StatusOr<SingleImageTarget> SingleImageTargetFor(NvJpegDevice& device, int width, int height,
                                                       cudaStream_t stream) {
  const size_t pitch = DecodedPitch(width);
  IMGPROC_ASSIGN_OR_RETURN(NvJpegDevice::BatchEvents events, device.TakeBatchEvents());
  absl::StatusOr<void*> memory = device.Allocate(pitch * height, stream);
  if (!memory.ok()) {
    device.ReturnBatchEvents(std::move(events));
    return memory.status();
  }
  SingleImageTarget target;
  target.shared = std::make_shared<DecodedBatch>(&device, *memory, std::move(events));
  target.image =
      std::make_unique<DeviceImage>(target.shared, static_cast<unsigned char*>(*memory), pitch, width, height);
  target.destination.channel[0] = static_cast<unsigned char*>(*memory);
  target.destination.pitch[0] = pitch;
  return target;
}

absl::Status CheckColourFrame(int components, int frame_width, int frame_height, int width, int height) {
  if (components == 3 && frame_width == width && frame_height == height) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("nvJPEG reads a ", frame_width, "x", frame_height, " JPEG of ",
                                                 components, " components where ", width, "x", height,
                                                 " colour was expected"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> JpegCudaDecoder::Create(NvJpegDevice& device) {
  std::unique_ptr<JpegCudaDecoder> d(new JpegCudaDecoder(device.cuda()));
  nvjpegJpegState_t state = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStateCreate(d->handle_, &state), "nvjpegJpegStateCreate"));
  d->state_.reset(state);
  return d;
}

absl::StatusOr<int> JpegCudaDecoder::Decode(absl::string_view jpeg, bool luma_only, cv::cuda::GpuMat& out,
                                            cudaStream_t stream) {
  int components = 0;
  nvjpegChromaSubsampling_t subsampling;
  int widths[NVJPEG_MAX_COMPONENT] = {0}, heights[NVJPEG_MAX_COMPONENT] = {0};
  IMGPROC_RETURN_IF_ERROR(NvJpegError(
      nvjpegGetImageInfo(handle_, NvJpegBytes(jpeg), jpeg.size(), &components, &subsampling, widths, heights),
      "nvjpegGetImageInfo"));
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
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegDecode(handle_, state_.get(), NvJpegBytes(jpeg), jpeg.size(),
                               channels == 1 ? NVJPEG_OUTPUT_Y : NVJPEG_OUTPUT_BGRI, &destination, stream),
                  "nvjpegDecode"));
  return channels;
}

absl::StatusOr<std::unique_ptr<JpegStageCudaDecoder>> JpegStageCudaDecoder::Create(NvJpegDevice& device) {
  std::unique_ptr<JpegStageCudaDecoder> d(new JpegStageCudaDecoder(device));
  IMGPROC_ASSIGN_OR_RETURN(d->stream_, device.CreateStream());
  nvjpegJpegState_t state = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStateCreate(device.cuda(), &state), "nvjpegJpegStateCreate"));
  d->state_.reset(state);
  return d;
}

JpegStageCudaDecoder::~JpegStageCudaDecoder() {
  // The state goes first, once the decode queued with it has run.
  if (stream_ != nullptr) cudaStreamSynchronize(stream_.get());
}

absl::StatusOr<std::unique_ptr<DeviceImage>> JpegStageCudaDecoder::Decode(absl::string_view jpeg, int width,
                                                                          int height) {
  int components = 0;
  nvjpegChromaSubsampling_t subsampling;
  int widths[NVJPEG_MAX_COMPONENT] = {0}, heights[NVJPEG_MAX_COMPONENT] = {0};
  IMGPROC_RETURN_IF_ERROR(NvJpegError(
      nvjpegGetImageInfo(device_.cuda(), NvJpegBytes(jpeg), jpeg.size(), &components, &subsampling, widths, heights),
      "nvjpegGetImageInfo"));
  IMGPROC_RETURN_IF_ERROR(CheckColourFrame(components, widths[0], heights[0], width, height));
  IMGPROC_ASSIGN_OR_RETURN(SingleImageTarget target, SingleImageTargetFor(device_, width, height, stream_.get()));
  cudaEventRecord(target.shared->start(), stream_.get());
  absl::Status decoded = NvJpegError(nvjpegDecode(device_.cuda(), state_.get(), NvJpegBytes(jpeg), jpeg.size(),
                                                  NVJPEG_OUTPUT_BGRI, &target.destination, stream_.get()),
                                     "nvjpegDecode");
  // Recorded in every case: the memory goes back only once whatever nvJPEG queued has run.
  cudaEventRecord(target.shared->done(), stream_.get());
  if (decoded.ok()) decoded = CudaError(cudaEventSynchronize(target.shared->done()), "nvJPEG decode");
  IMGPROC_RETURN_IF_ERROR(decoded);
  return std::move(target.image);
}

absl::StatusOr<std::unique_ptr<JpegGpuHuffmanDecoder>> JpegGpuHuffmanDecoder::Create(NvJpegDevice& device) {
  std::unique_ptr<JpegGpuHuffmanDecoder> d(new JpegGpuHuffmanDecoder(device));
  IMGPROC_ASSIGN_OR_RETURN(d->stream_, device.CreateStream());
  const nvjpegHandle_t handle = device.cuda();
  nvjpegJpegDecoder_t decoder = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegDecoderCreate(handle, NVJPEG_BACKEND_GPU_HYBRID, &decoder),
                                      "nvjpegDecoderCreate(NVJPEG_BACKEND_GPU_HYBRID)"));
  d->decoder_.reset(decoder);
  nvjpegBufferPinned_t pinned = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegBufferPinnedCreateV2(handle, device.pinned_allocator(), &pinned),
                                      "nvjpegBufferPinnedCreateV2"));
  d->pinned_.reset(pinned);
  nvjpegBufferDevice_t device_buffer = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegBufferDeviceCreateV2(handle, device.device_allocator(), &device_buffer),
                                      "nvjpegBufferDeviceCreateV2"));
  d->device_buffer_.reset(device_buffer);
  nvjpegJpegState_t state = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegDecoderStateCreate(handle, decoder, &state), "nvjpegDecoderStateCreate"));
  d->state_.reset(state);
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegStateAttachPinnedBuffer(state, pinned), "nvjpegStateAttachPinnedBuffer"));
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegStateAttachDeviceBuffer(state, device_buffer), "nvjpegStateAttachDeviceBuffer"));
  nvjpegDecodeParams_t params = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegDecodeParamsCreate(handle, &params), "nvjpegDecodeParamsCreate"));
  d->params_.reset(params);
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegDecodeParamsSetOutputFormat(params, NVJPEG_OUTPUT_BGRI), "nvjpegDecodeParamsSetOutputFormat"));
  nvjpegJpegStream_t parser = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStreamCreate(handle, &parser), "nvjpegJpegStreamCreate"));
  d->parser_.reset(parser);
  return d;
}

JpegGpuHuffmanDecoder::~JpegGpuHuffmanDecoder() {
  // The state and its buffers go first, once the decode queued with them has run.
  if (stream_ != nullptr) cudaStreamSynchronize(stream_.get());
}

absl::StatusOr<std::unique_ptr<DeviceImage>> JpegGpuHuffmanDecoder::Decode(absl::string_view jpeg, int width,
                                                                           int height) {
  const nvjpegHandle_t handle = device_.cuda();
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStreamParse(handle, NvJpegBytes(jpeg), jpeg.size(), /*save_metadata=*/0,
                                                            /*save_stream=*/0, parser_.get()),
                                      "nvjpegJpegStreamParse"));
  unsigned components = 0, frame_width = 0, frame_height = 0;
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegJpegStreamGetComponentsNum(parser_.get(), &components), "nvjpegJpegStreamGetComponentsNum"));
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStreamGetFrameDimensions(parser_.get(), &frame_width, &frame_height),
                                      "nvjpegJpegStreamGetFrameDimensions"));
  IMGPROC_RETURN_IF_ERROR(CheckColourFrame(static_cast<int>(components), static_cast<int>(frame_width),
                                           static_cast<int>(frame_height), width, height));
  int unsupported = 1;  // nvJPEG: 0 when the decoder takes the stream
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegDecoderJpegSupported(decoder_.get(), parser_.get(), params_.get(), &unsupported),
                  "nvjpegDecoderJpegSupported"));
  if (unsupported != 0) {
    return absl::InvalidArgumentError("nvJPEG's GPU Huffman decoder does not take this JPEG");
  }
  IMGPROC_ASSIGN_OR_RETURN(SingleImageTarget target, SingleImageTargetFor(device_, width, height, stream_.get()));
  // The host phase fills the pinned buffer that the transfer reads on the stream: safe to reuse, as each decode
  // waits for its own end below.
  absl::Status decoded = NvJpegError(
      nvjpegDecodeJpegHost(handle, decoder_.get(), state_.get(), params_.get(), parser_.get()), "nvjpegDecodeJpegHost");
  cudaEventRecord(target.shared->start(), stream_.get());
  if (decoded.ok()) {
    decoded = NvJpegError(
        nvjpegDecodeJpegTransferToDevice(handle, decoder_.get(), state_.get(), parser_.get(), stream_.get()),
        "nvjpegDecodeJpegTransferToDevice");
  }
  if (decoded.ok()) {
    decoded =
        NvJpegError(nvjpegDecodeJpegDevice(handle, decoder_.get(), state_.get(), &target.destination, stream_.get()),
                    "nvjpegDecodeJpegDevice");
  }
  // Recorded in every case: the memory goes back only once whatever nvJPEG queued has run.
  cudaEventRecord(target.shared->done(), stream_.get());
  if (decoded.ok()) decoded = CudaError(cudaEventSynchronize(target.shared->done()), "nvJPEG GPU Huffman decode");
  IMGPROC_RETURN_IF_ERROR(decoded);
  return std::move(target.image);
}

}  // namespace imgproc
