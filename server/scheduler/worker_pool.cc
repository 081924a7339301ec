#include "scheduler/worker_pool.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/mutex.h"
#include "scheduler/thread_name.h"

namespace imgproc {
namespace {

// The shutdown estimate's unit of cost is a tap of an operation (Plan::work); decoding and encoding an image cost
// about this many taps per pixel-channel (a 2560x1600 JPEG decodes in ~30 ms on one core of the development host,
// where a bilateral filter runs ~0.25 ns a tap), so a chain of cheap steps still costs its codecs' time.
constexpr double kCodecTapsPerPixelChannel = 16;
// A job's estimated time is stretched by this much before it is held against the shutdown deadline: a job that
// might just fit is refused at once rather than cut at the deadline.
constexpr double kShutdownEstimateSafety = 1.25;
// The weight of the latest job in the moving average of the time per unit of cost.
constexpr double kServiceTimeSmoothing = 0.25;

double JobCost(const Job& job) {
  if (job.plan == nullptr) return 1;
  const ImageSpec& decoded = job.plan->decoded;
  return 1 + job.plan->work +
         kCodecTapsPerPixelChannel * static_cast<double>(decoded.pixels()) * std::max(1, decoded.channels);
}

absl::Status ShutdownGraceEndedError(bool ran) {
  return absl::UnavailableError(absl::StrCat("server is shutting down: the shutdown grace ended ",
                                             ran ? "while this request ran, which stopped it" : "before it ran",
                                             "; retry on another replica"));
}

absl::Status SkippedAfterDeadlineError(const Job& job, Clock::time_point now, const std::string& device) {
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - job.arrival);
  return absl::DeadlineExceededError(absl::StrCat("deadline passed after ", waited.count(),
                                                  " ms waiting in the queue of ", device, "; the work was skipped"));
}

absl::Status SkippedAfterCancellationError() {
  return absl::CancelledError("request cancelled by the client before it ran; the work was skipped");
}

}  // namespace

WorkerPool::WorkerPool(DeviceDescription device, int workers, size_t queue_capacity, LaneFactory factory,
                       PoolObserver* observer, FrontStageFactory front_stage, int64_t max_queued_bytes,
                       int64_t max_pixel_bytes)
    : device_(std::move(device)),
      capacity_(queue_capacity),
      max_queued_bytes_(max_queued_bytes),
      max_pixel_bytes_(max_pixel_bytes),
      factory_(std::move(factory)),
      observer_(observer) {
  {
    MutexLock lock(&mu_);
    running_jobs_.resize(std::max(0, workers));
  }
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
  std::vector<std::pair<Job, absl::Status>> abandoned;
  absl::Status refused = Admit(job, to_front_stage, abandoned);
  for (auto& [gone, why] : abandoned) AnswerUnrun(std::move(gone), std::move(why));
  if (!refused.ok()) {
    if (job.done) job.done(std::move(refused));  // outside the lock: done may take time or submit again
    return;
  }
  if (!to_front_stage) cv_.Signal();
}

