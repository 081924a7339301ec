#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "backend/lane.h"
#include "scheduler/job.h"

namespace imgproc {

// Observes a pool from the side (metrics); called on submitting and worker threads, must not block.
class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  virtual void OnQueueDepth(const std::string& device, size_t depth) = 0;
  // `skipped`: the job never ran (deadline passed or cancelled while queued); `busy_us`: worker time spent.
  virtual void OnJobDone(const std::string& device, const Job& job, const absl::StatusOr<JobResult>& result,
                         bool skipped, int64_t busy_us) = 0;
};

// One device's workers and its bounded queue. Each worker owns one execution lane for its whole life.
class WorkerPool {
 public:
  WorkerPool(DeviceDescription device, int workers, size_t queue_capacity, LaneFactory factory,
             PoolObserver* observer = nullptr);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE once shutdown began; `job.done` is then not called.
  absl::Status Submit(Job job);
  // Stops accepting, runs what is queued, joins the workers. Idempotent.
  void Shutdown();

  const DeviceDescription& device() const { return device_; }
  int workers() const { return static_cast<int>(threads_.size()); }
  size_t queue_capacity() const { return capacity_; }
  size_t load() const;  // queued plus running: what the scheduler balances on

 private:
  void WorkerLoop(int index);

  const DeviceDescription device_;
  const size_t capacity_;
  LaneFactory factory_;
  PoolObserver* const observer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace imgproc
