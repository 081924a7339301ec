#include "scheduler/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/client_text.h"

namespace imgproc {

Scheduler::Scheduler(std::vector<std::unique_ptr<WorkerPool>> pools, int64_t max_queued_bytes,
                     NoDeviceLeftFn on_no_device_left)
    : pools_(std::move(pools)), max_queued_bytes_(max_queued_bytes), on_no_device_left_(std::move(on_no_device_left)) {
  for (auto& pool : pools_) pool->SetFailureListener([this](const absl::Status&) { OnDeviceFailed(); });
}

bool Scheduler::serving() const {
  for (const auto& pool : pools_) {
    if (pool->out_of_service().ok()) return true;
  }
  return false;
}

void Scheduler::OnDeviceFailed() {
  if (serving() || no_device_reported_.exchange(true)) return;
  if (on_no_device_left_) on_no_device_left_(NoDeviceInService());
}

absl::Status Scheduler::NoDeviceInService() const {
  std::vector<std::string> failures;
  for (const auto& pool : pools_) failures.push_back(std::string(pool->out_of_service().message()));
  return absl::UnavailableError(absl::StrCat("no device is in service: ", absl::StrJoin(failures, "; ")));
}

void Scheduler::Submit(Job job, absl::string_view device) {
  absl::StatusOr<WorkerPool*> target = Route(device);
  if (!target.ok()) {
    if (job.done) job.done(target.status());
    return;
  }
  const int64_t bytes = static_cast<int64_t>(job.input.size());
  const int64_t held = queued_bytes_.fetch_add(bytes) + bytes;
  if (held > max_queued_bytes_) {
    queued_bytes_ -= bytes;
    if (job.done) {
      job.done(QueueFullError(
          absl::StrCat("the server is full: its requests hold ", held - bytes, " bytes of input and this one ", bytes,
                       ", over its limit of ", max_queued_bytes_, " bytes of queued input; retry later"),
          bytes <= max_queued_bytes_));
    }
    return;
  }
  // The pool calls done in every outcome, its refusals included: the bytes are given back there.
  job.done = [this, bytes, done = std::move(job.done)](absl::StatusOr<JobResult> result) {
    queued_bytes_ -= bytes;
    if (done) done(std::move(result));
  };
  (*target)->Submit(std::move(job));
}

absl::StatusOr<WorkerPool*> Scheduler::Route(absl::string_view device) const {
  if (!device.empty()) {
    for (const auto& pool : pools_) {
      if (pool->device().name == device) return pool.get();
    }
    std::vector<std::string> names;
    for (const auto& pool : pools_) names.push_back(pool->device().name);
    return absl::InvalidArgumentError(absl::StrCat("device: ", QuoteClientText(device),
                                                   " is not on this server; available: ", absl::StrJoin(names, ", ")));
  }
  // The least work per worker: devices of more workers take proportionally more, and a faster device, whose
  // work drains sooner, more again. Ties go to the first device.
  WorkerPool* target = nullptr;
  size_t target_load = 0, target_workers = 1;
  for (const auto& pool : pools_) {
    if (!pool->out_of_service().ok()) continue;
    const size_t load = pool->load(), workers = std::max(1, pool->workers());
    if (target == nullptr || load * target_workers < target_load * workers) {
      target = pool.get();
      target_load = load;
      target_workers = workers;
    }
  }
  if (target == nullptr) return pools_.empty() ? absl::UnavailableError("no devices") : NoDeviceInService();
  return target;
}

void Scheduler::BeginShutdown(Clock::time_point deadline) {
  for (auto& pool : pools_) pool->BeginShutdown(deadline);
}

void Scheduler::Shutdown() {
  for (auto& pool : pools_) pool->Shutdown();
}

}  // namespace imgproc
