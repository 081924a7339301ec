#include "core/device_memory_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace imgproc {

namespace {
constexpr size_t kMaxNameBytes = 256;
}  // namespace

DeviceMemoryRegistry::DeviceMemoryRegistry(std::unique_ptr<DeviceMemoryMapper> mapper, std::vector<int> cuda_devices,
                                           int max_regions_per_client)
    : mapper_(std::move(mapper)),
      cuda_devices_(std::move(cuda_devices)),
      max_regions_per_client_(max_regions_per_client) {}

DeviceMemoryRegistry::~DeviceMemoryRegistry() {
  MutexLock lock(&mu_);
  for (auto& [name, entry] : regions_) mapper_->Unmap(entry.region.data, entry.region.cuda_device);
}

absl::Status DeviceMemoryRegistry::Register(absl::string_view name, absl::string_view handle, int64_t cuda_device,
                                            int64_t bytes, absl::string_view client) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: must be 1 to ", kMaxNameBytes, " bytes (got ", name.size(), ")"));
  }
  if (bytes <= 0) return absl::InvalidArgumentError("byte_size: must be positive");
  if (std::find(cuda_devices_.begin(), cuda_devices_.end(), cuda_device) == cuda_devices_.end()) {
    std::vector<std::string> names;
    for (int d : cuda_devices_) names.push_back(absl::StrCat("cuda:", d));
    return absl::InvalidArgumentError(absl::StrCat("device_id: the server has no device cuda:", cuda_device,
                                                   " (it has ", absl::StrJoin(names, ", "), ")"));
  }
  {
    MutexLock lock(&mu_);
    if (regions_.contains(name)) {
      return absl::AlreadyExistsError(absl::StrCat("a region named '", name, "' is registered already"));
    }
    const auto held = std::count_if(regions_.begin(), regions_.end(),
                                    [&](const auto& entry) { return entry.second.client == client; });
    if (held >= max_regions_per_client_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this client (", client, ") has ", held,
                       " regions registered, the most it may "
                       "(--max_cuda_shared_memory_regions_per_client); unregister one"));
    }
  }
  // Mapped outside the lock: opening a handle can take milliseconds.
  absl::StatusOr<char*> data = mapper_->Map(handle, static_cast<int>(cuda_device), bytes);
  if (!data.ok()) return data.status();
  MutexLock lock(&mu_);
  // Another call may have taken the name or the client's last place meanwhile.
  const auto held =
      std::count_if(regions_.begin(), regions_.end(), [&](const auto& entry) { return entry.second.client == client; });
  if (regions_.contains(name) || held >= max_regions_per_client_) {
    mapper_->Unmap(*data, static_cast<int>(cuda_device));
    return regions_.contains(name)
               ? absl::AlreadyExistsError(absl::StrCat("a region named '", name, "' is registered already"))
               : absl::ResourceExhaustedError(absl::StrCat("this client (", client, ") has ", held,
                                                           " regions registered, the most it may "
                                                           "(--max_cuda_shared_memory_regions_per_client)"));
  }
  Entry entry;
  entry.region = DeviceMemoryRegion{std::string(name), static_cast<int>(cuda_device), *data, bytes};
  entry.client = std::string(client);
  regions_.emplace(std::string(name), std::move(entry));
  return absl::OkStatus();
}

absl::Status DeviceMemoryRegistry::Unregister(absl::string_view name) {
  DeviceMemoryRegion region;
  {
    MutexLock lock(&mu_);
    auto it = regions_.find(name);
    if (it == regions_.end()) return absl::NotFoundError(absl::StrCat("no region named '", name, "' is registered"));
    if (it->second.leases > 0) {
      return absl::FailedPreconditionError(absl::StrCat("region '", name, "' is in use by ", it->second.leases,
                                                        " running batch(es); unregister it once they are answered"));
    }
    region = it->second.region;
    regions_.erase(it);
  }
  mapper_->Unmap(region.data, region.cuda_device);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const DeviceMemoryRegion>> DeviceMemoryRegistry::Use(absl::string_view name) {
  MutexLock lock(&mu_);
  auto it = regions_.find(name);
  if (it == regions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("output_region.name: no region named '", name, "' is registered (RegisterCudaSharedMemory)"));
  }
  ++it->second.leases;
  // The lease points at a copy: the entry itself may move in the map while the lease lives.
  return std::shared_ptr<const DeviceMemoryRegion>(new DeviceMemoryRegion(it->second.region),
                                                   [this](const DeviceMemoryRegion* region) {
                                                     Release(region->name);
                                                     delete region;
                                                   });
}

void DeviceMemoryRegistry::Release(const std::string& name) {
  MutexLock lock(&mu_);
  if (auto it = regions_.find(name); it != regions_.end()) --it->second.leases;
}

}  // namespace imgproc
