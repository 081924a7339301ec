#include "ops/operation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/named_registry.h"
#include "ops/interruptible_call.h"

namespace imgproc {

void StepBinder::SetCpuInterruptible(CpuImpl impl) {
  op_.cpu = [impl = std::move(impl)](int, const cv::Mat& in, cv::Mat& out, const CpuPassContext& ctx) {
    return RunInterruptibly(ctx, [&] { impl(in, out); });
  };
}

StepBinder::StepBinder(int index, std::string name, const ImageSpec& input, const ImageLimits& limits)
    : limits_(limits) {
  op_.index = index;
  op_.name = std::move(name);
  op_.input = input;
  op_.output = input;
}

absl::Status StepBinder::Invalid(const std::string& field, const std::string& reason) const {
  return absl::InvalidArgumentError(absl::StrCat("operations[", op_.index, "].", op_.name, ".", field, ": ", reason));
}

absl::Status StepBinder::Unsupported(const std::string& reason) const {
  return absl::InvalidArgumentError(absl::StrCat("operations[", op_.index, "].", op_.name, ": ", reason, " (input is ",
                                                 op_.input.DebugString(), ")"));
}

absl::Status StepBinder::RequireDepth(const std::vector<Depth>& allowed) const {
  std::vector<std::string> names;
  for (Depth d : allowed) {
    if (op_.input.depth == d) return absl::OkStatus();
    names.push_back(DepthName(d));
  }
  return Unsupported(absl::StrCat("takes ", absl::StrJoin(names, " or "), " pixels"));
}

absl::Status StepBinder::RequireChannels(std::initializer_list<int> allowed) const {
  for (int c : allowed) {
    if (op_.input.channels == c) return absl::OkStatus();
  }
  return Unsupported(absl::StrCat("needs ", absl::StrJoin(allowed, " or "), " channel(s)"));
}

BoundOp StepBinder::Take() {
  if (op_.work_per_pass <= 0) op_.work_per_pass = std::max(PixelChannels(op_.input), PixelChannels(op_.output));
  return std::move(op_);
}

namespace {
NamedRegistry<OpDefinition>& Definitions() {
  static auto* definitions = new NamedRegistry<OpDefinition>("operation");
  return *definitions;
}
}  // namespace

bool OpRegistry::Register(OpDefinition def) {
  std::string name = def.name;
  Definitions().Add(std::move(name), std::move(def));
  return true;
}

const OpDefinition* OpRegistry::Find(absl::string_view name) { return Definitions().Find(name); }

std::vector<const OpDefinition*> OpRegistry::All() {
  std::vector<const OpDefinition*> all;
  for (const auto& [name, def] : Definitions().All()) all.push_back(def);
  return all;
}

}  // namespace imgproc
