// The CUDA lane's input: the decode paths (the decode stage's image, nvJPEG on the SMs, the CPU decoder and an
// upload), then the colour transform and the EXIF orientation of an image decoded on the device.
#include <opencv2/cudaimgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cuda/color_transform_kernel.h"
#include "backend/cuda/cuda_fault.h"
#include "backend/cuda/cuda_lane_internal.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "backend/lane_io.h"
#include "codec/orientation.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

absl::Status CheckDecodedSize(const cv::cuda::GpuMat& image, const Plan& plan) {
  if (image.cols == plan.decoded.width && image.rows == plan.decoded.height) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("decoded image is ", image.cols, "x", image.rows,
                                                 " but its header says ", plan.decoded.width, "x",
                                                 plan.decoded.height));
}

// A gray answer asked of a colour JPEG whose RGB profile is converted: the colours first, then gray.
bool ConvertsInColourFirst(const Plan& plan) {
  return plan.decoded.channels == 1 && plan.header.channels >= 3 && plan.color.action == ColorAction::kConverted &&
         plan.color.transform != nullptr && plan.color.transform->input() == ColorTransform::Input::kRgb;
}

}  // namespace

absl::StatusOr<cv::cuda::GpuMat> CudaLane::Input(const Job& job, JobResult& result) {
  const Plan& plan = *job.plan;
  IMGPROC_ASSIGN_OR_RETURN(cv::cuda::GpuMat image, Decode(job, result));
  // An image the CPU decoded was converted and turned upright there (DecodeInput): CMYK JPEGs and every format
  // but JPEG. One that nvJPEG or the JPEG engine decoded is converted and turned here, on the device.
  if (result.decode_path == CodecPath::kCpu) return image;
  if (plan.color.action == ColorAction::kConverted && plan.color.transform != nullptr) {
    IMGPROC_ASSIGN_OR_RETURN(image, ConvertColor(image, plan.color, result));
    if (ConvertsInColourFirst(plan)) {
      cv::cuda::GpuMat& gray = images_.TargetFor(image);
      cv::cuda::cvtColor(image, gray, cv::COLOR_BGR2GRAY, 1, stream_);
      image = gray;
    }
  }
  if (plan.orientation != 1) {
    cv::cuda::GpuMat& upright = images_.TargetFor(image);
    ApplyOrientation(image, upright, plan.orientation, stream_);
    image = upright;
  }
  return image;
}

absl::StatusOr<cv::cuda::GpuMat> CudaLane::Decode(const Job& job, JobResult& result) {
  const Plan& plan = *job.plan;
  if (auto* staged = static_cast<CudaStagedImage*>(job.staged.get())) {
    result.decode_path = staged->path();
    cv::cuda::GpuMat view = staged->image().view();
    IMGPROC_RETURN_IF_ERROR(CheckDecodedSize(view, plan));
    cudaStreamWaitEvent(raw_stream_, staged->image().batch().done(), 0);
    return view;
  }
  // nvJPEG decodes 8-bit samples only: the 16-bit decode of a JPEG is the CPU decoder's, scaled by 257 there
  // (codec.h), and uploaded; the simplest correct choice.
  if (jpeg_decoder_ != nullptr && plan.header.format == ImageFormat::kJpeg && plan.decoded.channels != 4 &&
      plan.decoded.depth == Depth::kU8) {
    const Clock::time_point t = Clock::now();
    IMGPROC_ASSIGN_OR_RETURN(std::optional<cv::cuda::GpuMat> decoded, DecodeWithNvJpeg(job, result));
    if (decoded) return *decoded;
    result.timings.decode_us = MicrosSince(t);
  }
  return DecodeOnCpu(job, result);
}

absl::StatusOr<std::optional<cv::cuda::GpuMat>> CudaLane::DecodeWithNvJpeg(const Job& job, JobResult& result) {
  const Plan& plan = *job.plan;
  // A gray answer from a colour JPEG in an RGB profile: decoded in colour, converted, then made gray (Input), as
  // the CPU decoder does.
  const int wanted_channels = ConvertsInColourFirst(plan) ? 3 : plan.decoded.channels;
  absl::StatusOr<int> channels = jpeg_decoder_->Decode(job.input, wanted_channels == 1, images_.decoded, raw_stream_);
  if (!channels.ok()) {
    absl::Status failed = Diagnose(channels.status(), "decoding the JPEG with nvJPEG");
    if (DeviceFailure(failed)) return failed;
    return std::nullopt;
  }
  IMGPROC_RETURN_IF_ERROR(CheckDecodedSize(images_.decoded, plan));
  result.decode_path = CodecPath::kCuda;
  if (*channels == wanted_channels) return images_.decoded;
  cv::cuda::cvtColor(images_.decoded, images_.transformed, cv::COLOR_GRAY2BGR, 3, stream_);  // a gray JPEG as colour
  return images_.transformed;
}

absl::StatusOr<cv::cuda::GpuMat> CudaLane::DecodeOnCpu(const Job& job, JobResult& result) {
  const int64_t nvjpeg_attempt_us = result.timings.decode_us;
  IMGPROC_ASSIGN_OR_RETURN(cv::Mat decoded, DecodeInput(job, result));
  result.timings.decode_us += nvjpeg_attempt_us;
  result.decode_path = CodecPath::kCpu;
  const Clock::time_point t = Clock::now();
  cv::Mat staged = upload_staging_.View(decoded.rows, decoded.cols, decoded.type());
  decoded.copyTo(staged);
  images_.decoded.upload(staged, stream_);
  result.timings.upload_us = MicrosSince(t);
  return images_.decoded;
}

absl::StatusOr<cv::cuda::GpuMat> CudaLane::ConvertColor(const cv::cuda::GpuMat& input, const ColorDecision& color,
                                                        JobResult& result) {
  cv::cuda::GpuMat& converted = images_.TargetFor(input);
  // A KEEP that could not keep the profile says so before "to sRGB ..." (pipeline/plan.cc).
  const std::string prefix = color.reason.substr(0, color.reason.find("to sRGB"));
  const DeviceColorTables::Tables* tables = color_tables_.Get(color.transform, stream_);
  if (tables != nullptr && input.depth() == CV_8U && tables->form.Accepts(input.channels())) {
    converted.create(input.size(), input.type());
    const cudaError_t launched = LaunchColorTransform(tables->form.kind(), tables->view, input.ptr<uint8_t>(),
                                                      input.step, converted.ptr<uint8_t>(), converted.step, input.cols,
                                                      input.rows, input.channels(), raw_stream_);
    if (launched != cudaSuccess) {
      return absl::InternalError(
          absl::StrCat("cuda:", device_, " converting to sRGB: the kernel did not launch: ", CudaErrorText(launched)));
    }
    result.color.reason = absl::StrCat(prefix, "to sRGB on cuda:", device_, " (", tables->form.description(), ")");
    return converted;
  }
  cv::Mat host;
  input.download(host, stream_);
  stream_.waitForCompletion();
  IMGPROC_RETURN_IF_ERROR(color.transform->Apply(host));
  converted.upload(host, stream_);
  stream_.waitForCompletion();  // `host` goes out of scope
  result.color.reason = absl::StrCat(prefix, "to sRGB by lcms2 on the CPU after the GPU decode (no device form for ",
                                     input.channels(), " channels of this profile)");
  return converted;
}

}  // namespace imgproc
