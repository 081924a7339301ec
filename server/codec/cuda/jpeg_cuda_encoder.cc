#include "codec/cuda/jpeg_cuda_encoder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace imgproc {

absl::StatusOr<std::unique_ptr<JpegCudaEncoder>> JpegCudaEncoder::Create(NvJpegDevice& device, cudaStream_t stream) {
  std::unique_ptr<JpegCudaEncoder> e(new JpegCudaEncoder(device));
  nvjpegEncoderState_t state = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegEncoderStateCreate(device.cuda(), &state, stream), "nvjpegEncoderStateCreate"));
  e->state_.reset(state);
  nvjpegEncoderParams_t params = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      NvJpegError(nvjpegEncoderParamsCreate(device.cuda(), &params, stream), "nvjpegEncoderParamsCreate"));
  e->params_.reset(params);
  return e;
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

absl::StatusOr<std::string> JpegCudaEncoder::Encode(const cv::cuda::GpuMat& image, const JpegEncodeOptions& options,
                                                    cudaStream_t stream, const char** refused_option) {
  const int channels = image.channels();
  if (image.depth() != CV_8U || (channels != 1 && channels != 3)) {
    return absl::InternalError(
        absl::StrCat("nvJPEG encode takes 8-bit 1- or 3-channel images, got type ", image.type()));
  }
  // A setter nvJPEG refuses is an option the CPU encoder then takes; the parameters keep what they had, and the
  // cached value is reset so that the next request sets it again.
  auto refuse = [&](const char* option, const absl::Status& why) -> absl::Status {
    if (refused_option != nullptr) *refused_option = option;
    return absl::UnimplementedError(absl::StrCat("nvJPEG refused ", option, ": ", why.message()));
  };
  if (options.quality != quality_) {
    IMGPROC_RETURN_IF_ERROR(
        NvJpegError(nvjpegEncoderParamsSetQuality(params_.get(), options.quality, stream), "encoder quality"));
    quality_ = options.quality;
  }
  const nvjpegChromaSubsampling_t sampling = SamplingOf(channels, options.chroma);
  if (sampling != sampling_) {
    sampling_ = NVJPEG_CSS_UNKNOWN;
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetSamplingFactors(params_.get(), sampling, stream),
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
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetEncoding(params_.get(), encoding, stream),
                                     "nvjpegEncoderParamsSetEncoding");
        !s.ok()) {
      return refuse("progressive", s);
    }
    encoding_ = encoding;
  }
  // Progressive scans need tables of their own statistics; libjpeg always optimizes them, and so does this.
  const int optimized = options.optimize || options.progressive ? 1 : 0;
  if (optimized != optimized_huffman_) {
    optimized_huffman_ = -1;
    if (absl::Status s = NvJpegError(nvjpegEncoderParamsSetOptimizedHuffman(params_.get(), optimized, stream),
                                     "nvjpegEncoderParamsSetOptimizedHuffman");
        !s.ok()) {
      return refuse(options.progressive ? "progressive" : "optimize", s);
    }
    optimized_huffman_ = optimized;
  }
  nvjpegImage_t source{};
  source.channel[0] = const_cast<unsigned char*>(image.ptr<unsigned char>());
  source.pitch[0] = image.step;
  const nvjpegStatus_t status = channels == 3 ? nvjpegEncodeImage(device_.cuda(), state_.get(), params_.get(), &source,
                                                                  NVJPEG_INPUT_BGRI, image.cols, image.rows, stream)
                                              : nvjpegEncodeYUV(device_.cuda(), state_.get(), params_.get(), &source,
                                                                NVJPEG_CSS_GRAY, image.cols, image.rows, stream);
  if ((status == NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED || status == NVJPEG_STATUS_INVALID_PARAMETER) &&
      FirstNonDefaultOption(options)[0] != '\0') {
    cudaGetLastError();
    return refuse(FirstNonDefaultOption(options), NvJpegError(status, "nvjpegEncode"));
  }
  IMGPROC_RETURN_IF_ERROR(NvJpegError(status, "nvjpegEncode"));
  // The bitstream's length is known once the encode has run.
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaStreamSynchronize(stream), "JPEG encode"));
  size_t length = 0;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(
      nvjpegEncodeRetrieveBitstream(device_.cuda(), state_.get(), nullptr, &length, stream), "bitstream length"));
  if (length > pinned_size_ && length <= kMaxPinnedBitstream) {
    // Grows once to past the largest answer so far, so a warm lane allocates nothing here.
    const size_t size = std::min(kMaxPinnedBitstream, std::max(length + length / 4, size_t{1} << 20));
    unsigned char* grown = nullptr;
    if (cudaHostAlloc(reinterpret_cast<void**>(&grown), size, cudaHostAllocDefault) == cudaSuccess) {
      pinned_.reset(grown);
      pinned_size_ = size;
    } else {
      cudaGetLastError();  // no pinned memory to spare: retrieve into the answer directly
    }
  }
  const bool through_pinned = length <= pinned_size_;
  std::string bitstream;
  if (!through_pinned) bitstream.resize(length);
  unsigned char* target = through_pinned ? pinned_.get() : reinterpret_cast<unsigned char*>(bitstream.data());
  IMGPROC_RETURN_IF_ERROR(NvJpegError(
      nvjpegEncodeRetrieveBitstream(device_.cuda(), state_.get(), target, &length, stream), "bitstream copy"));
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaStreamSynchronize(stream), "bitstream copy"));
  if (through_pinned) return std::string(reinterpret_cast<const char*>(pinned_.get()), length);
  bitstream.resize(length);
  return bitstream;
}

}  // namespace imgproc
