// Worker pools and the scheduler with real CPU lanes.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

struct Collected {
  std::mutex mu;
  std::vector<absl::StatusCode> codes;
  void Add(absl::StatusCode c) {
    std::lock_guard<std::mutex> lock(mu);
    codes.push_back(c);
  }
  int Count(absl::StatusCode c) {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<int>(std::count(codes.begin(), codes.end(), c));
  }
};

Job MakeJob(const std::string& image, std::shared_ptr<const Plan> plan, Collected& out) {
  Job job;
  job.plan = std::move(plan);
  job.input = image;
  job.done = [&out](absl::StatusOr<JobResult> r) { out.Add(r.status().code()); };
  return job;
}

std::shared_ptr<const Plan> PlanFor(const std::string& image, int blur_kernel) {
  Request request(image);
  if (blur_kernel > 0) request.Then("gaussian_blur", {{"kernel_width", blur_kernel}});
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  EXPECT_TRUE(plan.ok()) << plan.status();
  return std::make_shared<const Plan>(*std::move(plan));
}

TEST(WorkerPoolTest, ConstructionReturnsOnceEveryLaneIsMade) {
  // Lanes that take a while to set up, as CUDA lanes do: none may be missing when the pool is handed out.
  std::atomic<int> made{0};
  LaneFactory cpu = CpuLaneFactory();
  LaneFactory slow_setup = [&](int index) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + 50 * index));
    absl::StatusOr<std::unique_ptr<ExecutionLane>> lane = cpu(index);
    ++made;
    return lane;
  };
  WorkerPool pool(CpuDeviceDescription(), 4, 8, slow_setup);
  EXPECT_EQ(made.load(), 4);
  pool.Shutdown();
}

// A lane that cannot be set up (a throwing constructor, an error status) is reported by the pool as a status when
// it is built, for the server to refuse to start, instead of ending the process on the worker's thread.
TEST(WorkerPoolTest, ALaneThatCannotBeMadeIsReportedAsAStatus) {
  LaneFactory cpu = CpuLaneFactory();
  LaneFactory throwing = [&](int index) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    if (index == 1) throw std::runtime_error("no device context");
    return cpu(index);
  };
  WorkerPool broken(CpuDeviceDescription(), 2, 8, throwing);
  EXPECT_EQ(broken.lanes_status().code(), absl::StatusCode::kInternal) << broken.lanes_status();
  EXPECT_EQ(broken.lanes_status().message(), "worker 1 of cpu has no execution lane: no device context");
  broken.Shutdown();

  LaneFactory refusing = [](int) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    return absl::ResourceExhaustedError("no memory for the lane's buffers");
  };
  WorkerPool refused(CpuDeviceDescription(), 1, 8, refusing);
  EXPECT_EQ(refused.lanes_status().code(), absl::StatusCode::kResourceExhausted) << refused.lanes_status();
  const std::string image = EncodeAs(GeneratedImage(32, 32), ".png");
  Collected out;
  refused.Submit(MakeJob(image, PlanFor(image, 0), out));
  refused.Shutdown();
  EXPECT_EQ(out.Count(absl::StatusCode::kResourceExhausted), 1) << "its jobs get the lane's error";

  WorkerPool fine(CpuDeviceDescription(), 2, 8, CpuLaneFactory());
  EXPECT_TRUE(fine.lanes_status().ok()) << fine.lanes_status();
}

TEST(WorkerPoolTest, BoundedQueueRefusesWhenFullAndShutdownDrains) {
  const std::string image = ReadFile(PhotoPath("nature/Wood.jpg"));
  auto slow = PlanFor(image, 61);
  Collected out;
  WorkerPool pool(CpuDeviceDescription(), 1, 2, CpuLaneFactory());
  for (int i = 0; i < 8; ++i) pool.Submit(MakeJob(image, slow, out));
  // A refusal is answered at once, through the job's own callback.
  const int refused = out.Count(absl::StatusCode::kResourceExhausted);
  const int accepted = 8 - refused;
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);  // one running, two queued
  pool.Shutdown();         // runs what was accepted
  EXPECT_EQ(out.Count(absl::StatusCode::kOk), accepted);
  pool.Submit(MakeJob(image, slow, out));
  EXPECT_EQ(out.Count(absl::StatusCode::kUnavailable), 1);
  EXPECT_EQ(out.codes.size(), 9u) << "every job answered exactly once";
}

