#pragma once
// A dynamic batcher after Triton's: while a batch is being processed, items wait until a batch of `max_batch` is
// full or the oldest item has waited `max_delay`, whichever comes first, then one of the batcher's threads takes
// everything queued (up to `max_batch`) and processes it as one batch. Under load the queue fills while a batch
// runs, so batches grow on their own. When no batch is being processed nothing is gained by waiting (the device
// behind the batcher is idle), so what is queued goes at once: a lone request pays no batching delay.
//
// The batcher does not bound its queue: whoever admits items (WorkerPool) does, before Add.

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "scheduler/thread_name.h"

namespace imgproc {

struct BatcherOptions {
  int max_batch = 64;
  std::chrono::microseconds max_delay{500};
  int threads = 1;
  std::string thread_name = "batcher";  // threads are named thread_name + index, as top -H shows them
};

template <typename T>
class DynamicBatcher {
 public:
  // Called on batcher thread `thread_index` (0 .. threads-1) with 1 .. max_batch items, oldest first.
  using ProcessFn = std::function<void(int thread_index, std::vector<T> batch)>;

  DynamicBatcher(BatcherOptions options, ProcessFn process) : options_(options), process_(std::move(process)) {
    if (options_.max_batch < 1) options_.max_batch = 1;
    if (options_.threads < 1) options_.threads = 1;
    for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { Loop(i); });
  }
  ~DynamicBatcher() { Shutdown(); }
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // After Shutdown began, items are still processed: shutdown drains, it never drops.
  void Add(T item) {
    {
      MutexLock lock(&mu_);
      queue_.push_back({std::move(item), Clock::now()});
    }
    cv_.Signal();
  }

  // Processes what is queued without waiting for the delay, then joins the threads. Idempotent.
  void Shutdown() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    cv_.SignalAll();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  size_t queued() const {
    MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    T item;
    Clock::time_point added;
  };

  void Loop(int index) {
    NameThisThread(options_.thread_name + std::to_string(index));
    for (;;) {
      std::vector<T> batch;
      bool more = false;
      {
        MutexLock lock(&mu_);
        while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
        if (queue_.empty()) return;  // stopping and drained
        // While another batch is processed, wait for a full batch until the oldest item's delay is spent; wakes on
        // every Add and whenever a batch ends.
        while (!stopping_ && busy_ > 0 && !queue_.empty() && static_cast<int>(queue_.size()) < options_.max_batch) {
          const Clock::time_point due = queue_.front().added + options_.max_delay;
          if (Clock::now() >= due) break;
          cv_.WaitUntil(&mu_, due);
        }
        if (queue_.empty()) continue;  // another thread took them
        const size_t n = std::min<size_t>(queue_.size(), options_.max_batch);
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front().item));
          queue_.pop_front();
        }
        more = !queue_.empty();
        ++busy_;
      }
      if (more) cv_.Signal();  // the rest is another thread's next batch
      process_(index, std::move(batch));
      bool idle_with_items = false;
      {
        MutexLock lock(&mu_);
        idle_with_items = --busy_ == 0 && !queue_.empty();
      }
      if (idle_with_items) cv_.Signal();  // a thread waiting for a fuller batch need wait no longer
    }
  }

  BatcherOptions options_;
  ProcessFn process_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;  // threads processing a batch
  std::vector<std::thread> threads_;
};

}  // namespace imgproc
