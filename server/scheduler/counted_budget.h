#pragma once
// A count of units (decoded images held for lanes, say) that takers wait for: Acquire(n) blocks until n are
// free. Several takers may wait at once for different amounts, so every release wakes them all: waking one
// could pick a taker that still cannot proceed and leave another asleep whose amount is free.

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace imgproc {

class CountedBudget {
 public:
  explicit CountedBudget(int limit) : available_(limit) {}
  CountedBudget(const CountedBudget&) = delete;
  CountedBudget& operator=(const CountedBudget&) = delete;

  // Waits until n are available, then takes them.
  void Acquire(int n) {
    MutexLock lock(&mu_);
    while (available_ < n) cv_.Wait(&mu_);
    available_ -= n;
  }
  // Acquire, but gives up after `timeout` (false: nothing taken), so that a long wait can be reported.
  bool TryAcquireFor(int n, std::chrono::milliseconds timeout) {
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (available_ < n) {
      if (cv_.WaitUntil(&mu_, deadline) && available_ < n) return false;
    }
    available_ -= n;
    return true;
  }
  void Release(int n = 1) {
    {
      MutexLock lock(&mu_);
      available_ += n;
    }
    cv_.SignalAll();
  }
  int available() const {
    MutexLock lock(&mu_);
    return available_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_;
  int available_ ABSL_GUARDED_BY(mu_);
};

}  // namespace imgproc
