#include "scheduler/scheduler.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/client_text.h"

namespace imgproc {

Scheduler::Scheduler(std::vector<std::unique_ptr<WorkerPool>> pools) : pools_(std::move(pools)) {}

absl::Status Scheduler::Submit(Job job, absl::string_view device) {
  WorkerPool* target = nullptr;
  if (!device.empty()) {
    for (auto& pool : pools_) {
      if (pool->device().name == device) target = pool.get();
    }
    if (target == nullptr) {
      std::vector<std::string> names;
      for (auto& pool : pools_) names.push_back(pool->device().name);
      return absl::InvalidArgumentError(
          absl::StrCat("device: ", QuoteClientText(device), " is not on this server; available: ",
                       absl::StrJoin(names, ", ")));
    }
  } else {
    size_t best = SIZE_MAX;
    for (auto& pool : pools_) {
      const size_t load = pool->load();
      if (load < best) {
        best = load;
        target = pool.get();
      }
    }
  }
  if (target == nullptr) return absl::UnavailableError("no devices");
  return target->Submit(std::move(job));
}

void Scheduler::Shutdown() {
  for (auto& pool : pools_) pool->Shutdown();
}

}  // namespace imgproc
