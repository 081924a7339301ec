#include "app/memory_budgets.h"

#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace imgproc {

MemoryBudgets ChooseMemoryBudgets(const ServerConfig& config, int devices, int64_t largest_message,
                                  ServiceMetrics& metrics, std::string* said) {
  const MemoryLimit limit = DetectMemoryLimit(config.memory_limit_root, PhysicalMemoryBytes());
  for (const std::string& problem : limit.problems) {
    IMGPROC_LOG(kWarning) << "memory limit: passed over " << problem;
  }
  MemoryBudgets budgets = DeriveMemoryBudgets(limit.bytes, devices, largest_message);
  struct Choice {
    const char* name;
    int64_t* bytes;
    int64_t flag;
    std::string flag_name, derivation;
  };
  const auto percent = [](double share) { return absl::StrCat(static_cast<int>(share * 100 + 0.5), "% of it"); };
  Choice choices[] = {
      {"queued_input", &budgets.queued_input_bytes, config.max_queued_bytes, "--max_queued_bytes",
       percent(kQueuedInputShare)},
      {"pixels_per_device", &budgets.pixel_bytes_per_device, config.max_pixel_bytes, "--max_pixel_bytes",
       absl::StrCat(percent(kPixelShare), devices > 1 ? absl::StrCat(" / ", devices, " devices") : "")},
      {"grpc_quota", &budgets.grpc_quota_bytes, config.grpc_memory_quota, "--grpc_memory_quota",
       percent(kGrpcQuotaShare)},
  };
  if (budgets.grpc_quota_bytes > DeriveMemoryBudgets(limit.bytes, devices, 0).grpc_quota_bytes) {
    choices[2].derivation = absl::StrCat("one largest request, above ", choices[2].derivation);
  }
  std::vector<ServiceMetrics::MemoryBudget> gauges;
  std::string line = absl::StrCat("imgproc memory limit ", HumanBytes(limit.bytes), " (", limit.source, "); budgets:");
  const char* labels[] = {" queued input ", ", decoded pixels per device ", ", gRPC receive quota "};
  for (size_t i = 0; i < std::size(choices); ++i) {
    Choice& c = choices[i];
    if (c.flag > 0) *c.bytes = c.flag;
    absl::StrAppend(&line, labels[i], HumanBytes(*c.bytes), " (", c.flag > 0 ? c.flag_name : c.derivation, ")");
    gauges.push_back({c.name, *c.bytes, c.flag > 0});
  }
  *said = std::move(line);
  metrics.SetMemoryBudgets(limit.bytes, limit.kind, gauges);
  return budgets;
}

}  // namespace imgproc
