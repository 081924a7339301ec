#include "pipeline/plan.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "codec/codec.h"
#include "codec/orientation.h"
#include "codec/shrink_on_load.h"
#include "common/status_macros.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

namespace {

// proto3 enums are open: a client may send any number, and the generated code keeps it. One check over the
// whole request, so that every enum field (interpolation, border, axis, dtype...) refuses an undeclared value
// the same way, rather than each operation mapping it to a default or not.
absl::Status CheckEnumValues(const google::protobuf::Message& message, absl::string_view path) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!is_message && field->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) continue;  // the image bytes, numbers
    // Field paths are spelled out only for a nested message or an error: this runs on every request.
    auto where = [&](int i) {
      const std::string name = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
      return field->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
    };
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      if (is_message) {
        const google::protobuf::Message& child = field->is_repeated()
                                                     ? reflection->GetRepeatedMessage(message, field, i)
                                                     : reflection->GetMessage(message, field);
        IMGPROC_RETURN_IF_ERROR(CheckEnumValues(child, where(i)));
        continue;
      }
      const int value = field->is_repeated() ? reflection->GetRepeatedEnumValue(message, field, i)
                                             : reflection->GetEnumValue(message, field);
      const google::protobuf::EnumDescriptor* type = field->enum_type();
      if (type->FindValueByNumber(value) != nullptr) continue;
      std::vector<std::string> names;
      for (int v = 0; v < type->value_count(); ++v) names.push_back(type->value(v)->name());
      return absl::InvalidArgumentError(absl::StrCat(where(i), ": ", value, " is not a value of ", type->name(),
                                                     " (one of ", absl::StrJoin(names, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// An answer is at most the chain's last image, uncompressed, in the answer's type (PNG and WebP can be slightly
// larger than raw pixels only for tiny images; JPEG is smaller). Over the limit, the message names the step
// after which the image last grew past it, since that is the one to change.
absl::Status CheckAnswerSize(const Plan& plan, const ImageLimits& limits) {
  const bool raw = plan.output.format_case() == pb::OutputSpec::kRaw;
  const double value_bytes = raw && plan.output.raw().dtype() == pb::DTYPE_FLOAT32 ? 4 : 1;
  auto bytes = [&](const ImageSpec& spec) { return PixelChannels(spec) * value_bytes; };
  const double answer = bytes(plan.result);
  if (answer <= static_cast<double>(limits.max_output_bytes)) return absl::OkStatus();
  std::string grower = "the decoded image";
  for (const BoundOp& step : plan.steps) {
    if (bytes(step.input) <= limits.max_output_bytes && bytes(step.output) > limits.max_output_bytes) {
      grower = absl::StrCat("operations[", step.index, "].", step.name, " (", step.input.DebugString(), " to ",
                            step.output.DebugString(), ")");
    }
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("the answer would be up to ", absl::SixDigits(answer), " bytes (", plan.result.DebugString(),
                   raw ? absl::StrCat(" as raw ", value_bytes == 4 ? "float32" : "uint8") : std::string(" encoded"),
                   "), over the server's limit of ", limits.max_output_bytes, " (--max_output_bytes); ", grower,
                   " makes it that large"));
}

// The factor (2, 4, 8; 1: none) at which the decoder may start a first-step resize of the stored image to
// width x height. The rule keeps the answer within 35 dB PSNR of the full-size path on every test photo at every
// ratio from 2 to 40 (unit.ShrinkOnLoadTest.AreaRatioSweepStaysOver35DbOnEveryPhoto sweeps them; lowest 36.6 dB at
// 1/2, 35.5 at 1/4, 39.6 at 1/8):
// - libjpeg's 1/2 is close to a 2x2 average, which is what INTER_LINEAR computes when a side is exactly halved
//   and INTER_AREA always: an exact half takes factor 2 with nothing left to resize (44 dB at worst);
// - before an INTER_AREA resize, the decoded image must stay 1.5x (1/2), 2x (1/4) or 4x (1/8) the output: libjpeg's
//   1/4 and 1/8 keep each block's lowest frequencies rather than average it, which the area resize after must
//   smooth over (at 1.0x they fall to 31 dB on the sand of Dune.jpg);
// - LINEAR, CUBIC and NEAREST beyond an exact half read a few source pixels per output pixel and alias on fine
//   texture; a shrunk decode does not, and the answers would differ by far more (23 dB on Elephants_3840x2160.jpg),
//   so those are decoded at full size.
int ShrinkFactor(const ImageHeader& header, int width, int height, pb::Interpolation interpolation) {
  if (!HasScaledDecode(header)) return 1;
  const bool averages = interpolation == pb::INTERPOLATION_AREA || interpolation == pb::INTERPOLATION_LINEAR;
  if (averages && width == ShrunkSide(header.width, 2) && height == ShrunkSide(header.height, 2)) return 2;
  if (interpolation != pb::INTERPOLATION_AREA) return 1;
  struct Margin {
    int factor, numerator, denominator;
  };  // decoded side >= output side * numerator / denominator
  for (const Margin m : {Margin{8, 4, 1}, Margin{4, 2, 1}, Margin{2, 3, 2}}) {
    if (int64_t{ShrunkSide(header.width, m.factor)} * m.denominator >= int64_t{width} * m.numerator &&
        int64_t{ShrunkSide(header.height, m.factor)} * m.denominator >= int64_t{height} * m.numerator) {
      return m.factor;
    }
  }
  return 1;
}

// Shrink-on-load applies when the chain starts with a resize that ShrinkFactor accepts. The resize is bound again
// from the shrunk image to the very same output size (its width/height/scale/keep_aspect were resolved against
// the full-size image, so the new binding names the size outright).
absl::StatusOr<std::optional<ShrinkOnLoad>> PlanShrinkOnLoad(const pb::ProcessRequest& request, const Plan& plan,
                                                             const ImageLimits& limits) {
  if (request.disable_shrink_on_load() || plan.steps.empty() ||
      request.operations(0).op_case() != pb::Operation::kResize) {
    return std::nullopt;
  }
  const ImageSpec& target = plan.steps[0].output;
  const pb::Interpolation interpolation = request.operations(0).resize().interpolation();
  const bool transposed = plan.orientation >= 5;  // EXIF 5-8 swap width and height (see Oriented)
  const int factor = ShrinkFactor(plan.header, transposed ? target.height : target.width,
                                  transposed ? target.width : target.height, interpolation);
  if (factor == 1) return std::nullopt;
  ShrinkOnLoad shrink;
  shrink.factor = factor;
  shrink.decoded = DecodedSpec(plan.header, plan.decode_mode, factor);
  shrink.oriented = Oriented(shrink.decoded, plan.orientation);
  pb::Operation rest;
  pb::Resize& resize = *rest.mutable_resize();
  resize.set_width(target.width);
  resize.set_height(target.height);
  resize.set_interpolation(interpolation);
  StepBinder binder(0, plan.steps[0].name, shrink.oriented, limits);
  if (absl::Status s = OpRegistry::Find(pb::Operation::kResize)->bind(rest, binder); !s.ok()) {
    return absl::InternalError(absl::StrCat("shrink-on-load: binding the rest of operations[0] failed: ", s.message()));
  }
  shrink.first_step = binder.Take();
  return shrink;
}

}  // namespace

absl::StatusOr<Plan> BuildPlan(const pb::ProcessRequest& request, const ImageLimits& limits) {
  Plan plan;
  if (request.operations_size() > limits.max_operations) {
    return absl::InvalidArgumentError(
        absl::StrCat("operations: ", request.operations_size(), " steps, over the limit of ", limits.max_operations));
  }
  // Bounded by max_operations first: the check walks every step.
  IMGPROC_RETURN_IF_ERROR(CheckEnumValues(request, ""));
  plan.decode_mode = request.decode_mode();
  if (static_cast<int64_t>(request.image().size()) > limits.max_input_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image is ", request.image().size(), " bytes, over the limit of ", limits.max_input_bytes));
  }
  absl::StatusOr<ImageHeader> header = ReadImageHeader(request.image());
  if (!header.ok()) return header.status();
  plan.header = *header;
  IMGPROC_RETURN_IF_ERROR(CheckHeaderLimits(plan.header, request.image().size(), limits));
  plan.decoded = DecodedSpec(plan.header, plan.decode_mode);
  plan.orientation = request.ignore_exif_orientation() ? 1 : plan.header.exif_orientation;
  plan.oriented = Oriented(plan.decoded, plan.orientation);

  ImageSpec current = plan.oriented;
  plan.steps.reserve(request.operations_size());
  for (int i = 0; i < request.operations_size(); ++i) {
    const pb::Operation& op = request.operations(i);
    const OpDefinition* def = OpRegistry::Find(op.op_case());
    if (def == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("operations[", i, "]: ",
                       op.op_case() == pb::Operation::OP_NOT_SET
                           ? "no operation set"
                           : absl::StrCat("unknown operation (field ", static_cast<int>(op.op_case()), ")")));
    }
    StepBinder binder(i, def->name, current, limits);
    IMGPROC_RETURN_IF_ERROR(def->bind(op, binder));
    plan.steps.push_back(binder.Take());
    const BoundOp& step = plan.steps.back();
    plan.work += step.work();
    if (plan.work > limits.max_request_work) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "operations[", i, "].", step.name, ": estimated work ", absl::SixDigits(step.work()), " pixel-channel taps (",
          step.input.DebugString(), " in, ", step.passes, " pass(es)) brings the request to ",
          absl::SixDigits(plan.work), ", over the server's budget of ", absl::SixDigits(limits.max_request_work),
          " (--max_request_work)"));
    }
    current = step.output;
  }
  plan.result = current;
  auto bytes = [](const ImageSpec& spec) {
    return static_cast<int64_t>(PixelChannels(spec)) * (spec.depth == Depth::kF32 ? 4 : 1);
  };
  plan.peak_pixel_bytes = bytes(plan.decoded) + (plan.orientation != 1 ? bytes(plan.oriented) : 0);
  for (const BoundOp& step : plan.steps) {
    plan.peak_pixel_bytes = std::max(plan.peak_pixel_bytes, bytes(step.input) + bytes(step.output));
  }
  IMGPROC_RETURN_IF_ERROR(ValidateOutputSpec(request.output(), current));
  plan.output = request.output();
  IMGPROC_RETURN_IF_ERROR(CheckAnswerSize(plan, limits));
  absl::StatusOr<std::optional<ShrinkOnLoad>> shrink = PlanShrinkOnLoad(request, plan, limits);
  if (!shrink.ok()) return shrink.status();
  plan.shrink_on_load = *std::move(shrink);
  return plan;
}

}  // namespace imgproc
