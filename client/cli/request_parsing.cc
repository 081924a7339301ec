#include "cli/request_parsing.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace imgproc::cli {

namespace pb = ::imgproc::v1;

namespace {

std::string FieldNames(const google::protobuf::Descriptor& message) {
  std::vector<std::string> names;
  for (int i = 0; i < message.field_count(); ++i) names.push_back(message.field(i)->name());
  std::sort(names.begin(), names.end());
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

// Names what the proto does not have, with the choices it does: the operation, a field of it, an enum value. What
// passes goes on to protobuf's text parser, which checks the values' types.
absl::Status CheckStepNames(absl::string_view step, const std::vector<std::string>& words) {
  const google::protobuf::Descriptor* operation = pb::Operation::descriptor();
  const google::protobuf::FieldDescriptor* op = operation->FindFieldByName(words[0]);
  if (op == nullptr || op->message_type() == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation '", words[0], "' in step '", step, "'; operations: ", FieldNames(*operation)));
  }
  const google::protobuf::Descriptor& params = *op->message_type();
  for (size_t i = 1; i < words.size(); ++i) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
    const google::protobuf::FieldDescriptor* field = params.FindFieldByName(kv.first);
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(words[0], " has no field '", kv.first, "'; its fields: ", FieldNames(params)));
    }
    if (const google::protobuf::EnumDescriptor* values = field->enum_type(); values != nullptr) {
      for (absl::string_view value : absl::StrSplit(kv.second, ',')) {
        int number = 0;
        if (values->FindValueByName(std::string(value)) != nullptr || absl::SimpleAtoi(value, &number)) continue;
        std::vector<std::string> names;
        // Not the zero value, *_UNSPECIFIED: it is the default, which leaving the field out asks for.
        for (int v = 0; v < values->value_count(); ++v) {
          if (values->value(v)->number() != 0) names.push_back(values->value(v)->name());
        }
        return absl::InvalidArgumentError(
            absl::StrCat(words[0], ".", kv.first, ": no value '", value, "'; choices: ", absl::StrJoin(names, ", ")));
      }
    }
  }
  return absl::OkStatus();
}

// protobuf's first complaint about a value (its type or range), for the error message.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string& message) override {
    if (message_.empty()) message_ = message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

absl::StatusOr<google::protobuf::RepeatedPtrField<pb::Operation>> ParseOperationChain(const std::string& chain) {
  // Each step becomes text format ("operations { resize { width: 640 } }") so that protobuf itself checks
  // every name and value against the proto.
  std::string text;
  for (absl::string_view step : absl::StrSplit(chain, '|', absl::SkipWhitespace())) {
    step = absl::StripAsciiWhitespace(step);
    std::vector<std::string> words = absl::StrSplit(step, ' ', absl::SkipEmpty());
    if (words.empty()) continue;
    std::string fields;
    for (size_t i = 1; i < words.size(); ++i) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
      if (kv.second.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("expected name=value, got '", words[i], "' in step '", step, "'"));
      }
      const bool list = kv.second.find(',') != std::string::npos;
      absl::StrAppend(&fields, kv.first, ": ", list ? "[" : "", kv.second, list ? "]" : "", " ");
    }
    if (absl::Status names = CheckStepNames(step, words); !names.ok()) return names;
    absl::StrAppend(&text, "operations { ", words[0], " { ", fields, "} } ");
  }
  pb::ProcessRequest parsed;
  google::protobuf::TextFormat::Parser parser;
  FirstError first;
  parser.RecordErrorsTo(&first);
  if (!parser.ParseFromString(text, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse a value of the operation chain: ", first.message(), " (read as: ", text, ")"));
  }
  return std::move(*parsed.mutable_operations());
}

