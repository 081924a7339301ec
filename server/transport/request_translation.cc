#include "transport/request_translation.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace imgproc {

namespace pb = ::imgproc::v1;
using google::protobuf::FieldDescriptor;

namespace {

// One check over the whole request, so that every enum field (interpolation, border, axis, dtype...) refuses an
// undeclared value the same way, rather than each operation mapping it to a default or not.
absl::Status CheckEnumValues(const google::protobuf::Message& message, absl::string_view path) {
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

}  // namespace

DecodeMode TranslateDecodeMode(pb::DecodeMode mode) {
  switch (mode) {
    case pb::DECODE_MODE_GRAYSCALE: return DecodeMode::kGrayscale;
    case pb::DECODE_MODE_UNCHANGED: return DecodeMode::kUnchanged;
    default: return DecodeMode::kColor;
  }
}

ChromaSubsampling TranslateChroma(pb::ChromaSubsampling chroma) {
  switch (chroma) {
    case pb::CHROMA_SUBSAMPLING_420: return ChromaSubsampling::k420;
    case pb::CHROMA_SUBSAMPLING_422: return ChromaSubsampling::k422;
    case pb::CHROMA_SUBSAMPLING_444: return ChromaSubsampling::k444;
    default: return ChromaSubsampling::kDefault;
  }
}

OutputSpec TranslateOutputSpec(const pb::OutputSpec& spec) {
  OutputSpec out;
  out.format_named = spec.format_case() != pb::OutputSpec::FORMAT_NOT_SET;
  out.metadata.keep_icc_profile = spec.metadata().keep_icc_profile();
  out.metadata.exif = spec.metadata().exif() == pb::EXIF_POLICY_KEEP             ? ExifPolicy::kKeep
                      : spec.metadata().exif() == pb::EXIF_POLICY_COPYRIGHT_ONLY ? ExifPolicy::kCopyrightOnly
                                                                                 : ExifPolicy::kStrip;
  out.metadata.keep_xmp = spec.metadata().keep_xmp();
  switch (spec.format_case()) {
    case pb::OutputSpec::kPng:
      out.format = OutputFormat::kPng;
      if (spec.png().has_compression_level()) out.compression_level = spec.png().compression_level();
      break;
    case pb::OutputSpec::kWebp:
      out.format = OutputFormat::kWebp;
      if (spec.webp().has_quality()) out.quality = spec.webp().quality();
      break;
    case pb::OutputSpec::kAvif:
      out.format = OutputFormat::kAvif;
      if (spec.avif().has_quality()) out.quality = spec.avif().quality();
      if (spec.avif().has_speed()) out.speed = spec.avif().speed();
      out.chroma = TranslateChroma(spec.avif().chroma_subsampling());
      break;
    case pb::OutputSpec::kHeic:
      out.format = OutputFormat::kHeic;
      if (spec.heic().has_quality()) out.quality = spec.heic().quality();
      if (spec.heic().has_speed()) out.speed = spec.heic().speed();
      out.chroma = TranslateChroma(spec.heic().chroma_subsampling());
      break;
    case pb::OutputSpec::kTiff:
      out.format = OutputFormat::kTiff;
      out.tiff_deflate = spec.tiff().compression() != pb::TiffOutput::TIFF_COMPRESSION_NONE;
      break;
    case pb::OutputSpec::kRaw:
      out.format = OutputFormat::kRaw;
      out.raw_depth = spec.raw().dtype() == pb::DTYPE_FLOAT32   ? Depth::kF32
                      : spec.raw().dtype() == pb::DTYPE_FLOAT16 ? Depth::kF16
                      : spec.raw().dtype() == pb::DTYPE_UINT16  ? Depth::kU16
                                                                : Depth::kU8;
      out.raw_layout = spec.raw().layout() == pb::LAYOUT_CHW ? Layout::kChw : Layout::kHwc;
      break;
    default:
      out.format = OutputFormat::kJpeg;
      if (spec.jpeg().has_quality()) out.quality = spec.jpeg().quality();
      out.progressive = spec.jpeg().progressive();
      out.chroma = TranslateChroma(spec.jpeg().chroma_subsampling());
      out.optimize = spec.jpeg().optimize();
      break;
  }
  return out;
}

OpCall TranslateOperation(const pb::Operation& operation) {
  OpCall call;
  const google::protobuf::Reflection* reflection = operation.GetReflection();
  const FieldDescriptor* chosen =
      reflection->GetOneofFieldDescriptor(operation, pb::Operation::descriptor()->FindOneofByName("op"));
  if (chosen == nullptr) return call;  // no operation set (or one this build does not know): the name stays empty
  call.name = chosen->name();
  const google::protobuf::Message& message = reflection->GetMessage(operation, chosen);
  const google::protobuf::Reflection* fields = message.GetReflection();
  const google::protobuf::Descriptor* type = message.GetDescriptor();
  for (int f = 0; f < type->field_count(); ++f) {
    const FieldDescriptor* field = type->field(f);
    if (field->is_repeated()) {
      // Lists of reals are the only repeated arguments (the schema test holds every operation to it).
      std::vector<double> values;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        const int n = fields->FieldSize(message, field);
        values.reserve(n);
        for (int i = 0; i < n; ++i) values.push_back(fields->GetRepeatedDouble(message, field, i));
      }
      call.args.Set(field->name(), std::move(values));
      continue;
    }
    if (field->has_presence() && !fields->HasField(message, field)) continue;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        call.args.Set(field->name(), int64_t{fields->GetInt32(message, field)});
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE: call.args.Set(field->name(), fields->GetDouble(message, field)); break;
      case FieldDescriptor::CPPTYPE_BOOL: call.args.Set(field->name(), fields->GetBool(message, field)); break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        // Zero is *_UNSPECIFIED, the server's default: left unset, as an operation's default is its absent value.
        const int number = fields->GetEnumValue(message, field);
        if (number == 0) break;
        // CheckEnumValues has refused undeclared numbers; an unknown one here would reach Bind as "".
        const google::protobuf::EnumValueDescriptor* value = field->enum_type()->FindValueByNumber(number);
        call.args.Set(field->name(), value != nullptr ? value->name() : std::string());
        break;
      }
      default: break;  // no operation has other field types (the schema test says which it may have)
    }
  }
  return call;
}

