#pragma once
// The backend the configuration asks for, and its devices, before any worker exists: metrics must be in place when
// the pools start.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/server_config.h"
#include "core/device.h"
#include "core/device_memory_registry.h"
#include "core/lane.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

struct Backend {
  struct Device {
    DeviceDescription description;
    int workers;
    LaneFactory lanes;
    FrontStageFactory front_stage = nullptr;
  };
  std::string name;
  std::string reason;
  std::vector<Device> devices;
  // How clients' CUDA shared memory is opened on this backend's devices (issue 34); null on the CPU backend.
  std::unique_ptr<DeviceMemoryMapper> shared_memory;
};

// The CUDA backend when it is asked for or (auto) a GPU is usable, else the CPU backend. FAILED_PRECONDITION when
// --backend=cuda finds no usable GPU, or --jpeg_decode=engine a GPU without a JPEG engine.
absl::StatusOr<Backend> ChooseBackend(const ServerConfig& config);

#if IMGPROC_TEST_FAULT_INJECTION
// TEST ONLY: wraps the lanes of the devices that --test_fault_injection targets in its fault; INVALID_ARGUMENT when
// it names a device that is not here.
absl::Status ArmTestFaults(const TestFaultInjection& faults, Backend& backend);
#endif

}  // namespace imgproc
