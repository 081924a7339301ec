#include "codec/cuda/jpeg_cuda_decoder.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace imgproc {

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
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaSetDevice(device.device()), "cudaSetDevice"));
  cudaStream_t stream = nullptr;
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
  d->stream_.reset(stream);
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
  if (components != 3 || widths[0] != width || heights[0] != height) {
    return absl::InvalidArgumentError(absl::StrCat("nvJPEG reads a ", widths[0], "x", heights[0], " JPEG of ",
                                                   components, " components where ", width, "x", height,
                                                   " colour was expected"));
  }
  const size_t pitch = DecodedPitch(width);
  IMGPROC_ASSIGN_OR_RETURN(NvJpegDevice::BatchEvents events, device_.TakeBatchEvents());
  absl::StatusOr<void*> memory = device_.Allocate(pitch * height, stream_.get());
  if (!memory.ok()) {
    device_.ReturnBatchEvents(std::move(events));
    return memory.status();
  }
  // A batch of one: the image owns its memory and events, as an engine batch's images share theirs.
  auto shared = std::make_shared<DecodedBatch>(&device_, *memory, std::move(events));
  auto image = std::make_unique<DeviceImage>(shared, static_cast<unsigned char*>(*memory), pitch, width, height);
  nvjpegImage_t destination{};
  destination.channel[0] = static_cast<unsigned char*>(*memory);
  destination.pitch[0] = pitch;
  cudaEventRecord(shared->start(), stream_.get());
  absl::Status decoded = NvJpegError(nvjpegDecode(device_.cuda(), state_.get(), NvJpegBytes(jpeg), jpeg.size(),
                                                  NVJPEG_OUTPUT_BGRI, &destination, stream_.get()),
                                     "nvjpegDecode");
  // Recorded in every case: the memory goes back only once whatever nvJPEG queued has run.
  cudaEventRecord(shared->done(), stream_.get());
  if (decoded.ok()) decoded = CudaError(cudaEventSynchronize(shared->done()), "nvJPEG decode");
  IMGPROC_RETURN_IF_ERROR(decoded);
  return image;
}

}  // namespace imgproc