TEST(WorkerPoolTest, ExpiredAndCancelledJobsAreSkipped) {
  const std::string image = ReadFile(PhotoPath("nature/Dune.jpg"));
  auto plan = PlanFor(image, 3);
  Collected out;
  WorkerPool pool(CpuDeviceDescription(), 1, 16, CpuLaneFactory());
  Job expired = MakeJob(image, plan, out);
  expired.deadline = Clock::now() - std::chrono::milliseconds(1);
  Job cancelled = MakeJob(image, plan, out);
  cancelled.cancelled = [] { return true; };
  pool.Submit(std::move(expired));
  pool.Submit(std::move(cancelled));
  pool.Submit(MakeJob(image, plan, out));
  pool.Shutdown();
  EXPECT_EQ(out.Count(absl::StatusCode::kDeadlineExceeded), 1);
  EXPECT_EQ(out.Count(absl::StatusCode::kCancelled), 1);
  EXPECT_EQ(out.Count(absl::StatusCode::kOk), 1);
}

TEST(SchedulerTest, PicksTheLeastLoadedDeviceOrTheNamedOne) {
  const std::string image = EncodeAs(GeneratedImage(64, 64), ".png");
  auto plan = PlanFor(image, 0);
  std::vector<std::unique_ptr<WorkerPool>> pools;
  DeviceDescription a = CpuDeviceDescription(), b = CpuDeviceDescription();
  a.name = "cpu:a";
  b.name = "cpu:b";
  pools.push_back(std::make_unique<WorkerPool>(a, 1, 64, CpuLaneFactory()));
  pools.push_back(std::make_unique<WorkerPool>(b, 1, 64, CpuLaneFactory()));
  Scheduler scheduler(std::move(pools));
  std::mutex mu;
  std::map<std::string, int> ran_on;
  std::atomic<int> done{0};
  for (int i = 0; i < 40; ++i) {
    Job job;
    job.plan = plan;
    job.input = image;
    job.done = [&](absl::StatusOr<JobResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      ran_on[r.ok() ? r->device : "error"]++;
      ++done;
    };
    scheduler.Submit(std::move(job), i < 5 ? "cpu:b" : "");
  }
  Job unknown;
  absl::Status unknown_device;
  unknown.done = [&](absl::StatusOr<JobResult> r) { unknown_device = r.status(); };
  scheduler.Submit(std::move(unknown), "gpu:9");
  EXPECT_EQ(unknown_device.code(), absl::StatusCode::kInvalidArgument) << unknown_device;
  scheduler.Shutdown();
  EXPECT_EQ(done, 40);
  EXPECT_EQ(ran_on["error"], 0);
  EXPECT_GT(ran_on["cpu:a"], 5);
  EXPECT_GT(ran_on["cpu:b"], 5);
}

// A device that can be broken on purpose: its lanes run jobs on the CPU until then, and afterwards report the
// failure as a CUDA lane reports a sticky CUDA error (DeviceFailedError). Lanes hold each job until `Release`.
struct BreakableDevice {
  std::atomic<bool> broken{false};
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  void Release() { release.set_value(); }

  LaneFactory Lanes() {
    class Lane final : public ExecutionLane {
     public:
      explicit Lane(BreakableDevice& device) : device_(device), cpu_(MakeCpuLane()) {}
      absl::StatusOr<JobResult> Run(const Job& job) override {
        ++device_.runs;
        device_.released.wait();
        if (device_.broken) return DeviceFailedError("cudaErrorIllegalAddress: made up by the test", "the test lane");
        return cpu_->Run(job);
      }

     private:
      BreakableDevice& device_;
      std::unique_ptr<ExecutionLane> cpu_;
    };
    return [this](int) { return std::make_unique<Lane>(*this); };
  }
};

