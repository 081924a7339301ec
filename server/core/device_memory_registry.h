#pragma once
// Device memory that clients lend the server by name (CUDA shared memory, issue 34): registered through the API,
// written by lanes through a job's TensorSlot, forgotten when the client unregisters it or the server stops.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"

namespace imgproc {

// A region as this process sees it: mapped at `data` on `cuda_device`, `bytes` long.
struct DeviceMemoryRegion {
  std::string name;
  int cuda_device = -1;
  char* data = nullptr;
  int64_t bytes = 0;
};

// The backend's part: opening another process's memory handle on a device, and closing it.
class DeviceMemoryMapper {
 public:
  virtual ~DeviceMemoryMapper() = default;
  // INVALID_ARGUMENT for a handle that is not one, or one for less memory than `bytes`.
  virtual absl::StatusOr<char*> Map(absl::string_view handle, int cuda_device, int64_t bytes) = 0;
  virtual void Unmap(char* data, int cuda_device) = 0;
};

class DeviceMemoryRegistry {
 public:
  // `cuda_devices`: the devices regions may be on (the server's). Each client (a peer address) holds at most
  // `max_regions_per_client` at once.
  DeviceMemoryRegistry(std::unique_ptr<DeviceMemoryMapper> mapper, std::vector<int> cuda_devices,
                       int max_regions_per_client);
  // Unmaps every region still registered; no lease (Use) may outlive it.
  ~DeviceMemoryRegistry();
  DeviceMemoryRegistry(const DeviceMemoryRegistry&) = delete;
  DeviceMemoryRegistry& operator=(const DeviceMemoryRegistry&) = delete;

  // INVALID_ARGUMENT for an empty or overlong name, no bytes, a device the server does not have or a handle the
  // mapper refuses; ALREADY_EXISTS for a name in use; RESOURCE_EXHAUSTED past the client's regions.
  absl::Status Register(absl::string_view name, absl::string_view handle, int64_t cuda_device, int64_t bytes,
                        absl::string_view client);
  // NOT_FOUND for a name not registered; FAILED_PRECONDITION while a lease on it lives.
  absl::Status Unregister(absl::string_view name);
  // The region, kept registered while the returned lease lives; NOT_FOUND for a name not registered.
  absl::StatusOr<std::shared_ptr<const DeviceMemoryRegion>> Use(absl::string_view name);

  int max_regions_per_client() const { return max_regions_per_client_; }

 private:
  struct Entry {
    DeviceMemoryRegion region;
    std::string client;
    int leases = 0;
  };
  void Release(const std::string& name);

  const std::unique_ptr<DeviceMemoryMapper> mapper_;
  const std::vector<int> cuda_devices_;
  const int max_regions_per_client_;
  Mutex mu_;
  absl::flat_hash_map<std::string, Entry> regions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace imgproc
