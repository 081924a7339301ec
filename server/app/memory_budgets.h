#pragma once
// The admission budgets the server runs with: each one the configuration sets, else its share of the memory limit
// (common/memory_limit.h).

#include <cstdint>
#include <string>

#include "app/server_config.h"
#include "common/memory_limit.h"
#include "metrics/service_metrics.h"

namespace imgproc {

// Exports them as gauges and says them in one line (`said`), which is printed once the server listens: the first
// line stays the "listening" one that scripts and tests read.
MemoryBudgets ChooseMemoryBudgets(const ServerConfig& config, int devices, int64_t largest_message,
                                  ServiceMetrics& metrics, std::string* said);

}  // namespace imgproc
