#include "pipeline/plan.h"

#include "absl/strings/str_cat.h"
#include "codec/codec.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

absl::StatusOr<Plan> BuildPlan(const pb::ProcessRequest& request, const ImageLimits& limits) {
  Plan plan;
  if (!pb::DecodeMode_IsValid(request.decode_mode())) {
    return absl::InvalidArgumentError(absl::StrCat("decode_mode: unknown value ", request.decode_mode()));
  }
  plan.decode_mode = request.decode_mode();
  if (request.operations_size() > limits.max_operations) {
    return absl::InvalidArgumentError(absl::StrCat("operations: ", request.operations_size(),
                                                   " steps, over the limit of ", limits.max_operations));
  }
  if (static_cast<int64_t>(request.image().size()) > limits.max_input_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("image is ", request.image().size(), " bytes, over the limit of ",
                                                   limits.max_input_bytes));
  }
  absl::StatusOr<ImageHeader> header = ReadImageHeader(request.image());
  if (!header.ok()) return header.status();
  plan.header = *header;
  if (absl::Status s = CheckHeaderLimits(plan.header, request.image().size(), limits); !s.ok()) return s;
  plan.decoded = DecodedSpec(plan.header, plan.decode_mode);

  ImageSpec current = plan.decoded;
  plan.steps.reserve(request.operations_size());
  for (int i = 0; i < request.operations_size(); ++i) {
    const pb::Operation& op = request.operations(i);
    const OpDefinition* def = OpRegistry::Find(op.op_case());
    if (def == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "operations[", i, "]: ", op.op_case() == pb::Operation::OP_NOT_SET
                                       ? "no operation set"
                                       : absl::StrCat("unknown operation (field ", static_cast<int>(op.op_case()), ")")));
    }
    StepBinder binder(i, def->name, current, limits);
    if (absl::Status s = def->bind(op, binder); !s.ok()) return s;
    plan.steps.push_back(binder.Take());
    current = plan.steps.back().output;
  }
  plan.result = current;
  if (absl::Status s = ValidateOutputSpec(request.output(), current); !s.ok()) return s;
  plan.output = request.output();
  return plan;
}

}  // namespace imgproc
