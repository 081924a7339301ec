#include "common/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace imgproc {
namespace {

// v1 writes "unlimited" as the largest page-aligned int64 (9223372036854771712); no machine has 2^62 bytes.
constexpr int64_t kUnlimitedFrom = int64_t{1} << 62;

bool ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string UnescapeMountPath(absl::string_view escaped) {
  std::string path;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 3 < escaped.size() &&
        std::all_of(escaped.begin() + i + 1, escaped.begin() + i + 4, [](char c) { return c >= '0' && c <= '7'; })) {
      path.push_back(
          static_cast<char>((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 + escaped[i + 3] - '0'));
      i += 3;
    } else {
      path.push_back(escaped[i]);
    }
  }
  return path;
}

struct Mount {
  std::string root;         // the path of the hierarchy shown at the mount point ("/" unless a subtree is mounted)
  std::string mount_point;  // where it is, e.g. /sys/fs/cgroup
};

// The mount of the cgroup2 hierarchy (`v1_controller` empty) or of the v1 hierarchy with that controller.
bool FindCgroupMount(const std::string& mountinfo, const std::string& v1_controller, Mount* found) {
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // "36 35 98:0 /root /mount/point rw,noatime shared:1 - cgroup cgroup rw,memory": optional fields until " - ".
    const size_t separator = line.find(" - ");
    if (separator == absl::string_view::npos) continue;
    const std::vector<absl::string_view> before = absl::StrSplit(line.substr(0, separator), ' ', absl::SkipEmpty());
    const std::vector<absl::string_view> after = absl::StrSplit(line.substr(separator + 3), ' ', absl::SkipEmpty());
    if (before.size() < 5 || after.size() < 3) continue;
    if (v1_controller.empty()) {
      if (after[0] != "cgroup2") continue;
    } else {
      if (after[0] != "cgroup") continue;
      const std::vector<absl::string_view> options = absl::StrSplit(after[2], ',');
      if (std::find(options.begin(), options.end(), v1_controller) == options.end()) continue;
    }
    *found = {UnescapeMountPath(before[3]), UnescapeMountPath(before[4])};
    return true;
  }
  return false;
}

// The directory of `cgroup` (a path of proc/self/cgroup) under its hierarchy's mount.
std::string CgroupDirectory(const Mount& mount, const std::string& cgroup) {
  std::string relative = cgroup;
  if (mount.root != "/") {
    // A mounted subtree (a container without its own cgroup namespace): the process's path starts with it.
    if (absl::StartsWith(cgroup, mount.root) &&
        (cgroup.size() == mount.root.size() || cgroup[mount.root.size()] == '/')) {
      relative = cgroup.substr(mount.root.size());
    } else {
      relative = "";  // not under what is mounted: only the mount's own limits can be read
    }
  }
  std::string directory = mount.mount_point;
  while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  if (!relative.empty() && relative != "/") absl::StrAppend(&directory, relative[0] == '/' ? "" : "/", relative);
  return directory;
}

struct FoundLimit {
  int64_t bytes = INT64_MAX;
  std::string file;
};

// The smallest limit in `file_name` from `directory` up to `top` (the hierarchy's mount point), read under `root`.
FoundLimit SmallestLimitUpTo(const std::string& root, std::string directory, const std::string& top,
                             const std::string& file_name, std::vector<std::string>* problems) {
  FoundLimit smallest;
  for (;;) {
    const std::string file = absl::StrCat(directory, "/", file_name);
    std::string contents;
    if (ReadFile(root + file, &contents)) {
      const absl::string_view value = absl::StripAsciiWhitespace(contents);
      int64_t bytes = 0;
      if (value == "max") {
        // no limit at this level
      } else if (!absl::SimpleAtoi(value, &bytes) || bytes <= 0) {
        problems->push_back(absl::StrCat(file, " holds '", value.substr(0, 40), "', which is no byte count"));
      } else if (bytes < kUnlimitedFrom && bytes < smallest.bytes) {
        smallest = {bytes, file};
      }
    }
    if (directory.size() <= top.size() || directory == top) break;
    const size_t slash = directory.rfind('/');
    if (slash == std::string::npos || slash < top.size()) break;
    directory.resize(slash);
  }
  return smallest;
}

}  // namespace

MemoryLimit DetectMemoryLimit(const std::string& root_in, int64_t physical_bytes) {
  std::string root = root_in;
  while (!root.empty() && root.back() == '/') root.pop_back();  // "/" reads "/proc/...", a test dir "<dir>/proc/..."
  MemoryLimit limit{physical_bytes, "physical memory", "physical", {}};
  std::string cgroups, mountinfo;
  if (!ReadFile(root + "/proc/self/cgroup", &cgroups) || !ReadFile(root + "/proc/self/mountinfo", &mountinfo)) {
    return limit;
  }
  for (absl::string_view line : absl::StrSplit(cgroups, '\n')) {
    // "hierarchy-id:controllers:path": "0::/kubepods/pod1/c1" (v2) or "4:memory:/kubepods/pod1/c1" (v1).
    const std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const bool v2 = fields[0] == "0" && fields[1].empty();
    const std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    const bool v1_memory = std::find(controllers.begin(), controllers.end(), "memory") != controllers.end();
    if (!v2 && !v1_memory) continue;
    Mount mount;
    if (!FindCgroupMount(mountinfo, v2 ? "" : "memory", &mount)) continue;
    const std::string file_name = v2 ? "memory.max" : "memory.limit_in_bytes";
    std::string top = mount.mount_point;
    while (top.size() > 1 && top.back() == '/') top.pop_back();
    const FoundLimit found =
        SmallestLimitUpTo(root, CgroupDirectory(mount, std::string(fields[2])), top, file_name, &limit.problems);
    if (found.bytes < limit.bytes) {
      limit.bytes = found.bytes;
      limit.source = absl::StrCat(v2 ? "cgroup v2 " : "cgroup v1 ", found.file);
      limit.kind = v2 ? "cgroup_v2" : "cgroup_v1";
    }
  }
  return limit;
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
}

MemoryBudgets DeriveMemoryBudgets(int64_t limit_bytes, int devices, int64_t largest_message_bytes) {
  const auto share = [limit_bytes](double fraction) {
    return static_cast<int64_t>(std::floor(static_cast<double>(limit_bytes) * fraction));
  };
  MemoryBudgets budgets;
  budgets.queued_input_bytes = share(kQueuedInputShare);
  budgets.pixel_bytes_per_device = share(kPixelShare) / std::max(1, devices);
  budgets.grpc_quota_bytes = std::max(share(kGrpcQuotaShare), largest_message_bytes);
  return budgets;
}

std::string HumanBytes(int64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (std::abs(value) >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  if (value == std::floor(value)) return absl::StrFormat("%.0f %s", value, kUnits[unit]);
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

}  // namespace imgproc
