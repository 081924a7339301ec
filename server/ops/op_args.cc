#include "ops/op_args.h"

namespace imgproc {

OpArgs& OpArgs::Set(std::string name, Value value) {
  for (auto& [existing, old] : values_) {
    if (existing == name) {
      old = std::move(value);
      return *this;
    }
  }
  values_.emplace_back(std::move(name), std::move(value));
  return *this;
}

const OpArgs::Value* OpArgs::Find(absl::string_view name) const {
  for (const auto& [existing, value] : values_) {
    if (existing == name) return &value;
  }
  return nullptr;
}

int OpArgs::Int(absl::string_view name, int fallback) const {
  const Value* v = Find(name);
  const int64_t* i = v ? std::get_if<int64_t>(v) : nullptr;
  return i ? static_cast<int>(*i) : fallback;
}

double OpArgs::Double(absl::string_view name, double fallback) const {
  const Value* v = Find(name);
  const double* d = v ? std::get_if<double>(v) : nullptr;
  return d ? *d : fallback;
}

bool OpArgs::Bool(absl::string_view name, bool fallback) const {
  const Value* v = Find(name);
  const bool* b = v ? std::get_if<bool>(v) : nullptr;
  return b ? *b : fallback;
}

absl::string_view OpArgs::Enum(absl::string_view name) const {
  const Value* v = Find(name);
  const std::string* s = v ? std::get_if<std::string>(v) : nullptr;
  return s ? absl::string_view(*s) : absl::string_view();
}

absl::Span<const double> OpArgs::Doubles(absl::string_view name) const {
  const Value* v = Find(name);
  const std::vector<double>* list = v ? std::get_if<std::vector<double>>(v) : nullptr;
  return list ? absl::Span<const double>(*list) : absl::Span<const double>();
}

}  // namespace imgproc
