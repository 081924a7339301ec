#pragma once
// JPEG encode with nvJPEG on the SMs: one encoder per lane, on the lane's stream (its nvJPEG state is one thread's
// at a time, nvJPEG's thread-safety rules).

#include <memory>
#include <opencv2/core/cuda.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "codec/cuda/cuda_handles.h"
#include "codec/cuda/nvjpeg_device.h"
#include "codec/encode_options.h"

namespace imgproc {

class JpegCudaEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegCudaEncoder>> Create(NvJpegDevice& device, cudaStream_t stream);

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
  explicit JpegCudaEncoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  NvJpegEncoderState state_;
  NvJpegEncoderParams params_;
  // The bitstream comes back through pinned memory, which costs a lane a fraction of the host time that pageable
  // memory does (BENCHMARKS.md, "H200 host: where a W1 lane's time goes"). Grows to the largest bitstream seen, up
  // to kMaxPinnedBitstream; larger ones are retrieved straight into the answer.
  static constexpr size_t kMaxPinnedBitstream = size_t{32} << 20;
  PinnedBytes pinned_;
  size_t pinned_size_ = 0;
  int quality_ = -1;
  nvjpegChromaSubsampling_t sampling_ = NVJPEG_CSS_UNKNOWN;
  nvjpegJpegEncoding_t encoding_ = NVJPEG_ENCODING_UNKNOWN;
  int optimized_huffman_ = -1;
};

}  // namespace imgproc
