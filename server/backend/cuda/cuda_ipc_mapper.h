#pragma once
// CUDA shared memory (issue 34): another process's cudaMalloc buffer opened in this one from its IPC handle, as
// Triton's CUDA shared-memory extension does, so that lanes can write a batch's tensor into it on the GPU.

#include <memory>

#include "core/device_memory_registry.h"

namespace imgproc {

// Maps with cudaIpcOpenMemHandle on the region's device and checks, through the driver, that the allocation the
// handle names holds the bytes the client claims, so that no write of ours can go past it.
std::unique_ptr<DeviceMemoryMapper> MakeCudaIpcMapper();

}  // namespace imgproc