absl::StatusOr<ImageRequest> TranslateRequest(const pb::ProcessRequest& request, const ImageLimits& limits) {
  if (request.operations_size() > limits.max_operations) {
    return absl::InvalidArgumentError(
        absl::StrCat("operations: ", request.operations_size(), " steps, over the limit of ", limits.max_operations));
  }
  // Bounded by max_operations first: the check walks every step.
  IMGPROC_RETURN_IF_ERROR(CheckEnumValues(request, ""));
  ImageRequest out;
  out.image = request.image();
  out.decode_mode = TranslateDecodeMode(request.decode_mode());
  out.decode_depth = request.decode_depth() == pb::SAMPLE_DEPTH_16 ? Depth::kU16 : Depth::kU8;
  out.operations.reserve(request.operations_size());
  for (int i = 0; i < request.operations_size(); ++i) {
    const pb::Operation& operation = request.operations(i);
    const google::protobuf::UnknownFieldSet& unknown = operation.GetReflection()->GetUnknownFields(operation);
    if (operation.op_case() == pb::Operation::OP_NOT_SET && unknown.field_count() > 0) {
      // A client built from a newer imgproc.proto asked for an operation this server predates.
      return absl::InvalidArgumentError(
          absl::StrCat("operations[", i, "]: unknown operation (Operation field ", unknown.field(0).number(),
                       "): this server's API does not have it; GetServerInfo lists the operations it has"));
    }
    out.operations.push_back(TranslateOperation(operation));
  }
  out.output = TranslateOutputSpec(request.output());
  out.ignore_exif_orientation = request.ignore_exif_orientation();
  out.disable_shrink_on_load = request.disable_shrink_on_load();
  out.strict_decode = request.strict_decode();
  out.color_policy = request.color_policy() == pb::COLOR_POLICY_KEEP     ? ColorPolicy::kKeep
                     : request.color_policy() == pb::COLOR_POLICY_IGNORE ? ColorPolicy::kIgnore
                                                                         : ColorPolicy::kConvertToSrgb;
  return out;
}

absl::StatusOr<Plan> BuildPlan(const pb::ProcessRequest& request, const ImageLimits& limits) {
  absl::StatusOr<ImageRequest> translated = TranslateRequest(request, limits);
  if (!translated.ok()) return translated.status();
  return BuildPlan(*translated, limits);
}

pb::Layout ToProtoLayout(Layout layout) { return layout == Layout::kChw ? pb::LAYOUT_CHW : pb::LAYOUT_HWC; }

namespace {

int ProtoEnumNumber(const google::protobuf::EnumDescriptor* type, absl::string_view prefix, absl::string_view name) {
  const google::protobuf::EnumValueDescriptor* value =
      type->FindValueByName(absl::StrCat(prefix, absl::AsciiStrToUpper(name)));
  return value != nullptr ? value->number() : 0;
}

}  // namespace

pb::ImageFormat ToProtoImageFormat(absl::string_view name) {
  return static_cast<pb::ImageFormat>(ProtoEnumNumber(pb::ImageFormat_descriptor(), "IMAGE_FORMAT_", name));
}
pb::Backend ToProtoBackend(absl::string_view name) {
  return static_cast<pb::Backend>(ProtoEnumNumber(pb::Backend_descriptor(), "BACKEND_", name));
}
pb::ColorAction ToProtoColorAction(absl::string_view name) {
  return static_cast<pb::ColorAction>(ProtoEnumNumber(pb::ColorAction_descriptor(), "COLOR_ACTION_", name));
}
pb::Dtype ToProtoDtype(absl::string_view name) {
  return static_cast<pb::Dtype>(ProtoEnumNumber(pb::Dtype_descriptor(), "DTYPE_", name));
}

}  // namespace imgproc