bool WaitFor(const std::function<bool()>& condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Answers {
  std::mutex mu;
  std::vector<absl::Status> statuses;
  std::vector<std::string> devices;
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return statuses.size();
  }
  JobCallback Callback() {
    return [this](absl::StatusOr<JobResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      statuses.push_back(r.status());
      devices.push_back(r.ok() ? r->device : "");
    };
  }
};

Job JobFor(const std::string& image, std::shared_ptr<const Plan> plan, Answers& answers) {
  Job job;
  job.plan = std::move(plan);
  job.input = image;
  job.done = answers.Callback();
  return job;
}

// Devices of unequal size share work in proportion to their workers: with nothing finishing, 8 jobs over a
// 1-worker and a 3-worker device land 2 and 6.
TEST(SchedulerTest, WorkIsSpreadInProportionToEachDevicesWorkers) {
  const std::string image = EncodeAs(GeneratedImage(64, 48), ".png");
  auto plan = PlanFor(image, 0);
  BreakableDevice small, large;
  DeviceDescription a = CpuDeviceDescription(0, 2), b = CpuDeviceDescription(1, 2);
  std::vector<std::unique_ptr<WorkerPool>> pools;
  pools.push_back(std::make_unique<WorkerPool>(a, 1, 64, small.Lanes()));
  pools.push_back(std::make_unique<WorkerPool>(b, 3, 64, large.Lanes()));
  Scheduler scheduler(std::move(pools));
  Answers answers;
  for (int i = 0; i < 8; ++i) scheduler.Submit(JobFor(image, plan, answers), "");
  small.Release();
  large.Release();
  ASSERT_TRUE(WaitFor([&] { return answers.size() == 8; }));
  scheduler.Shutdown();
  std::lock_guard<std::mutex> lock(answers.mu);
  for (const absl::Status& s : answers.statuses) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(std::count(answers.devices.begin(), answers.devices.end(), "cpu:0"), 2);
  EXPECT_EQ(std::count(answers.devices.begin(), answers.devices.end(), "cpu:1"), 6);
}

TEST(WorkerPoolTest, ADeviceFailureAnswersQueuedAndNewJobsUnavailableWithoutRunningThem) {
  const std::string image = EncodeAs(GeneratedImage(64, 48), ".png");
  auto plan = PlanFor(image, 0);
  BreakableDevice device;
  DeviceDescription description = CpuDeviceDescription();
  description.name = "cuda:7";
  WorkerPool pool(description, 1, 16, device.Lanes());
  std::atomic<int> failures_heard{0};
  pool.SetFailureListener([&](const absl::Status& out_of_service) {
    EXPECT_EQ(out_of_service.code(), absl::StatusCode::kUnavailable);
    ++failures_heard;
  });
  Answers answers;
  device.broken = true;
  pool.Submit(JobFor(image, plan, answers));
  ASSERT_TRUE(WaitFor([&] { return device.runs == 1; }));  // the first job holds the only lane
  pool.Submit(JobFor(image, plan, answers));
  pool.Submit(JobFor(image, plan, answers));
  device.Release();
  ASSERT_TRUE(WaitFor([&] { return answers.size() == 3; }));

  EXPECT_EQ(device.runs, 1) << "queued jobs ran on a failed device";
  EXPECT_EQ(answers.statuses[0].code(), absl::StatusCode::kInternal) << answers.statuses[0];
  EXPECT_NE(answers.statuses[0].message().find("cudaErrorIllegalAddress"), std::string::npos) << answers.statuses[0];
  for (int i : {1, 2}) {
    EXPECT_EQ(answers.statuses[i].code(), absl::StatusCode::kUnavailable) << answers.statuses[i];
    EXPECT_EQ(answers.statuses[i].message(),
              "device cuda:7 is out of service: cudaErrorIllegalAddress: made up by the test");
  }
  EXPECT_EQ(pool.out_of_service().message(), answers.statuses[1].message());
  Answers refusals;
  pool.Submit(JobFor(image, plan, refusals));
  ASSERT_EQ(refusals.size(), 1u) << "a refusal is answered at once";
  EXPECT_EQ(refusals.statuses[0].code(), absl::StatusCode::kUnavailable) << refusals.statuses[0];
  EXPECT_EQ(failures_heard, 1);
  int heard_late = 0;
  pool.SetFailureListener([&](const absl::Status&) { ++heard_late; });  // told at once: it already failed
  EXPECT_EQ(heard_late, 1);
  pool.Shutdown();
  EXPECT_EQ(answers.size(), 3u);
  EXPECT_EQ(device.runs, 1);
}

