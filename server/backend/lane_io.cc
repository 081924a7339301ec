#include "backend/lane_io.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "codec/orientation.h"
#include "common/status_macros.h"

namespace imgproc {

absl::StatusOr<cv::Mat> DecodeInput(const Job& job, JobResult& result, const ShrinkOnLoad* shrink) {
  const Clock::time_point start = Clock::now();
  const Plan& plan = *job.plan;
  std::string damage;
  // The colour conversion runs inside the decode, on 8-bit pixels, before orientation and the chain.
  const ColorTransform* color = plan.color.transform.get();
  absl::StatusOr<cv::Mat> decoded =
      shrink != nullptr
          ? Decode(job.input, plan.header, plan.decode_mode, shrink->decoded, shrink->factor, &damage, color)
          : Decode(job.input, plan.header, plan.decode_mode, plan.decoded, 1, &damage, color);
  result.color = plan.color;
  if (decoded.ok() && !damage.empty()) {
    const std::string reason = absl::StrCat(ImageFormatName(plan.header.format), " decoder: ", damage);
    if (plan.strict_decode) {
      return absl::InvalidArgumentError(
          absl::StrCat("strict_decode: ", reason, "; without strict_decode it is decoded in part"));
    }
    result.partial_decode = plan.partial_decode.empty() ? reason : absl::StrCat(plan.partial_decode, "; ", reason);
  }
  if (decoded.ok()) result.decode_shrink_factor = shrink != nullptr ? shrink->factor : 1;
  if (decoded.ok()) ApplyOrientation(*decoded, plan.orientation);
  result.timings.decode_us = MicrosSince(start);
  return decoded;
}

absl::Status EncodeOutput(const cv::Mat& image, const Plan& plan, JobResult& result) {
  const Clock::time_point start = Clock::now();
  IMGPROC_ASSIGN_OR_RETURN(EncodedImage encoded, Encode(image, plan.output, &plan.metadata));
  IMGPROC_RETURN_IF_ERROR(EmbedMetadata(plan.metadata, plan.output.format, encoded.bytes));
  result.image = std::move(encoded);
  result.timings.encode_us = MicrosSince(start);
  result.encode_path = plan.output.format == OutputFormat::kRaw ? CodecPath::kNone : CodecPath::kCpu;
  return absl::OkStatus();
}

absl::Status EncodeOutput(const cv::Mat& image, const Job& job, JobResult& result) {
  if (!job.output_slot.has_value()) return EncodeOutput(image, *job.plan, result);
  const TensorSlot& slot = *job.output_slot;
  if (slot.memory != TensorSlot::Memory::kHost) {
    return absl::FailedPreconditionError("a CPU lane cannot write a tensor slot in GPU memory");
  }
  const Clock::time_point start = Clock::now();
  const OutputSpec& spec = job.plan->output;
  if (spec.format != OutputFormat::kRaw) return absl::InternalError("a tensor slot takes raw answers only");
  IMGPROC_RETURN_IF_ERROR(WriteRaw(image, spec, slot.data, slot.bytes));
  result.image.format = "raw";
  result.image.spec = ImageSpec{image.cols, image.rows, image.channels(), spec.raw_depth};
  result.image.layout = spec.raw_layout;
  result.timings.encode_us = MicrosSince(start);
  result.encode_path = CodecPath::kNone;
  return absl::OkStatus();
}

}  // namespace imgproc