absl::Status WorkerPool::Admit(Job& job, bool to_front_stage, std::vector<std::pair<Job, absl::Status>>& abandoned) {
  MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is shutting down");
  if (!out_of_service_.ok()) return out_of_service_;
  const int64_t bytes = static_cast<int64_t>(job.input.size());
  const int64_t pixels = job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
  if (queue_.size() + in_front_stage_ >= capacity_ || queued_bytes_ + bytes > max_queued_bytes_ ||
      pixel_bytes_ + pixels > max_pixel_bytes_) {
    TakeOutAbandonedLocked(abandoned);
  }
  if (queue_.size() + in_front_stage_ >= capacity_) {
    return QueueFullError(
        absl::StrCat("queue of ", device_.name, " is full (", capacity_, " requests waiting); retry later"));
  }
  if (queued_bytes_ + bytes > max_queued_bytes_) {
    return QueueFullError(absl::StrCat("queue of ", device_.name, " is full: its requests hold ", queued_bytes_,
                                       " bytes of input and this one ", bytes, ", over its limit of ",
                                       max_queued_bytes_, " bytes of queued input; retry later"),
                          bytes <= max_queued_bytes_);
  }
  if (pixel_bytes_ + pixels > max_pixel_bytes_) {
    return QueueFullError(absl::StrCat("queue of ", device_.name, " is full: its requests will hold up to ",
                                       pixel_bytes_, " bytes of decoded pixels and this one ", pixels,
                                       ", over its limit of ", max_pixel_bytes_, "; retry later"),
                          pixels <= max_pixel_bytes_);
  }
  queued_bytes_ += bytes;
  pixel_bytes_ += pixels;
  // Lanes stop between passes once the client cancels, and so also once the shutdown grace is over.
  job.cancelled = [this, client = std::move(job.cancelled)] { return ShutdownGraceOver() || (client && client()); };
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

void WorkerPool::TakeOutAbandonedLocked(std::vector<std::pair<Job, absl::Status>>& abandoned) {
  // A worker would only skip these when it reached them; until then they would hold places that a full queue
  // refuses live requests for, such as the retry of the client whose deadline passed.
  const Clock::time_point now = Clock::now();
  std::deque<Job> kept;
  for (Job& job : queue_) {
    absl::Status why;
    if (now > job.deadline) {
      why = SkippedAfterDeadlineError(job, now, device_.name);
    } else if (job.cancelled && job.cancelled()) {
      why = SkippedAfterCancellationError();
    } else {
      kept.push_back(std::move(job));
      continue;
    }
    queued_bytes_ -= static_cast<int64_t>(job.input.size());
    pixel_bytes_ -= job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
    abandoned.emplace_back(std::move(job), std::move(why));
  }
  const bool took_some = kept.size() != queue_.size();
  queue_.swap(kept);
  if (took_some) ReportQueueDepthLocked();
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

void WorkerPool::BeginShutdown(Clock::time_point deadline) {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (deadline.time_since_epoch().count() < shutdown_deadline_.load()) {
      shutdown_deadline_.store(deadline.time_since_epoch().count());
    }
  }
  cv_.SignalAll();
  RefuseWhatTheGraceCannotCover();
}

bool WorkerPool::ShutdownGraceOver() const {
  return Clock::now().time_since_epoch().count() > shutdown_deadline_.load(std::memory_order_relaxed);
}

void WorkerPool::RefuseWhatTheGraceCannotCover() {
  std::vector<std::pair<Job, absl::Status>> refused;
  {
    MutexLock lock(&mu_);
    const Clock::time_point deadline{Clock::duration(shutdown_deadline_.load())};
    // Before any job has run there is nothing to judge from: the queue runs, and the deadline still bounds it.
    if (!stopping_ || deadline == Clock::time_point::max() || micros_per_cost_ <= 0 || queue_.empty()) return;
    const Clock::time_point now = Clock::now();
    const double micros_per_cost = micros_per_cost_ * kShutdownEstimateSafety;
    const auto estimate = [micros_per_cost](double cost) {
      return std::chrono::microseconds(static_cast<int64_t>(cost * micros_per_cost));
    };
    // When each worker comes free, then the queue in order, each job to the worker free first (as they take them).
    std::vector<Clock::time_point> free_at;
    for (const RunningJob& running : running_jobs_) {
      free_at.push_back(running.busy ? std::max(now, running.start + estimate(running.cost)) : now);
    }
    if (free_at.empty()) return;
    std::deque<Job> kept;
    for (Job& job : queue_) {
      const auto worker = std::min_element(free_at.begin(), free_at.end());
      const Clock::time_point finish = *worker + estimate(JobCost(job));
      if (finish <= deadline) {
        *worker = finish;
        kept.push_back(std::move(job));
        continue;
      }
      queued_bytes_ -= static_cast<int64_t>(job.input.size());
      pixel_bytes_ -= job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
      const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
      absl::Status why = absl::UnavailableError(absl::StrFormat(
          "server is shutting down: this request would not finish within the shutdown grace (%s's %d workers "
          "would end it in about %.1f s, %.1f s are left); retry on another replica",
          device_.name, static_cast<int>(free_at.size()), seconds(finish - now), seconds(deadline - now)));
      refused.emplace_back(std::move(job), std::move(why));
    }
    queue_.swap(kept);
    if (!refused.empty()) ReportQueueDepthLocked();
  }
  for (auto& [job, why] : refused) AnswerUnrun(std::move(job), std::move(why));
}

void WorkerPool::AnswerUnrun(Job job, absl::Status status) {
  absl::StatusOr<JobResult> result = std::move(status);
  if (observer_) observer_->OnJobDone(device_.name, job, result, /*skipped=*/true, 0);
  job.done(std::move(result));
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
  IMGPROC_LOG(kError) << device_.name << " failed and is out of service: " << failure
                      << "; it takes no more requests and its queued ones are answered UNAVAILABLE";
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
      running_jobs_[index] = {true, Clock::now(), JobCost(job)};
    }
    const Clock::time_point start = Clock::now();
    const int64_t queue_wait_us = MicrosSince(job.arrival, start);
    const bool batched = job.left_front_stage != Clock::time_point();
    absl::StatusOr<JobResult> result;
    bool skipped = true;
    bool ran = false;
    if (ShutdownGraceOver()) {
      result = ShutdownGraceEndedError(/*ran=*/false);
    } else if (!out_of_service.ok()) {
      // Its lane would only fail the same way, or worse, answer from a device whose memory can no longer be trusted.
      skipped = false;
      result = out_of_service;
    } else if (start > job.deadline) {
      result = SkippedAfterDeadlineError(job, start, device_.name);
    } else if (job.cancelled && job.cancelled()) {
      result = SkippedAfterCancellationError();
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
      ran = true;
      // The lane saw the cancellation that the end of the grace is (see Admit), which the client did not ask for.
      if (result.status().code() == absl::StatusCode::kCancelled && ShutdownGraceOver()) {
        result = ShutdownGraceEndedError(/*ran=*/true);
      }
    }
    const int64_t busy_us = skipped ? 0 : MicrosSince(start);
    if (result.ok()) {
      result->timings.queue_wait_us = batched ? MicrosSince(job.left_front_stage, start) : queue_wait_us;
      result->timings.batch_wait_us = batched ? MicrosSince(job.arrival, job.left_front_stage) : 0;
      result->timings.total_us = MicrosSince(job.arrival);
      result->device = device_.name;
    }
    bool judge_the_queue;
    {
      MutexLock lock(&mu_);
      --running_;
      queued_bytes_ -= static_cast<int64_t>(job.input.size());
      pixel_bytes_ -= job.plan != nullptr ? job.plan->peak_pixel_bytes : 0;
      running_jobs_[index].busy = false;
      if (ran && result.ok()) {
        const double micros_per_cost = static_cast<double>(busy_us) / JobCost(job);
        micros_per_cost_ = micros_per_cost_ <= 0
                               ? micros_per_cost
                               : micros_per_cost_ + kServiceTimeSmoothing * (micros_per_cost - micros_per_cost_);
      }
      judge_the_queue = stopping_ && !queue_.empty();
    }
    if (observer_) observer_->OnJobDone(device_.name, job, result, skipped, busy_us);
    job.done(std::move(result));
    // Each finished job says more about the service time: what no longer fits the grace is told so now.
    if (judge_the_queue) RefuseWhatTheGraceCannotCover();
  }
}

}  // namespace imgproc
