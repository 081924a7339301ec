#include "imgproc_testing/engine.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <variant>

#include "absl/strings/match.h"
#include "ops/operation.h"
#include "transport/request_translation.h"

namespace imgproc::testing {

OpCall ToOpCall(const OpSpec& op) {
  OpCall call{op.name, {}};
  if (OpRegistry::All().empty()) {
    // Before the operations registered themselves (a static initializer): the arguments could not be typed.
    std::cerr << "test operation " << op.name << " made before any operation was registered\n";
    std::abort();
  }
  const OpDefinition* definition = OpRegistry::Find(op.name);
  for (const auto& [name, arg] : op.args) {
    OpArgs::Value value = arg.value();
    if (definition != nullptr) {
      const ParamInfo* param = nullptr;
      for (const ParamInfo& p : definition->params) {
        if (p.name == name) param = &p;
      }
      if (param == nullptr) {
        std::cerr << "bad test operation " << op.name << ": no parameter " << name << "\n";
        std::abort();
      }
      const int64_t* integer = std::get_if<int64_t>(&value);
      if (integer != nullptr && param->type != "int32" && absl::EndsWith(param->type, "double") &&
          !absl::StartsWith(param->type, "repeated")) {
        value = static_cast<double>(*integer);
      }
    }
    call.args.Set(name, std::move(value));
  }
  return call;
}

Request::Request(std::string image) { Image(std::move(image)); }

Request& Request::Image(std::string bytes) {
  image_owner_ = std::make_shared<const std::string>(std::move(bytes));
  image = *image_owner_;
  return *this;
}

Request& Request::Then(const OpSpec& op) {
  operations.push_back(ToOpCall(op));
  return *this;
}

Request& Request::Then(std::string op, std::vector<std::pair<std::string, ArgValue>> args) {
  return Then(Op(std::move(op), std::move(args)));
}

Request& Request::Decode(DecodeMode mode) {
  decode_mode = mode;
  return *this;
}

Request& Request::DecodeDepth(Depth depth) {
  decode_depth = depth;
  return *this;
}

Request& Request::Output(OutputFormat format) {
  output.format = format;
  output.format_named = true;
  return *this;
}

Request& Request::Quality(int value) {
  output.quality = value;
  return *this;
}

Request& Request::CompressionLevel(int level) {
  output.compression_level = level;
  return *this;
}

Request& Request::Raw(Depth depth, Layout layout) {
  Output(OutputFormat::kRaw);
  output.raw_depth = depth;
  output.raw_layout = layout;
  return *this;
}

Request& Request::Color(ColorPolicy policy) {
  color_policy = policy;
  return *this;
}

Request& Request::IgnoreExifOrientation() {
  ignore_exif_orientation = true;
  return *this;
}

Request& Request::DisableShrinkOnLoad() {
  disable_shrink_on_load = true;
  return *this;
}

Request& Request::StrictDecode() {
  strict_decode = true;
  return *this;
}

Request CaseRequest(const std::string& image, const OpCase& c, Depth depth) {
  Request request(image);
  request.Decode(c.decode == pb::DECODE_MODE_GRAYSCALE   ? DecodeMode::kGrayscale
                 : c.decode == pb::DECODE_MODE_UNCHANGED ? DecodeMode::kUnchanged
                                                         : DecodeMode::kColor);
  for (const OpSpec& op : c.chain) request.Then(op);
  return request.Raw(depth).DisableShrinkOnLoad();
}

std::string DecodeModeName(DecodeMode mode) {
  return mode == DecodeMode::kGrayscale ? "grayscale" : mode == DecodeMode::kUnchanged ? "unchanged" : "color";
}

cv::Mat DecodeLikeServer(const std::string& bytes, DecodeMode mode) {
  return DecodeLikeServer(bytes, mode == DecodeMode::kGrayscale   ? pb::DECODE_MODE_GRAYSCALE
                                 : mode == DecodeMode::kUnchanged ? pb::DECODE_MODE_UNCHANGED
                                                                  : pb::DECODE_MODE_COLOR);
}

cv::Mat RawToMat(const EncodedImage& answer, Depth depth) {
  const int channels = answer.spec.channels;
  const int type = CV_MAKETYPE(CvDepth(depth), channels);
  cv::Mat m(answer.spec.height, answer.spec.width, type);
  if (answer.bytes.size() != m.total() * m.elemSize()) return cv::Mat();
  std::memcpy(m.data, answer.bytes.data(), answer.bytes.size());
  return m;
}

namespace {

absl::StatusOr<JobResult> RunPlan(ExecutionLane& lane, absl::StatusOr<Plan> plan, absl::string_view input,
                                  const RunOptions& options) {
  if (!plan.ok()) return plan.status();
  if (options.plan != nullptr) *options.plan = *plan;
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = input;  // the request's, read while the lane runs
  return lane.Run(job);
}

}  // namespace

absl::StatusOr<JobResult> RunPlanOn(ExecutionLane& lane, const ImageRequest& request, const RunOptions& options) {
  return RunPlan(lane, BuildPlan(request, options.limits), request.image, options);
}

absl::StatusOr<JobResult> RunPlanOn(ExecutionLane& lane, const imgproc::v1::ProcessRequest& request,
                                    const RunOptions& options) {
  return RunPlan(lane, BuildPlan(request, options.limits), request.image(), options);
}

}  // namespace imgproc::testing
