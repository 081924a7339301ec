#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Routes jobs to device pools: the one a request names, otherwise the one with the least work.
class Scheduler {
 public:
  explicit Scheduler(std::vector<std::unique_ptr<WorkerPool>> pools);

  // INVALID_ARGUMENT for an unknown device name; otherwise what the pool's Submit says.
  absl::Status Submit(Job job, absl::string_view device);
  void Shutdown();

  const std::vector<std::unique_ptr<WorkerPool>>& pools() const { return pools_; }

 private:
  std::vector<std::unique_ptr<WorkerPool>> pools_;
};

}  // namespace imgproc
