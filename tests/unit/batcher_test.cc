// The dynamic batcher, and a worker pool with a front stage built on it in front of real CPU lanes: the
// shape of the CUDA backend's JPEG decode stage, whose own tests need a GPU (tests/gpu).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "scheduler/counted_budget.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// What a batcher handed to its processing function.
struct Batches {
  std::mutex mu;
  std::vector<std::vector<int>> batches;
  std::condition_variable cv;
  void Add(std::vector<int> batch) {
    std::lock_guard<std::mutex> lock(mu);
    batches.push_back(std::move(batch));
    cv.notify_all();
  }
  // Waits (bounded) until `items` items have been processed.
  bool WaitFor(size_t items) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, seconds(30), [&] { return ItemsLocked() >= items; });
  }
  size_t Items() {
    std::lock_guard<std::mutex> lock(mu);
    return ItemsLocked();
  }
  size_t ItemsLocked() const {
    size_t n = 0;
    for (const auto& b : batches) n += b.size();
    return n;
  }
};

// Holds whoever waits on it until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A batcher whose first batch (the item -1) is held at a gate: while it is, the batcher is busy.
struct BusyBatcher {
  Batches out;
  Gate gate;
  std::atomic<bool> holding{false};
  DynamicBatcher<int> batcher;
  explicit BusyBatcher(BatcherOptions options)
      : batcher(options, [this](int, std::vector<int> b) {
          if (b == std::vector<int>{-1}) {
            holding = true;
            gate.Wait();
          }
          out.Add(std::move(b));
        }) {
    batcher.Add(-1);
    const auto give_up = std::chrono::steady_clock::now() + seconds(30);
    while (!holding && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(milliseconds(1));
    EXPECT_TRUE(holding) << "the first item should have gone at once, the batcher being idle";
  }
  ~BusyBatcher() {
    gate.Open();
    batcher.Shutdown();
  }
};

TEST(DynamicBatcherTest, ALoneItemGoesAtOnceWhenNoBatchIsProcessed) {
  Batches out;
  DynamicBatcher<int> batcher({64, seconds(60), 2}, [&](int, std::vector<int> b) { out.Add(std::move(b)); });
  batcher.Add(7);
  ASSERT_TRUE(out.WaitFor(1)) << "a lone item waited for the 60 s delay while nothing was processed";
  EXPECT_EQ(out.batches[0], std::vector<int>{7});
}

TEST(DynamicBatcherTest, WhileABatchIsProcessedAFullBatchGoesWithoutWaitingForTheDelay) {
  BusyBatcher busy({8, seconds(60), 2});
  for (int i = 0; i < 8; ++i) busy.batcher.Add(i);
  ASSERT_TRUE(busy.out.WaitFor(8)) << "a full batch waited for the 60 s delay";
  std::lock_guard<std::mutex> lock(busy.out.mu);
  ASSERT_EQ(busy.out.batches.size(), 1u) << "the first batch is still held";
  EXPECT_EQ(busy.out.batches[0], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));  // oldest first
}

TEST(DynamicBatcherTest, WhileABatchIsProcessedAPartialBatchGoesWhenItsOldestItemHasWaitedTheDelay) {
  BusyBatcher busy({64, milliseconds(200), 2});
  for (int i = 0; i < 3; ++i) busy.batcher.Add(i);
  ASSERT_TRUE(busy.out.WaitFor(3));
  std::lock_guard<std::mutex> lock(busy.out.mu);
  ASSERT_EQ(busy.out.batches.size(), 1u) << "the three items should have waited for one another";
  EXPECT_EQ(busy.out.batches[0].size(), 3u);
}

TEST(DynamicBatcherTest, WhatWaitedForAFullerBatchGoesAtOnceWhenTheBatchBeingProcessedEnds) {
  BusyBatcher busy({64, seconds(60), 1});
  for (int i = 0; i < 3; ++i) busy.batcher.Add(i);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(busy.out.Items(), 0u) << "nothing goes while the only thread is held";
  busy.gate.Open();
  ASSERT_TRUE(busy.out.WaitFor(4)) << "the three waited for the 60 s delay once the batcher was idle";
  std::lock_guard<std::mutex> lock(busy.out.mu);
  ASSERT_EQ(busy.out.batches.size(), 2u);
  EXPECT_EQ(busy.out.batches[1], (std::vector<int>{0, 1, 2}));
}

