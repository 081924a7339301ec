#include "scheduler/worker_pool.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "scheduler/thread_name.h"

namespace imgproc {

WorkerPool::WorkerPool(DeviceDescription device, int workers, size_t queue_capacity, LaneFactory factory,
                       PoolObserver* observer, FrontStageFactory front_stage, int64_t max_queued_bytes,
                       int64_t max_pixel_bytes)
    : device_(std::move(device)),
      capacity_(queue_capacity),
      max_queued_bytes_(max_queued_bytes),
      max_pixel_bytes_(max_pixel_bytes),
      factory_(std::move(factory)),
      observer_(observer) {
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
  if (front_stage) front_stage_ = front_stage([this](std::vector<Job> jobs) { Forward(std::move(jobs)); }, observer_);
  MutexLock lock(&mu_);
  while (lanes_made_ != workers) cv_.Wait(&mu_);
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::ReportQueueDepthLocked() {
  // Under the lock: reported after it, a worker's report of a shorter queue could land first and leave the
  // gauge showing a request that had already run.
  if (observer_) observer_->OnQueueDepth(device_.name, queue_.size() + in_front_stage_);
}

void WorkerPool::Submit(Job job) {
  const bool to_front_stage = front_stage_ != nullptr && front_stage_->Wants(job);
  absl::Status refused = Admit(job, to_front_stage);
  if (!refused.ok()) {
    if (job.done) job.done(std::move(refused));  // outside the lock: done may take time or submit again
    return;
  }
  if (!to_front_stage) cv_.Signal();
}

absl::Status WorkerPool::Admit(Job& job, bool to_front_stage) {
  MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (!out_of_service_.ok()) return out_of_service_;
  if (queue_.size() + in_front_stage_ >= capacity_) {
    return QueueFullError(
        absl::StrCat("queue of ", device_.name, " is full (", capacity_, " requests waiting); retry later"));
  }
  const int64_t bytes = static_cast<int64_t>(job.input.size());
  if (queued_bytes_ + bytes > max_queued_bytes_) {
    return QueueFullError(absl::StrCat("queue of ", device_.name, " is full: its requests hold ", queued_bytes_,
                                       " bytes of input and this one ", bytes, ", over its limit of ",
                                       max_queued_bytes_, " (--max_queued_bytes_per_device); retry later"),
                          bytes <= max_queued_bytes_);
  }
  const int64_t pixels = job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
  if (pixel_bytes_ + pixels > max_pixel_bytes_) {
    return QueueFullError(absl::StrCat("queue of ", device_.name, " is full: its requests will hold up to ",
                                       pixel_bytes_, " bytes of decoded pixels and this one ", pixels,
                                       ", over its limit of ", max_pixel_bytes_, " (--max_pixel_bytes); retry later"),
                          pixels <= max_pixel_bytes_);
  }
  queued_bytes_ += bytes;
  pixel_bytes_ += pixels;
  if (to_front_stage) {
    // Under the lock, so that Shutdown cannot stop the front stage between admission and Add.
    ++in_front_stage_;
    front_stage_->Add(std::move(job));
  } else {
    queue_.push_back(std::move(job));
  }
  ReportQueueDepthLocked();
  return absl::OkStatus();
}

void WorkerPool::Forward(std::vector<Job> jobs) {
  const Clock::time_point now = Clock::now();
  {
    MutexLock lock(&mu_);
    in_front_stage_ -= jobs.size();
    for (Job& job : jobs) {
      job.left_front_stage = now;
      queue_.push_back(std::move(job));
    }
  }
  if (jobs.size() == 1) {
    cv_.Signal();
  } else {
    cv_.SignalAll();
  }
}

void WorkerPool::Shutdown() {
  {
    MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  // The front stage forwards what it holds before the workers are told to finish what is queued.
  if (front_stage_) front_stage_->Shutdown();
  cv_.SignalAll();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

absl::Status WorkerPool::out_of_service() const {
  MutexLock lock(&mu_);
  return out_of_service_;
}

void WorkerPool::SetFailureListener(std::function<void(const absl::Status&)> listener) {
  absl::Status already;
  {
    MutexLock lock(&mu_);
    failure_listener_ = listener;
    already = out_of_service_;
  }
  if (!already.ok() && listener) listener(already);
}

void WorkerPool::TakeOutOfService(const std::string& failure) {
  absl::Status out_of_service;
  std::function<void(const absl::Status&)> listener;
  {
    MutexLock lock(&mu_);
    if (!out_of_service_.ok()) return;  // another lane of the device saw the same failure first
    out_of_service_ = absl::UnavailableError(absl::StrCat("device ", device_.name, " is out of service: ", failure));
    out_of_service = out_of_service_;
    listener = failure_listener_;
  }
  std::cerr << "imgproc: " << device_.name << " failed and is out of service: " << failure
            << "; it takes no more requests and its queued ones are answered UNAVAILABLE" << std::endl;
  if (observer_) observer_->OnDeviceFailed(device_.name, failure);
  if (listener) listener(out_of_service);
}

size_t WorkerPool::load() const {
  MutexLock lock(&mu_);
  return queue_.size() + in_front_stage_ + running_;
}

absl::StatusOr<std::unique_ptr<ExecutionLane>> WorkerPool::MakeLane(int index) {
  absl::StatusOr<std::unique_ptr<ExecutionLane>> made;
  try {
    made = factory_(index);
  } catch (const std::exception& e) {  // a throwing lane constructor must not end the process on this thread
    made = absl::InternalError(e.what());
  }
  if (made.ok() && *made == nullptr) made = absl::InternalError("the lane factory made no lane");
  if (!made.ok()) {
    return absl::Status(made.status().code(), absl::StrCat("worker ", index, " of ", device_.name,
                                                           " has no execution lane: ", made.status().message()));
  }
  return made;
}

absl::Status WorkerPool::lanes_status() const {
  MutexLock lock(&mu_);
  return lanes_status_;
}

void WorkerPool::WorkerLoop(int index) {
  NameThisThread(absl::StrCat(device_.name, "-lane", index));
  absl::StatusOr<std::unique_ptr<ExecutionLane>> made = MakeLane(index);
  std::unique_ptr<ExecutionLane> lane;
  const absl::Status no_lane = made.status();  // what this worker's jobs are answered with if it has none
  {
    MutexLock lock(&mu_);
    ++lanes_made_;
    if (made.ok()) {
      lane = *std::move(made);
    } else if (lanes_status_.ok()) {
      lanes_status_ = made.status();
    }
  }
  cv_.SignalAll();
  for (;;) {
    Job job;
    absl::Status out_of_service;
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !(stopping_ && in_front_stage_ == 0)) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything queued has run
      job = std::move(queue_.front());
      queue_.pop_front();
      ReportQueueDepthLocked();
      ++running_;
      out_of_service = out_of_service_;
    }
    const Clock::time_point start = Clock::now();
    const int64_t queue_wait_us = MicrosSince(job.arrival, start);
    const bool batched = job.left_front_stage != Clock::time_point();
    absl::StatusOr<JobResult> result;
    bool skipped = true;
    if (!out_of_service.ok()) {
      // Its lane would only fail the same way, or worse, answer from a device whose memory can no longer be trusted.
      skipped = false;
      result = out_of_service;
    } else if (start > job.deadline) {
      result = absl::DeadlineExceededError(absl::StrCat("deadline passed after ", queue_wait_us / 1000,
                                                        " ms waiting in the queue of ", device_.name,
                                                        "; the work was skipped"));
    } else if (job.cancelled && job.cancelled()) {
      result = absl::CancelledError("request cancelled by the client before it ran; the work was skipped");
    } else if (lane == nullptr) {
      skipped = false;
      result = no_lane;
    } else {
      skipped = false;
      try {
        result = lane->Run(job);
      } catch (const std::bad_alloc&) {
        result = absl::ResourceExhaustedError("out of host memory while processing the request");
      } catch (const std::exception& e) {
        result = absl::InternalError(absl::StrCat("unexpected error on ", device_.name, ": ", e.what()));
      }
      if (std::optional<std::string> failure = DeviceFailure(result.status())) TakeOutOfService(*failure);
    }
    if (result.ok()) {
      result->timings.queue_wait_us = batched ? MicrosSince(job.left_front_stage, start) : queue_wait_us;
      result->timings.batch_wait_us = batched ? MicrosSince(job.arrival, job.left_front_stage) : 0;
      result->timings.total_us = MicrosSince(job.arrival);
      result->device = device_.name;
    }
    {
      MutexLock lock(&mu_);
      --running_;
      queued_bytes_ -= static_cast<int64_t>(job.input.size());
      pixel_bytes_ -= job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
    }
    if (observer_) observer_->OnJobDone(device_.name, job, result, skipped, skipped ? 0 : MicrosSince(start));
    job.done(std::move(result));
  }
}

}  // namespace imgproc
