#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Routes jobs to device pools: the one a request names, otherwise the one in service with the least work per worker
// (queued and running jobs over its workers). Bounds
// the encoded input held by all pools together (`max_queued_bytes`), beside each pool's own bound.
class Scheduler {
 public:
  // Called once, on the worker thread that saw the last device fail, when no device is left in service, with the
  // UNAVAILABLE that requests get from then on. Must not block.
  using NoDeviceLeftFn = std::function<void(const absl::Status& unavailable)>;

  explicit Scheduler(std::vector<std::unique_ptr<WorkerPool>> pools, int64_t max_queued_bytes = INT64_MAX,
                     NoDeviceLeftFn on_no_device_left = nullptr);
  // Shuts down first: the pools' workers call back into the scheduler until they are joined.
  ~Scheduler() { Shutdown(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Takes the job and with it `job.done`, called exactly once in every outcome (WorkerPool::Submit): at once with
  // INVALID_ARGUMENT for an unknown device name, UNAVAILABLE naming the failure for a device out of service or
  // when none is left, RESOURCE_EXHAUSTED over --max_queued_bytes, or the pool's refusal.
  void Submit(Job job, absl::string_view device);
  // WorkerPool::BeginShutdown on every pool: refuse new jobs, answer at once the queued ones that cannot finish by
  // `deadline`, cancel what is left at it. Returns at once; Shutdown joins.
  void BeginShutdown(Clock::time_point deadline);
  void Shutdown();

  // Whether some device is still in service.
  bool serving() const;
  const std::vector<std::unique_ptr<WorkerPool>>& pools() const { return pools_; }

 private:
  void OnDeviceFailed();
  absl::Status NoDeviceInService() const;
  // The named device's pool, or the least loaded one in service.
  absl::StatusOr<WorkerPool*> Route(absl::string_view device) const;

  std::vector<std::unique_ptr<WorkerPool>> pools_;
  const int64_t max_queued_bytes_;
  const NoDeviceLeftFn on_no_device_left_;
  std::atomic<int64_t> queued_bytes_{0};
  std::atomic<bool> no_device_reported_{false};
};

}  // namespace imgproc
