#pragma once
// Things registered by name from static initializers (operations, a backend's kernels): a name registered twice is
// a programming error that ends the program at start-up with a message naming it, so that no build with it can
// serve. Registration happens before main, lookups after, so no lock is needed.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace imgproc {

template <typename T>
class NamedRegistry {
 public:
  // `what` names a registered thing in the message, e.g. "operation": "operation 'flip' is registered twice".
  explicit NamedRegistry(const char* what) : what_(what) {}

  void Add(std::string name, T value) {
    if (entries_.count(name) != 0) {
      std::fprintf(stderr, "imgproc: %s '%s' is registered twice\n", what_, name.c_str());
      std::abort();
    }
    entries_.emplace(std::move(name), std::move(value));
  }
  const T* Find(absl::string_view name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // By name.
  std::vector<std::pair<const std::string*, const T*>> All() const {
    std::vector<std::pair<const std::string*, const T*>> all;
    for (const auto& [name, value] : entries_) all.emplace_back(&name, &value);
    return all;
  }

 private:
  const char* const what_;
  std::map<std::string, T, std::less<>> entries_;
};

}  // namespace imgproc