absl::StatusOr<pb::OutputSpec> MakeOutputSpec(const std::string& format, int quality, const std::string& dtype,
                                              const std::string& layout) {
  pb::OutputSpec spec;
  if (format == "jpeg") {
    auto* jpeg = spec.mutable_jpeg();
    if (quality >= 0) jpeg->set_quality(quality);
  } else if (format == "png") {
    auto* png = spec.mutable_png();
    if (quality >= 0) png->set_compression_level(quality);
  } else if (format == "webp") {
    auto* webp = spec.mutable_webp();
    if (quality >= 0) webp->set_quality(quality);
  } else if (format == "avif") {
    auto* avif = spec.mutable_avif();
    if (quality >= 0) avif->set_quality(quality);
  } else if (format == "heic") {
    auto* heic = spec.mutable_heic();
    if (quality >= 0) heic->set_quality(quality);
  } else if (format == "tiff") {
    spec.mutable_tiff();  // deflate; 16-bit from a 16-bit chain
  } else if (format == "raw") {
    if ((dtype != "uint8" && dtype != "float32" && dtype != "uint16" && dtype != "float16") ||
        (layout != "hwc" && layout != "chw")) {
      return absl::InvalidArgumentError("raw output needs dtype uint8|uint16|float32|float16 and layout hwc|chw");
    }
    spec.mutable_raw()->set_dtype(dtype == "float32"   ? pb::DTYPE_FLOAT32
                                  : dtype == "float16" ? pb::DTYPE_FLOAT16
                                  : dtype == "uint16"  ? pb::DTYPE_UINT16
                                                       : pb::DTYPE_UINT8);
    spec.mutable_raw()->set_layout(layout == "chw" ? pb::LAYOUT_CHW : pb::LAYOUT_HWC);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("output format must be jpeg, png, webp, avif, heic, tiff or raw (got '", format, "')"));
  }
  return spec;
}

absl::Status SetEncoderOptions(bool progressive, const std::string& chroma_subsampling, bool optimize, int speed,
                               pb::OutputSpec& spec) {
  pb::ChromaSubsampling chroma = pb::CHROMA_SUBSAMPLING_UNSPECIFIED;
  if (chroma_subsampling == "420") {
    chroma = pb::CHROMA_SUBSAMPLING_420;
  } else if (chroma_subsampling == "422") {
    chroma = pb::CHROMA_SUBSAMPLING_422;
  } else if (chroma_subsampling == "444") {
    chroma = pb::CHROMA_SUBSAMPLING_444;
  } else if (!chroma_subsampling.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chroma subsampling must be 420, 422 or 444 (got '", chroma_subsampling, "')"));
  }
  if (spec.has_jpeg() || spec.format_case() == pb::OutputSpec::FORMAT_NOT_SET) {
    if (speed >= 0) return absl::InvalidArgumentError("speed is an AVIF and HEIC option");
    auto* jpeg = spec.mutable_jpeg();
    jpeg->set_progressive(progressive);
    jpeg->set_chroma_subsampling(chroma);
    jpeg->set_optimize(optimize);
  } else if (spec.has_avif()) {
    if (progressive || optimize) return absl::InvalidArgumentError("progressive and optimize are JPEG options");
    if (speed >= 0) spec.mutable_avif()->set_speed(speed);
    spec.mutable_avif()->set_chroma_subsampling(chroma);
  } else if (spec.has_heic()) {
    if (progressive || optimize) return absl::InvalidArgumentError("progressive and optimize are JPEG options");
    if (speed >= 0) spec.mutable_heic()->set_speed(speed);
    spec.mutable_heic()->set_chroma_subsampling(chroma);
  } else if (progressive || optimize || speed >= 0 || !chroma_subsampling.empty()) {
    return absl::InvalidArgumentError(
        "progressive, chroma subsampling, optimize and speed are JPEG, AVIF and HEIC options");
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::MetadataPolicy> ParseMetadataPolicy(const std::string& words) {
  pb::MetadataPolicy policy;
  if (words.empty() || words == "none") return policy;
  for (absl::string_view word : absl::StrSplit(words, ',')) {
    if (word == "icc") {
      policy.set_keep_icc_profile(true);
    } else if (word == "xmp") {
      policy.set_keep_xmp(true);
    } else if ((word == "exif" || word == "copyright") && policy.exif() != pb::EXIF_POLICY_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          "metadata: exif and copyright exclude each other (copyright keeps EXIF's Copyright and Artist alone)");
    } else if (word == "exif") {
      policy.set_exif(pb::EXIF_POLICY_KEEP);
    } else if (word == "copyright") {
      policy.set_exif(pb::EXIF_POLICY_COPYRIGHT_ONLY);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata: '", word, "' is not one of icc, exif, copyright, xmp, none"));
    }
  }
  return policy;
}

}  // namespace imgproc::cli