TEST(DynamicBatcherTest, ShutdownProcessesWhatIsQueuedAtOnce) {
  Batches out;
  DynamicBatcher<int> batcher({64, seconds(60), 2}, [&](int, std::vector<int> b) { out.Add(std::move(b)); });
  for (int i = 0; i < 5; ++i) batcher.Add(i);
  batcher.Shutdown();  // does not wait out the 60 s
  EXPECT_EQ(out.Items(), 5u);
}

TEST(DynamicBatcherTest, ConcurrentProducersEveryItemOnceInBatchesNoLargerThanTheMaximum) {
  constexpr int kProducers = 8, kPerProducer = 500, kMaxBatch = 16;
  Batches out;
  std::atomic<int> threads_seen_mask{0};
  DynamicBatcher<int> batcher({kMaxBatch, milliseconds(2), 2}, [&](int thread, std::vector<int> b) {
    threads_seen_mask |= 1 << thread;
    std::this_thread::sleep_for(milliseconds(1));  // a batch takes time, so the queue fills meanwhile
    out.Add(std::move(b));
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) batcher.Add(p * kPerProducer + i);
    });
  }
  for (auto& t : producers) t.join();
  batcher.Shutdown();
  std::set<int> seen;
  size_t largest = 0;
  for (const auto& b : out.batches) {
    largest = std::max(largest, b.size());
    for (int item : b) EXPECT_TRUE(seen.insert(item).second) << "item " << item << " processed twice";
  }
  EXPECT_EQ(seen.size(), size_t{kProducers * kPerProducer});
  EXPECT_LE(largest, size_t{kMaxBatch});
  EXPECT_EQ(largest, size_t{kMaxBatch}) << "under load batches should fill";
  EXPECT_LT(out.batches.size(), size_t{kProducers * kPerProducer / 2});
  EXPECT_EQ(threads_seen_mask.load(), 3) << "both batcher threads should have taken batches";
}

// Two decode threads wait for the budget at once, for different amounts: each must wake as soon as its own amount
// is free, whichever the other needs. (With one wake-up per release, the small taker could sleep on while its
// units sat free, and with the lanes idle nothing would release more: the decode stage would stop.)
TEST(CountedBudgetTest, EachWaiterWakesWhenItsAmountIsFreeWhateverTheOtherNeeds) {
  for (int round = 0; round < 50; ++round) {
    CountedBudget budget(0);
    std::promise<void> small_taken, large_taken;
    std::thread large([&] {
      budget.Acquire(64);
      large_taken.set_value();
    });
    std::this_thread::sleep_for(milliseconds(2));  // the large taker usually waits first, the longest
    std::thread small([&] {
      budget.Acquire(10);
      small_taken.set_value();
    });
    std::this_thread::sleep_for(milliseconds(2));
    budget.Release(10);  // a batch's worth at once, as when the engine takes fewer than were reserved
    std::future<void> small_done = small_taken.get_future(), large_done = large_taken.get_future();
    const bool small_woke = small_done.wait_for(seconds(5)) == std::future_status::ready;
    // Let both finish whatever happened above, so that the threads can be joined, also with a budget that wakes
    // one taker per release.
    budget.Release(64);
    const bool large_woke = large_done.wait_for(seconds(5)) == std::future_status::ready;
    auto ready = [](std::future<void>& f) { return f.wait_for(milliseconds(1)) == std::future_status::ready; };
    int nudges = 0;
    for (; nudges < 1000 && !(ready(small_done) && ready(large_done)); ++nudges) budget.Release(1);
    large.join();
    small.join();
    ASSERT_TRUE(small_woke) << "round " << round << ": 10 units were free but the taker of 10 slept on";
    EXPECT_TRUE(large_woke) << "round " << round << ": 64 units were free but the taker of 64 slept on";
    EXPECT_EQ(budget.available(), nudges);
  }
}

// A front stage on the batcher: marks each job as having passed through it, forwards it to the lanes.
struct Marked final : StagedInput {};

class MarkingStage final : public FrontStage {
 public:
  // With a gate, each batch waits at it before it is marked and forwarded.
  MarkingStage(BatcherOptions options, ForwardFn forward, PoolObserver* observer, Gate* gate)
      : forward_(std::move(forward)), observer_(observer), batcher_(options, [this, gate](int, std::vector<Job> jobs) {
          if (gate != nullptr) gate->Wait();
          if (observer_) observer_->OnBatch("cpu", BatchReport{jobs.size()});
          for (Job& job : jobs) job.staged = std::make_shared<Marked>();
          forward_(std::move(jobs));
        }) {}
  bool Wants(const Job& job) const override { return job.plan->header.format == ImageFormat::kJpeg; }
  void Add(Job job) override { batcher_.Add(std::move(job)); }
  void Shutdown() override { batcher_.Shutdown(); }

