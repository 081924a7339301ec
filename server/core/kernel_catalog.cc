#include "core/kernel_catalog.h"

#include <map>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace imgproc {
namespace {

struct Catalog {
  Mutex mu;  // recorded from static initializers, read at start-up: the lock is for the rare late caller
  std::multimap<std::string, BackendKernelInfo, std::less<>> kernels ABSL_GUARDED_BY(mu);
};

Catalog& TheCatalog() {
  static auto* catalog = new Catalog();
  return *catalog;
}

}  // namespace

void RecordBackendKernel(std::string op, BackendKernelInfo info) {
  Catalog& c = TheCatalog();
  MutexLock lock(&c.mu);
  c.kernels.emplace(std::move(op), std::move(info));
}

std::vector<BackendKernelInfo> BackendKernelsFor(absl::string_view op) {
  Catalog& c = TheCatalog();
  MutexLock lock(&c.mu);
  std::vector<BackendKernelInfo> found;
  auto [first, last] = c.kernels.equal_range(op);
  for (auto it = first; it != last; ++it) found.push_back(it->second);
  return found;
}

}  // namespace imgproc
