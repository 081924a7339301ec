// Worker pools and the scheduler with real CPU lanes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "common/test_support.h"
#include "scheduler/scheduler.h"

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
  pb::ProcessRequest request;
  request.set_image(image);
  if (blur_kernel > 0) {
    request.add_operations()->mutable_gaussian_blur()->set_kernel_width(blur_kernel);
  }
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
    std::unique_ptr<ExecutionLane> lane = cpu(index);
    ++made;
    return lane;
  };
  WorkerPool pool(CpuDeviceDescription(), 4, 8, slow_setup);
  EXPECT_EQ(made.load(), 4);
  pool.Shutdown();
}

TEST(WorkerPoolTest, BoundedQueueRefusesWhenFullAndShutdownDrains) {
  const std::string image = ReadFile(PhotoPath("nature/Wood.jpg"));
  auto slow = PlanFor(image, 61);
  Collected out;
  WorkerPool pool(CpuDeviceDescription(), 1, 2, CpuLaneFactory());
  int accepted = 0, refused = 0;
  for (int i = 0; i < 8; ++i) {
    absl::Status s = pool.Submit(MakeJob(image, slow, out));
    if (s.ok()) ++accepted;
    if (s.code() == absl::StatusCode::kResourceExhausted) ++refused;
  }
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);  // one running, two queued
  EXPECT_EQ(accepted + refused, 8);
  pool.Shutdown();  // runs what was accepted
  EXPECT_EQ(out.Count(absl::StatusCode::kOk), accepted);
  EXPECT_EQ(pool.Submit(MakeJob(image, slow, out)).code(), absl::StatusCode::kUnavailable);
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
  ASSERT_TRUE(pool.Submit(std::move(expired)).ok());
  ASSERT_TRUE(pool.Submit(std::move(cancelled)).ok());
  ASSERT_TRUE(pool.Submit(MakeJob(image, plan, out)).ok());
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
    ASSERT_TRUE(scheduler.Submit(std::move(job), i < 5 ? "cpu:b" : "").ok());
  }
  Job unknown;
  EXPECT_EQ(scheduler.Submit(std::move(unknown), "gpu:9").code(), absl::StatusCode::kInvalidArgument);
  scheduler.Shutdown();
  EXPECT_EQ(done, 40);
  EXPECT_EQ(ran_on["error"], 0);
  EXPECT_GT(ran_on["cpu:a"], 5);
  EXPECT_GT(ran_on["cpu:b"], 5);
}

}  // namespace
}  // namespace imgproc::testing
