#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "core/device.h"
#include "core/job.h"
#include "core/lane.h"

namespace imgproc {

// Marks the RESOURCE_EXHAUSTED of a full queue, which waiting and trying again can cure (unlike running out of
// memory), so that the transport can tell the client when to retry.
inline constexpr absl::string_view kQueueFullPayload = "imgproc/scheduler/queue_full";
inline bool IsQueueFull(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted && status.GetPayload(kQueueFullPayload).has_value();
}
// RESOURCE_EXHAUSTED with `message`, marked as a full queue when `curable` (a request larger than the whole
// bound will not fit later either).
inline absl::Status QueueFullError(absl::string_view message, bool curable = true) {
  absl::Status full = absl::ResourceExhaustedError(message);
  if (curable) full.SetPayload(kQueueFullPayload, absl::Cord());
  return full;
}

// One batch of a front stage: its size, and where its thread's time went, so that an operator can tell a
// stage bound by its engine from one that waits for the lanes.
struct BatchReport {
  size_t size = 0;                // jobs processed as one batch
  int64_t wait_for_lanes_us = 0;  // waiting for lanes to finish with earlier batches' images
  int64_t prepare_us = 0;         // headers, output memory
  int64_t engine_us = 0;          // the batched call (and waiting for the engine's lock)
  int64_t forward_us = 0;         // handing the batch on to the lanes
};

// Observes a pool from the side (metrics); called on submitting and worker threads, must not block.
class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  virtual void OnQueueDepth(const std::string& device, size_t depth) = 0;
  // `skipped`: the job never ran (deadline passed or cancelled while queued); `busy_us`: worker time spent.
  virtual void OnJobDone(const std::string& device, const Job& job, const absl::StatusOr<JobResult>& result,
                         bool skipped, int64_t busy_us) = 0;
  // A front stage processed a batch (the GPU decode batcher).
  virtual void OnBatch(const std::string& device, const BatchReport& batch) {}
  // The device failed (DeviceFailure says what broke it) and is out of service; called once.
  virtual void OnDeviceFailed(const std::string& device, const std::string& failure) {}
};

// A stage between admission and the lanes that takes some jobs first (the per-GPU JPEG decode batcher). It
// must hand every job it takes back to the pool through the `forward` it was made with, processed or not,
// also when shutting down; the lanes then run them.
class FrontStage {
 public:
  virtual ~FrontStage() = default;
  virtual bool Wants(const Job& job) const = 0;
  virtual void Add(Job job) = 0;
  // Forwards everything it holds, then stops its threads.
  virtual void Shutdown() = 0;
};
// Hands jobs on to the lanes, a batch at a time (one lock for the lot, not one per job).
using ForwardFn = std::function<void(std::vector<Job> jobs)>;
// Made by the pool, which passes where jobs go next and its observer.
using FrontStageFactory = std::function<std::unique_ptr<FrontStage>(ForwardFn forward, PoolObserver* observer)>;

