#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Routes jobs to device pools: the one a request names, otherwise the one with the least work. Bounds the
// encoded input held by all pools together (`max_queued_bytes`), beside each pool's own bound.
class Scheduler {
 public:
  explicit Scheduler(std::vector<std::unique_ptr<WorkerPool>> pools, int64_t max_queued_bytes = INT64_MAX);

  // INVALID_ARGUMENT for an unknown device name; otherwise what the pool's Submit says.
  absl::Status Submit(Job job, absl::string_view device);
  void Shutdown();

  const std::vector<std::unique_ptr<WorkerPool>>& pools() const { return pools_; }

 private:
  std::vector<std::unique_ptr<WorkerPool>> pools_;
  const int64_t max_queued_bytes_;
  std::atomic<int64_t> queued_bytes_{0};
};

}  // namespace imgproc
