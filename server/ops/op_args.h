#pragma once
// An operation's arguments by parameter name, as a frontend gave them: what an operation's Bind reads. The gRPC
// frontend fills them from the request's proto message by its field names (transport/request_translation.cc), so
// that no operation knows a wire type and any other frontend (a library call, a batch tool) can drive the same
// definitions.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace imgproc {

class OpArgs {
 public:
  // Integers, reals, flags, an enumeration's value by name ("BORDER_CONSTANT"), lists of reals.
  using Value = std::variant<int64_t, double, bool, std::string, std::vector<double>>;

  OpArgs& Set(std::string name, Value value);

  // An argument is absent when the frontend did not give it; for the proto frontend that is an unset `optional`
  // field (plain proto3 fields are always present, at their zero value when not sent).
  bool Has(absl::string_view name) const { return Find(name) != nullptr; }

  // The value of an argument of that type, or `fallback` when it is absent (or of another type, which the schema
  // test rules out for the proto frontend).
  int Int(absl::string_view name, int fallback = 0) const;
  double Double(absl::string_view name, double fallback = 0) const;
  bool Bool(absl::string_view name, bool fallback = false) const;
  // An enumeration's value name; "" when absent.
  absl::string_view Enum(absl::string_view name) const;
  absl::Span<const double> Doubles(absl::string_view name) const;

 private:
  const Value* Find(absl::string_view name) const;

  std::vector<std::pair<std::string, Value>> values_;  // a handful per operation: a list beats a map
};

// One step of a chain as a frontend asked for it: the operation's name (the proto's Operation field) and its
// arguments.
struct OpCall {
  std::string name;
  OpArgs args;
};

}  // namespace imgproc