TEST(SchedulerTest, AFailedDeviceGetsNoWorkAndTheLastFailureIsReportedOnce) {
  const std::string image = EncodeAs(GeneratedImage(64, 48), ".png");
  auto plan = PlanFor(image, 0);
  BreakableDevice a, b;
  a.Release();
  b.Release();
  DeviceDescription da = CpuDeviceDescription(), db = CpuDeviceDescription();
  da.name = "cuda:0";
  db.name = "cuda:1";
  std::vector<std::unique_ptr<WorkerPool>> pools;
  pools.push_back(std::make_unique<WorkerPool>(da, 2, 64, a.Lanes()));
  pools.push_back(std::make_unique<WorkerPool>(db, 2, 64, b.Lanes()));
  std::atomic<int> no_device_reports{0};
  std::mutex mu;
  absl::Status no_device;
  Scheduler scheduler(std::move(pools), INT64_MAX, [&](const absl::Status& unavailable) {
    std::lock_guard<std::mutex> lock(mu);
    no_device = unavailable;
    ++no_device_reports;
  });
  Answers answers;
  a.broken = true;
  scheduler.Submit(JobFor(image, plan, answers), "cuda:0");
  ASSERT_TRUE(WaitFor([&] { return answers.size() == 1; }));
  EXPECT_EQ(answers.statuses[0].code(), absl::StatusCode::kInternal) << answers.statuses[0];
  EXPECT_TRUE(scheduler.serving());
  EXPECT_EQ(no_device_reports, 0);

  for (int i = 0; i < 10; ++i) scheduler.Submit(JobFor(image, plan, answers), "");
  ASSERT_TRUE(WaitFor([&] { return answers.size() == 11; }));
  for (size_t i = 1; i < 11; ++i) {
    EXPECT_TRUE(answers.statuses[i].ok()) << answers.statuses[i];
    EXPECT_EQ(answers.devices[i], "cuda:1");
  }
  Answers refusals;
  scheduler.Submit(JobFor(image, plan, refusals), "cuda:0");
  ASSERT_EQ(refusals.size(), 1u) << "a refusal is answered at once";
  const absl::Status named = refusals.statuses[0];
  EXPECT_EQ(named.code(), absl::StatusCode::kUnavailable) << named;
  EXPECT_NE(named.message().find("device cuda:0 is out of service: cudaErrorIllegalAddress"), std::string::npos)
      << named;

  b.broken = true;
  scheduler.Submit(JobFor(image, plan, answers), "");
  ASSERT_TRUE(WaitFor([&] { return answers.size() == 12; }));
  EXPECT_EQ(answers.statuses[11].code(), absl::StatusCode::kInternal) << answers.statuses[11];
  EXPECT_FALSE(scheduler.serving());
  EXPECT_EQ(no_device_reports, 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(no_device.code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(no_device.message().find("device cuda:0 is out of service"), std::string::npos) << no_device;
    EXPECT_NE(no_device.message().find("device cuda:1 is out of service"), std::string::npos) << no_device;
  }
  scheduler.Submit(JobFor(image, plan, refusals), "");
  ASSERT_EQ(refusals.size(), 2u);
  const absl::Status unnamed = refusals.statuses[1];
  EXPECT_EQ(unnamed.code(), absl::StatusCode::kUnavailable) << unnamed;
  EXPECT_NE(unnamed.message().find("no device is in service"), std::string::npos) << unnamed;
  scheduler.Shutdown();
  EXPECT_EQ(answers.size(), 12u);
  EXPECT_EQ(no_device_reports, 1);
}

// CPU lanes that start each job only when the test grants it a permit, so that a test knows what runs and what waits.
struct GatedDevice {
  std::mutex mu;
  std::condition_variable cv;
  int permits = 0;
  std::atomic<int> runs{0};
  void Grant(int n) {
    std::lock_guard<std::mutex> lock(mu);
    permits += n;
    cv.notify_all();
  }
  LaneFactory Lanes() {
    class Lane final : public ExecutionLane {
     public:
      explicit Lane(GatedDevice& device) : device_(device), cpu_(MakeCpuLane()) {}
      absl::StatusOr<JobResult> Run(const Job& job) override {
        ++device_.runs;
        {
          std::unique_lock<std::mutex> lock(device_.mu);
          device_.cv.wait(lock, [&] { return device_.permits > 0; });
          --device_.permits;
        }
        return cpu_->Run(job);
      }

     private:
      GatedDevice& device_;
      std::unique_ptr<ExecutionLane> cpu_;
    };
    return [this](int) { return std::make_unique<Lane>(*this); };
  }
};

bool Says(const absl::Status& status, absl::StatusCode code, const std::string& text) {
  return status.code() == code && status.message().find(text) != absl::string_view::npos;
}

// A queued job whose client has gone (its deadline passed, or it cancelled) gives its place up as soon as a full
// queue would refuse a live request for it, such as that client's own retry, rather than when a worker reaches it.
TEST(WorkerPoolTest, AFullQueueFirstLetsGoOfJobsWhoseClientsHaveGone) {
  const std::string image = EncodeAs(GeneratedImage(64, 48), ".png");
  auto plan = PlanFor(image, 0);
  GatedDevice device;
  WorkerPool pool(CpuDeviceDescription(), 1, 2, device.Lanes());
  Answers gone;
  pool.Submit(JobFor(image, plan, gone));  // holds the only worker
  ASSERT_TRUE(WaitFor([&] { return device.runs == 1; }));
  Job expiring = JobFor(image, plan, gone);
  // Long enough that it has not passed when the queue first refuses below, even on a loaded host.
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(500);
  expiring.deadline = deadline;
  pool.Submit(std::move(expiring));
  std::atomic<bool> cancelled{false};
  Job cancelling = JobFor(image, plan, gone);
  cancelling.cancelled = [&cancelled] { return cancelled.load(); };
  pool.Submit(std::move(cancelling));

  Answers live;
  pool.Submit(JobFor(image, plan, live));
  ASSERT_EQ(live.size(), 1u) << "a refusal is answered at once";
  EXPECT_EQ(live.statuses[0].code(), absl::StatusCode::kResourceExhausted) << live.statuses[0];
  std::this_thread::sleep_until(deadline + std::chrono::milliseconds(20));
  cancelled = true;
  pool.Submit(JobFor(image, plan, live));
  pool.Submit(JobFor(image, plan, live));
  EXPECT_EQ(live.size(), 1u) << "both admitted in the places of the two gone";
  ASSERT_EQ(gone.size(), 2u) << "answered when they gave their places up, while the worker is still held";
  EXPECT_TRUE(Says(gone.statuses[0], absl::StatusCode::kDeadlineExceeded, "ms waiting in the queue of cpu;"))
      << gone.statuses[0];
  EXPECT_TRUE(Says(gone.statuses[1], absl::StatusCode::kCancelled, "cancelled by the client before it ran"))
      << gone.statuses[1];

  device.Grant(3);
  pool.Shutdown();
  ASSERT_EQ(live.size(), 3u);
  EXPECT_TRUE(live.statuses[1].ok()) << live.statuses[1];
  EXPECT_TRUE(live.statuses[2].ok()) << live.statuses[2];
  EXPECT_EQ(device.runs, 3) << "the two that gave their places up never ran";
}

// One job has run (so the pool knows its service time), the next holds the only worker, three wait behind it.
struct PoolAtShutdown {
  const std::string image = ReadFile(PhotoPath("nature/Dune.jpg"));
  const std::shared_ptr<const Plan> plan = PlanFor(image, 3);
  GatedDevice device;
  Answers answers;
  WorkerPool pool{CpuDeviceDescription(), 1, 16, device.Lanes()};

  explicit PoolAtShutdown(bool run_one_first) {
    if (run_one_first) {
      device.Grant(1);
      pool.Submit(JobFor(image, plan, answers));
      EXPECT_TRUE(WaitFor([&] { return answers.size() == 1; }));
    }
    const int ran_before = device.runs;
    for (int i = 0; i < 4; ++i) pool.Submit(JobFor(image, plan, answers));
    EXPECT_TRUE(WaitFor([&] { return device.runs == ran_before + 1; }));
  }
  std::vector<absl::Status> Statuses() {
    std::lock_guard<std::mutex> lock(answers.mu);
    return answers.statuses;
  }
};

TEST(WorkerPoolShutdownTest, AGraceThatCoversTheQueueRunsItAll) {
  PoolAtShutdown at(/*run_one_first=*/true);
  at.pool.BeginShutdown(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(at.answers.size(), 1u);  // nothing refused
  at.pool.Submit(JobFor(at.image, at.plan, at.answers));
  EXPECT_TRUE(Says(at.Statuses().back(), absl::StatusCode::kUnavailable, "server is shutting down"));
  at.device.Grant(4);
  at.pool.Shutdown();
  const std::vector<absl::Status> statuses = at.Statuses();
  ASSERT_EQ(statuses.size(), 6u);
  EXPECT_EQ(std::count_if(statuses.begin(), statuses.end(), [](const absl::Status& s) { return s.ok(); }), 5);
}

TEST(WorkerPoolShutdownTest, WhatTheGraceCannotCoverIsRefusedAtOnceAndTheRunningJobStopsAtItsEnd) {
  PoolAtShutdown at(/*run_one_first=*/true);
  at.pool.BeginShutdown(Clock::now());
  // The three queued jobs are answered inside BeginShutdown, before the running one could end.
  std::vector<absl::Status> statuses = at.Statuses();
  ASSERT_EQ(statuses.size(), 4u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE(Says(statuses[i], absl::StatusCode::kUnavailable,
                     "would not finish within the shutdown grace (cpu's 1 workers"))
        << statuses[i];
  }
  at.device.Grant(1);  // the running job goes on, and stops before its first step: the grace is over
  at.pool.Shutdown();
  statuses = at.Statuses();
  ASSERT_EQ(statuses.size(), 5u);
  EXPECT_TRUE(Says(statuses[4], absl::StatusCode::kUnavailable, "shutdown grace ended while this")) << statuses[4];
}

TEST(WorkerPoolShutdownTest, WithoutAServiceTimeTheQueueWaitsAndIsSkippedAtTheEndOfTheGrace) {
  PoolAtShutdown at(/*run_one_first=*/false);
  at.pool.BeginShutdown(Clock::now());
  EXPECT_EQ(at.answers.size(), 0u);  // nothing ran yet: nothing to judge from
  at.device.Grant(1);
  at.pool.Shutdown();
  const std::vector<absl::Status> statuses = at.Statuses();
  ASSERT_EQ(statuses.size(), 4u);
  EXPECT_TRUE(Says(statuses[0], absl::StatusCode::kUnavailable, "ended while this request ran")) << statuses[0];
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE(Says(statuses[i], absl::StatusCode::kUnavailable, "ended before it ran")) << statuses[i];
  }
}

}  // namespace
}  // namespace imgproc::testing
