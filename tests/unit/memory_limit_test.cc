// DetectMemoryLimit on cgroup trees the tests write (proc/self/cgroup, proc/self/mountinfo and the limit files
// under a directory read as "/"), as Kubernetes, Docker and systemd lay them out; and the budgets derived from it.
#include "common/memory_limit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace imgproc {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kPhysical = 24 * kGiB;

// The v2 and v1 mounts of a typical host (v1: only the hierarchies that matter here).
constexpr const char* kMountinfoV2 =
    "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n"
    "25 28 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
constexpr const char* kMountinfoV1 =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

class MemoryLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("imgproc-memory-limit-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& contents) {
    const fs::path file = root_ / path.substr(1);
    fs::create_directories(file.parent_path());
    std::ofstream(file) << contents;
  }
  MemoryLimit Detect() const { return DetectMemoryLimit(root_.string(), kPhysical); }

  fs::path root_;
};

TEST_F(MemoryLimitTest, V2PodLimitInItsOwnNamespace) {
  // A container with its own cgroup namespace sees its cgroup as "/", mounted at /sys/fs/cgroup.
  Write("/proc/self/cgroup", "0::/\n");
  Write("/proc/self/mountinfo", kMountinfoV2);
  Write("/sys/fs/cgroup/memory.max", "10737418240\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, 10 * kGiB);
  EXPECT_EQ(limit.kind, "cgroup_v2");
  EXPECT_EQ(limit.source, "cgroup v2 /sys/fs/cgroup/memory.max");
  EXPECT_TRUE(limit.problems.empty());
}

TEST_F(MemoryLimitTest, V2NestedCgroupTakesTheSmallestLimitOnItsPath) {
  // The pod's limit is on the pod's cgroup; the container's own says max; a sibling's smaller limit does not count.
  Write("/proc/self/cgroup", "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope\n");
  Write("/proc/self/mountinfo", kMountinfoV2);
  Write("/sys/fs/cgroup/kubepods.slice/memory.max", "max\n");
  Write("/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/memory.max", "4294967296\n");
  Write("/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope/memory.max", "max\n");
  Write("/sys/fs/cgroup/kubepods.slice/kubepods-pod2.slice/memory.max", "1073741824\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, 4 * kGiB);
  EXPECT_EQ(limit.source, "cgroup v2 /sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/memory.max");
}

TEST_F(MemoryLimitTest, V2MaxEverywhereMeansPhysicalMemory) {
  Write("/proc/self/cgroup", "0::/user.slice/session-1.scope\n");
  Write("/proc/self/mountinfo", kMountinfoV2);
  Write("/sys/fs/cgroup/user.slice/memory.max", "max\n");
  Write("/sys/fs/cgroup/user.slice/session-1.scope/memory.max", "max\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, kPhysical);
  EXPECT_EQ(limit.kind, "physical");
  EXPECT_EQ(limit.source, "physical memory");
}

TEST_F(MemoryLimitTest, V1LimitOfTheMemoryHierarchy) {
  // Hybrid layout (v1 controllers plus an empty v2 hierarchy, as on this project's build host).
  Write("/proc/self/cgroup", "4:memory:/process_api/855a\n2:cpu,cpuacct:/\n0::/\n");
  Write("/proc/self/mountinfo", kMountinfoV1);
  Write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write("/sys/fs/cgroup/memory/process_api/855a/memory.limit_in_bytes", "2147483648\n");
  Write("/sys/fs/cgroup/unified/cgroup.controllers", "\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, 2 * kGiB);
  EXPECT_EQ(limit.kind, "cgroup_v1");
  EXPECT_EQ(limit.source, "cgroup v1 /sys/fs/cgroup/memory/process_api/855a/memory.limit_in_bytes");
}

TEST_F(MemoryLimitTest, V1UnlimitedMeansPhysicalMemory) {
  Write("/proc/self/cgroup", "4:memory:/process_api/855a\n0::/\n");
  Write("/proc/self/mountinfo", kMountinfoV1);
  Write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  Write("/sys/fs/cgroup/memory/process_api/855a/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(Detect().bytes, kPhysical);
}

TEST_F(MemoryLimitTest, V1ContainerWithoutCgroupNamespaceMountsItsSubtree) {
  // Docker on v1 without a cgroup namespace: the mount shows /docker/abc, and proc/self/cgroup the full path.
  Write("/proc/self/cgroup", "9:memory:/docker/abc\n");
  Write("/proc/self/mountinfo", "500 400 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n");
  Write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, 512 << 20);
  EXPECT_EQ(limit.source, "cgroup v1 /sys/fs/cgroup/memory/memory.limit_in_bytes");
}

TEST_F(MemoryLimitTest, ALimitAbovePhysicalMemoryIsPhysicalMemory) {
  Write("/proc/self/cgroup", "0::/\n");
  Write("/proc/self/mountinfo", kMountinfoV2);
  Write("/sys/fs/cgroup/memory.max", std::to_string(64 * kGiB));
  EXPECT_EQ(Detect().kind, "physical");
  EXPECT_EQ(Detect().bytes, kPhysical);
}

TEST_F(MemoryLimitTest, GarbageIsPassedOverAndSaid) {
  Write("/proc/self/cgroup", "0::/a/b\nnot a cgroup line\n");
  Write("/proc/self/mountinfo", std::string(kMountinfoV2) + "garbage without separator\n");
  Write("/sys/fs/cgroup/a/b/memory.max", "lots\n");
  Write("/sys/fs/cgroup/a/memory.max", "-5\n");
  const MemoryLimit limit = Detect();
  EXPECT_EQ(limit.bytes, kPhysical);
  ASSERT_EQ(limit.problems.size(), 2u);
  EXPECT_EQ(limit.problems[0], "/sys/fs/cgroup/a/b/memory.max holds 'lots', which is no byte count");
  EXPECT_EQ(limit.problems[1], "/sys/fs/cgroup/a/memory.max holds '-5', which is no byte count");
}

TEST_F(MemoryLimitTest, NoProcFilesMeansPhysicalMemory) {
  EXPECT_EQ(Detect().bytes, kPhysical);
  Write("/proc/self/cgroup", "0::/\n");
  Write("/proc/self/mountinfo", "");  // no cgroup mounted
  EXPECT_EQ(Detect().kind, "physical");
}

TEST_F(MemoryLimitTest, EscapedMountPoint) {
  Write("/proc/self/cgroup", "0::/\n");
  Write("/proc/self/mountinfo", "25 28 0:23 / /cg\\040root rw - cgroup2 cgroup2 rw\n");
  Write("/cg root/memory.max", "3221225472");
  EXPECT_EQ(Detect().bytes, 3 * kGiB);
}

TEST(MemoryBudgetsTest, SharesOfTheLimit) {
  // The base manifest's 10 GiB pod: the budgets it once set by hand.
  MemoryBudgets budgets = DeriveMemoryBudgets(10 * kGiB, 1, 65 << 20);
  EXPECT_EQ(budgets.queued_input_bytes, kGiB);
  EXPECT_EQ(budgets.pixel_bytes_per_device, 4 * kGiB);
  EXPECT_EQ(budgets.grpc_quota_bytes, kGiB);
  // Pixels are per device; the queued input and gRPC's quota are the process's.
  budgets = DeriveMemoryBudgets(20 * kGiB, 4, 65 << 20);
  EXPECT_EQ(budgets.queued_input_bytes, 2 * kGiB);
  EXPECT_EQ(budgets.pixel_bytes_per_device, 2 * kGiB);
  // gRPC's quota always holds one largest message.
  EXPECT_EQ(DeriveMemoryBudgets(256 << 20, 1, 65 << 20).grpc_quota_bytes, 65 << 20);
}

TEST(MemoryBudgetsTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(900), "900 B");
  EXPECT_EQ(HumanBytes(512 << 20), "512 MiB");
  EXPECT_EQ(HumanBytes(kGiB + kGiB / 2), "1.5 GiB");
}

}  // namespace
}  // namespace imgproc
