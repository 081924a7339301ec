#pragma once
// A count of units (decoded images held for lanes, say) that takers wait for: Acquire(n) blocks until n are
// free. Several takers may wait at once for different amounts, so every release wakes them all: waking one
// could pick a taker that still cannot proceed and leave another asleep whose amount is free.

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace imgproc {

class CountedBudget {
 public:
  explicit CountedBudget(int limit) : available_(limit) {}
  CountedBudget(const CountedBudget&) = delete;
  CountedBudget& operator=(const CountedBudget&) = delete;

  // Waits until n are available, then takes them.
  void Acquire(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return available_ >= n; });
    available_ -= n;
  }
  // Acquire, but gives up after `timeout` (false: nothing taken), so that a long wait can be reported.
  bool TryAcquireFor(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return available_ >= n; })) return false;
    available_ -= n;
    return true;
  }
  void Release(int n = 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      available_ += n;
    }
    cv_.notify_all();
  }
  int available() const {
    std::lock_guard<std::mutex> lock(mu_);
    return available_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int available_ ABSL_GUARDED_BY(mu_);
};

}  // namespace imgproc
