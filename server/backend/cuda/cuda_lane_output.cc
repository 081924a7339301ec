// The CUDA lane's output: a JPEG answer encoded with nvJPEG (or on the CPU where nvJPEG refuses an option), raw
// pixels converted on the device and copied into the answer, the other formats downloaded and encoded on the CPU;
// the input's metadata spliced into every encoded answer on the CPU.
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudaimgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cuda/cuda_lane_internal.h"
#include "backend/lane_io.h"
#include "codec/metadata.h"
#include "common/status_macros.h"

namespace imgproc {

absl::Status CudaLane::Output(const cv::cuda::GpuMat& image, const Job& job, JobResult& result) {
  const Plan& plan = *job.plan;
  if (job.output_slot.has_value() && plan.output.format != OutputFormat::kRaw) {
    return absl::InternalError("a tensor slot takes raw answers only");
  }
  // A uint16 chain's JPEG answer is round(v / 257), made by the CPU encoder path (Encode): the simplest correct
  // choice, nvJPEG taking 8-bit input only.
  if (plan.output.format == OutputFormat::kJpeg && jpeg_encoder_ != nullptr && image.depth() == CV_8U) {
    return EncodeWithNvJpeg(image, plan, result);
  }
  if (plan.output.format == OutputFormat::kRaw) {
    result.encode_path = CodecPath::kNone;
    return DownloadRaw(image, plan.output, job.output_slot, result.image);
  }
  // PNG, WebP and AVIF: the CPU encoders, from pinned memory.
  return DownloadAndEncode(image, plan, result);
}

absl::Status CudaLane::EncodeWithNvJpeg(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
  const Clock::time_point t = Clock::now();
  const cv::cuda::GpuMat* source = &image;
  if (image.channels() == 4) {  // JPEG has no alpha: store the three colour channels, as the CPU encoder does
    cv::cuda::cvtColor(image, ColourOfBgra(), cv::COLOR_BGRA2BGR, 3, stream_);
    source = &ColourOfBgra();
  }
  const char* refused = "";
  absl::StatusOr<std::string> bitstream =
      jpeg_encoder_->Encode(*source, JpegOptionsOf(plan.output), raw_stream_, &refused);
  if (absl::IsUnimplemented(bitstream.status())) {
    // An option nvJPEG does not take: libjpeg-turbo encodes this answer, said in the answer and counted.
    result.encode_fallback_kind = refused;
    result.encode_fallback_reason = absl::StrCat(bitstream.status().message(), "; encoded on the CPU by libjpeg-turbo");
    return DownloadAndEncode(image, plan, result);
  }
  if (!bitstream.ok()) return bitstream.status();
  // On the CPU, as for every encoder (codec/metadata.h): the same segments whichever device encoded.
  IMGPROC_RETURN_IF_ERROR(EmbedMetadata(plan.metadata, plan.output.format, *bitstream));
  result.image.bytes = *std::move(bitstream);
  result.image.format = "jpeg";
  result.image.spec = ImageSpec{source->cols, source->rows, source->channels(), Depth::kU8};
  result.encode_path = CodecPath::kCuda;
  result.timings.encode_us = MicrosSince(t);
  return absl::OkStatus();
}

absl::Status CudaLane::DownloadAndEncode(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
  const Clock::time_point t = Clock::now();
  cv::Mat host = download_staging_.View(image.rows, image.cols, image.type());
  image.download(host, stream_);
  stream_.waitForCompletion();
  result.timings.download_us = MicrosSince(t);
  return EncodeOutput(host, plan, result);
}

absl::Status CudaLane::DownloadRaw(const cv::cuda::GpuMat& image, const OutputSpec& spec,
                                   const std::optional<TensorSlot>& slot, EncodedImage& out) {
  // float16: through float32 (convertFp16 takes only that), as Mat::convertTo rounds on the CPU.
  const int depth = spec.raw_depth == Depth::kF16 ? CV_32F : CvDepth(spec.raw_depth);
  cv::cuda::GpuMat converted = image;
  if (image.depth() != depth) {
    // As ToDepth on the CPU: uint8 <-> uint16 scale by 257 (uint8 rounds), float32 keeps the values, integer
    // types from float32 round and saturate.
    const double scale = image.depth() == CV_8U && depth == CV_16U   ? 257.0
                         : image.depth() == CV_16U && depth == CV_8U ? 1.0 / 257.0
                                                                     : 1.0;
    image.convertTo(RawInDtype(), depth, scale, 0.0, stream_);
    converted = RawInDtype();
  }
  if (spec.raw_depth == Depth::kF16) {
    cv::cuda::convertFp16(converted, RawAsFloat16(), stream_);
    // Split and copied as the 2-byte values they are: OpenCV's CUDA split has no half-precision type.
    converted =
        cv::cuda::GpuMat(image.rows, image.cols, CV_16UC(image.channels()), RawAsFloat16().data, RawAsFloat16().step);
  }
  const cv::cuda::GpuMat packed =
      spec.raw_layout == Layout::kChw && image.channels() > 1 ? Planes(converted) : converted;
  out.format = "raw";
  out.layout = spec.raw_layout;
  out.spec = ImageSpec{image.cols, image.rows, image.channels(), spec.raw_depth};
  const size_t bytes = size_t(packed.rows) * packed.cols * packed.elemSize();
  if (!slot.has_value()) {
    out.bytes.resize(bytes);
    cv::Mat destination(packed.rows, packed.cols, packed.type(), out.bytes.data());
    packed.download(destination, stream_);
    return absl::OkStatus();
  }
  if (slot->bytes != bytes) {
    return absl::InternalError(
        absl::StrCat("raw answer of ", out.spec.DebugString(), " is ", bytes, " bytes, its tensor slot ", slot->bytes));
  }
  if (slot->memory == TensorSlot::Memory::kHost) {
    cv::Mat destination(packed.rows, packed.cols, packed.type(), slot->data);
    packed.download(destination, stream_);
    return absl::OkStatus();
  }
  if (slot->cuda_device != device_) {
    return absl::InternalError(
        absl::StrCat("a tensor slot on cuda:", slot->cuda_device, " given to a lane of cuda:", device_));
  }
  // Device to device, into the client's region: the slot is tight rows, as the tensor lays them out.
  cv::cuda::GpuMat destination(packed.rows, packed.cols, packed.type(), slot->data);
  packed.copyTo(destination, stream_);
  return absl::OkStatus();
}

cv::cuda::GpuMat CudaLane::Planes(const cv::cuda::GpuMat& image) {
  const int channels = image.channels();
  cv::cuda::createContinuous(image.rows * channels, image.cols, image.depth(), RawPlanes());
  std::vector<cv::cuda::GpuMat> planes;
  for (int c = 0; c < channels; ++c) planes.push_back(RawPlanes().rowRange(c * image.rows, (c + 1) * image.rows));
  cv::cuda::split(image, planes, stream_);
  return RawPlanes();
}

}  // namespace imgproc