// One device's workers and its bounded queue. Each worker owns one execution lane for its whole life. With a
// front stage, the jobs it wants pass through it before they reach the lanes; the queue capacity counts them
// wherever they wait. Once a lane reports that the device failed (DeviceFailedError), the pool is out of service
// for good: it refuses new jobs and answers those still queued with UNAVAILABLE instead of running them.
class WorkerPool {
 public:
  // Returns once every worker has made its lane and the front stage is ready, so that the first requests do not
  // wait for device set-up.
  // `max_queued_bytes` bounds the encoded input that queued and running jobs hold, as `queue_capacity` bounds
  // their number: 256 requests of 64 MB would otherwise be 16 GB. `max_pixel_bytes` bounds the same jobs'
  // decoded pixels (each plan's peak), counted from admission: what a queued job will need once it runs.
  WorkerPool(DeviceDescription device, int workers, size_t queue_capacity, LaneFactory factory,
             PoolObserver* observer = nullptr, FrontStageFactory front_stage = nullptr,
             int64_t max_queued_bytes = INT64_MAX, int64_t max_pixel_bytes = INT64_MAX);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Takes the job and with it `job.done`, which is called exactly once in every outcome: with the result, or at
  // once on the caller's thread when the pool refuses the job: RESOURCE_EXHAUSTED when the queue is full, in
  // requests or bytes (IsQueueFull), UNAVAILABLE once shutdown began or the device failed.
  void Submit(Job job);
  // OK when every worker made its lane, else why the first could not (its jobs are answered with that error).
  // Lanes are made when the pool is built, so a server checks this before it serves.
  absl::Status lanes_status() const;
  // OK while the device serves; once it failed, the UNAVAILABLE that its requests get ("device cuda:0 is out of
  // service: <what broke it>").
  absl::Status out_of_service() const;
  // Called once when the device fails, on the worker thread that saw it, after the pool is out of service; at once
  // when it already is. Must not block. For the scheduler, which decides whether any device is left.
  void SetFailureListener(std::function<void(const absl::Status& out_of_service)> listener);
  // The start of an orderly stop with a deadline (the server's --shutdown_grace): from now on new jobs are refused
  // (UNAVAILABLE). Queued jobs that the workers cannot finish by `deadline`, judged from the service times seen so
  // far (each job's cost, its plan's work and pixels, times the recent time per unit of cost, with a safety margin),
  // are answered at once with UNAVAILABLE, so that their clients can retry elsewhere instead of waiting for a cut;
  // the judgement is made again as each job finishes. At the deadline what still runs is cancelled (lanes stop
  // between passes) and what is still queued is skipped, both answered UNAVAILABLE. Returns at once.
  void BeginShutdown(Clock::time_point deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Stops accepting, runs what is queued (within BeginShutdown's deadline if there was one), joins the workers.
  // Idempotent.
  void Shutdown();

  const DeviceDescription& device() const { return device_; }
  int workers() const { return static_cast<int>(threads_.size()); }
  size_t queue_capacity() const { return capacity_; }
  size_t load() const;  // queued (in the front stage too) plus running: what the scheduler balances on
  PoolObserver* observer() const { return observer_; }

 private:
  void WorkerLoop(int index);
  void Forward(std::vector<Job> jobs);  // from the front stage to the lanes
  void ReportQueueDepthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::unique_ptr<ExecutionLane>> MakeLane(int index);
  // Queues the job (moving it into the queue or the front stage), or says why not and leaves it as it was. When a
  // bound would refuse it, queued jobs whose clients have gone (deadline passed, or cancelled) are first taken out
  // into `abandoned`, with the status to answer them, outside the lock.
  absl::Status Admit(Job& job, bool to_front_stage, std::vector<std::pair<Job, absl::Status>>& abandoned)
      ABSL_LOCKS_EXCLUDED(mu_);
  void TakeOutAbandonedLocked(std::vector<std::pair<Job, absl::Status>>& abandoned) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeOutOfService(const std::string& failure) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether BeginShutdown's deadline has passed: what jobs' `cancelled` also says, so that lanes stop then.
  bool ShutdownGraceOver() const;
  // Takes out of the queue the jobs that the workers cannot finish by the shutdown deadline (see BeginShutdown)
  // and answers them, outside the lock.
  void RefuseWhatTheGraceCannotCover() ABSL_LOCKS_EXCLUDED(mu_);
  // Answers a job that never ran with `status` (the accounting of its bytes released by the caller).
  void AnswerUnrun(Job job, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  // What a worker is running, for the shutdown estimate.
  struct RunningJob {
    bool busy = false;
    Clock::time_point start;
    double cost = 0;
  };

  const DeviceDescription device_;
  const size_t capacity_;
  const int64_t max_queued_bytes_;
  const int64_t max_pixel_bytes_;
  LaneFactory factory_;
  PoolObserver* const observer_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  size_t in_front_stage_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // input of queued and running jobs
  int64_t pixel_bytes_ ABSL_GUARDED_BY(mu_) = 0;   // their plans' peak pixel memory
  int lanes_made_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status lanes_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status out_of_service_ ABSL_GUARDED_BY(mu_);  // OK while the device serves
  std::function<void(const absl::Status&)> failure_listener_ ABSL_GUARDED_BY(mu_);
  // Microseconds of a worker per unit of JobCost, a moving average of the jobs that ran; 0 before the first.
  double micros_per_cost_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<RunningJob> running_jobs_ ABSL_GUARDED_BY(mu_);  // one per worker
  // BeginShutdown's deadline as Clock ticks (max: none), read without the lock by every job's `cancelled`.
  std::atomic<Clock::rep> shutdown_deadline_{Clock::duration::max().count()};
  std::vector<std::thread> threads_;
  std::unique_ptr<FrontStage> front_stage_;  // made last, shut down first
};

}  // namespace imgproc