 private:
  ForwardFn forward_;
  PoolObserver* observer_;
  DynamicBatcher<Job> batcher_;
};

class CountingObserver final : public PoolObserver {
 public:
  void OnQueueDepth(const std::string&, size_t) override {}
  void OnJobDone(const std::string&, const Job& job, const absl::StatusOr<JobResult>& r, bool, int64_t) override {
    std::lock_guard<std::mutex> lock(mu);
    (r.ok() ? ok : failed)++;
    if (job.staged != nullptr) ++staged;
  }
  void OnBatch(const std::string&, const BatchReport& batch) override {
    std::lock_guard<std::mutex> lock(mu);
    batched += static_cast<int>(batch.size);
    ++batches;
  }
  std::mutex mu;
  int ok = 0, failed = 0, staged = 0, batched = 0, batches = 0;
};

std::shared_ptr<const Plan> FlipPlan(const std::string& image) {
  const Request request = Request(image).Then("flip");
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  EXPECT_TRUE(plan.ok()) << plan.status();
  return std::make_shared<const Plan>(*std::move(plan));
}

FrontStageFactory MarkingStageFactory(BatcherOptions options, Gate* gate = nullptr) {
  return [options, gate](ForwardFn forward, PoolObserver* observer) {
    return std::make_unique<MarkingStage>(options, std::move(forward), observer, gate);
  };
}

TEST(FrontStageTest, JobsItWantsPassThroughItOthersGoStraightToTheLanes) {
  const std::string jpeg = EncodeAs(GeneratedImage(96, 64), ".jpg");
  const std::string png = EncodeAs(GeneratedImage(96, 64), ".png");
  auto jpeg_plan = FlipPlan(jpeg), png_plan = FlipPlan(png);
  CountingObserver observer;
  std::atomic<int> answers{0};
  {
    WorkerPool pool(CpuDeviceDescription(), 2, 256, CpuLaneFactory(), &observer,
                    MarkingStageFactory({8, milliseconds(1), 2}));
    for (int i = 0; i < 100; ++i) {
      Job job;
      job.plan = i % 4 == 0 ? png_plan : jpeg_plan;
      job.input = i % 4 == 0 ? png : jpeg;
      job.done = [&](absl::StatusOr<JobResult> r) {
        EXPECT_TRUE(r.ok()) << r.status();
        ++answers;
      };
      pool.Submit(std::move(job));
    }
    pool.Shutdown();
  }
  EXPECT_EQ(answers, 100);
  EXPECT_EQ(observer.ok, 100);
  EXPECT_EQ(observer.staged, 75) << "the JPEG jobs, and only they, pass through the front stage";
  EXPECT_EQ(observer.batched, 75);
  EXPECT_LE(observer.batches, 75);
}

TEST(FrontStageTest, QueueCapacityCountsJobsWaitingInTheFrontStageAndShutdownDrainsThem) {
  const std::string jpeg = EncodeAs(GeneratedImage(64, 64), ".jpg");
  auto plan = FlipPlan(jpeg);
  CountingObserver observer;
  std::atomic<int> answers{0};
  // The first job's batch is held at a gate, and behind it a 60 s batching delay: the accepted jobs wait in the
  // front stage.
  Gate gate;
  WorkerPool pool(CpuDeviceDescription(), 1, 4, CpuLaneFactory(), &observer,
                  MarkingStageFactory({64, seconds(60), 1}, &gate));
  std::atomic<int> refused{0};
  for (int i = 0; i < 6; ++i) {
    Job job;
    job.plan = plan;
    job.input = jpeg;
    job.done = [&](absl::StatusOr<JobResult> r) {
      answers += r.ok();
      refused += r.status().code() == absl::StatusCode::kResourceExhausted;
    };
    pool.Submit(std::move(job));  // a refusal is answered at once, before Submit returns
  }
  const int accepted = 6 - refused;
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(pool.load(), 4u);
  gate.Open();
  pool.Shutdown();
  EXPECT_EQ(answers, 4) << "shutdown must run what the front stage held";
  EXPECT_EQ(observer.staged, 4);
}

}  // namespace
}  // namespace imgproc::testing
