#pragma once
// The memory this process may use, read at start-up from its cgroup or the machine, and the admission budgets
// derived from it, so that the defaults fit a pod's limit instead of a fixed size (4 GiB of queued input and 16 GiB
// of pixels were once the defaults whatever the pod had).

#include <cstdint>
#include <string>
#include <vector>

namespace imgproc {

struct MemoryLimit {
  int64_t bytes = 0;
  // Where it came from, for people: "cgroup v2 memory.max of /sys/fs/cgroup/kubepods.slice/…" or "physical memory".
  std::string source;
  // The same for metrics labels: "cgroup_v2", "cgroup_v1" or "physical".
  std::string kind;
  // Limit files that exist but could not be read as a number; they are passed over and said at start-up.
  std::vector<std::string> problems;
};

// The smallest of the machine's physical memory and every memory limit of this process's cgroups: v2's memory.max
// and v1's memory.limit_in_bytes, from the process's own cgroup up to its hierarchy's root (a parent's limit binds
// its children). The cgroups are found from proc/self/cgroup and where their hierarchies are mounted from
// proc/self/mountinfo. "max" and v1's near-2^63 "unlimited" mean no limit. `root` is the directory read as "/"
// (a test points it at files it wrote); `physical_bytes` is PhysicalMemoryBytes() outside tests.
MemoryLimit DetectMemoryLimit(const std::string& root, int64_t physical_bytes);

// sysconf(_SC_PHYS_PAGES) x page size.
int64_t PhysicalMemoryBytes();

// The share of the memory limit each admission budget gets by default. What they bound, together 60%:
//   - queued input: the encoded bytes of queued and running requests (all devices together);
//   - pixels: decoded pixel memory of queued and running requests' plans (each plan's peak), divided among devices;
//   - gRPC's receive quota: what gRPC holds of messages still being received, before a handler can refuse them.
// The other 40% is the process itself: libraries (and with CUDA its context and pinned buffers, about 1 GiB),
// answers being encoded and written (up to --max_output_bytes each), threads' allocator arenas and fragmentation.
// With a 10 GiB pod this gives 1 GiB, 4 GiB and 1 GiB, the budgets the manifests set by hand before.
inline constexpr double kQueuedInputShare = 0.10;
inline constexpr double kPixelShare = 0.40;
inline constexpr double kGrpcQuotaShare = 0.10;

struct MemoryBudgets {
  int64_t queued_input_bytes = 0;      // --max_queued_bytes
  int64_t pixel_bytes_per_device = 0;  // --max_pixel_bytes
  int64_t grpc_quota_bytes = 0;        // gRPC's ResourceQuota
};

// The default budgets for `limit_bytes` shared by `devices` devices; gRPC's quota is at least
// `largest_message_bytes`, below which one message of the largest accepted size could never be received.
MemoryBudgets DeriveMemoryBudgets(int64_t limit_bytes, int devices, int64_t largest_message_bytes);

// "1.5 GiB", "512 MiB", "900 B": budgets as a person reads them.
std::string HumanBytes(int64_t bytes);

}  // namespace imgproc
