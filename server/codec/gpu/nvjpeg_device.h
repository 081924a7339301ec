#pragma once
// nvJPEG for one GPU: the library handles and the memory they draw from.
//
// Why nvJPEG from the CUDA Toolkit rather than nvImageCodec: measured side by side on one H100 (2026-11-25,
// bench/codec_bench.cc and bench/nvimgcodec_decode.py on the 12 W1 photos), nvImageCodec 0.9's engine-only
// decoder did 2,347 / 2,497 of the engine's photos per second at batch 64 / 128, and this code's batch decoder
// 2,624 / 2,688; nvImageCodec's default decoder (engine, CUDA and CPU together) 2,378 / 2,631 on all 12.
// Both spend about 0.4 ms of one host thread per photo inside nvjpegDecodeBatched, which bounds either.
// nvImageCodec wraps the same nvJPEG engines but brings its own executor
// threads and internal streams, decides batching and fallback itself and hands back a future per batch; the
// server already has what that would duplicate (a per-GPU batcher across requests, lanes with their own
// streams, a CPU decoder) and needs control of where each image goes and when the host waits. nvJPEG is
// part of the toolkit every CUDA host has, so it adds no dependency.
//
// Memory: device allocations of nvJPEG and the decoded images come from one stream-ordered pool per GPU
// (cudaMallocFromPoolAsync) that keeps what it reserved, so a warm server reserves nothing new per request;
// pinned host allocations are counted, so tests can show that they stop once the buffers have grown.

#include <cuda_runtime.h>
#include <nvjpeg.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace imgproc {

// INVALID_ARGUMENT for what the data is at fault for, RESOURCE_EXHAUSTED for memory, INTERNAL otherwise.
absl::Status NvJpegError(nvjpegStatus_t status, const std::string& where);
absl::Status CudaError(cudaError_t error, const std::string& where);

class NvJpegDevice {
 public:
  // `use_hardware`: try the JPEG engine (A100, H100, H200...); without one the hardware handle stays null.
  static absl::StatusOr<std::unique_ptr<NvJpegDevice>> Create(int device, bool use_hardware);
  ~NvJpegDevice();
  NvJpegDevice(const NvJpegDevice&) = delete;
  NvJpegDevice& operator=(const NvJpegDevice&) = delete;

  int device() const { return device_; }
  // The handle for nvjpegDecodeBatched on the JPEG engine; null when the GPU has none.
  nvjpegHandle_t hardware() const { return hardware_; }
  // Why hardware() is null, for the log and GetServerInfo; "" when it is not.
  const std::string& hardware_note() const { return hardware_note_; }
  // Held around each batched decode on hardware(). nvJPEG spends its host time for an engine batch (about
  // 0.4 ms per photo on an H100) inside one call, and calls from two threads on one handle took twice as long
  // each: so batch threads take turns at the engine and prepare (parse, allocate, hand on) outside the lock.
  Mutex& hardware_mutex() { return hardware_mutex_; }
  unsigned hardware_engines() const { return engines_; }
  unsigned hardware_cores_per_engine() const { return cores_per_engine_; }
  // The handle for single-image CUDA decoding and for encoding.
  nvjpegHandle_t cuda() const { return cuda_; }

  // Stream-ordered device memory from this GPU's pool: free on the stream that last used the memory.
  absl::StatusOr<void*> Allocate(size_t bytes, cudaStream_t stream);
  void Free(void* pointer, cudaStream_t stream);

  // The two timing events of one decode batch, reused from batch to batch: created fresh, they cost the batch
  // thread ~5 ms a pair under load on an H100 (~160 us per image), since event creation waits for the driver
  // lock that every lane's calls take too. Return a pair only once `done` has completed.
  struct BatchEvents {
    cudaEvent_t start = nullptr;
    cudaEvent_t done = nullptr;
  };
  absl::StatusOr<BatchEvents> TakeBatchEvents();
  void ReturnBatchEvents(BatchEvents events);

  // What the pool holds from the device, and how many pinned host buffers nvJPEG has asked for.
  int64_t reserved_device_bytes() const;
  int64_t pinned_allocations() const { return pinned_allocations_.load(); }

 private:
  explicit NvJpegDevice(int device) : device_(device) {}
  static int DeviceMalloc(void* self, void** pointer, size_t size, cudaStream_t stream);
  static int DeviceFree(void* self, void* pointer, size_t size, cudaStream_t stream);
  static int PinnedMalloc(void* self, void** pointer, size_t size, cudaStream_t stream);
  static int PinnedFree(void* self, void* pointer, size_t size, cudaStream_t stream);
  absl::Status CreateHandle(nvjpegBackend_t backend, nvjpegHandle_t* handle);

  const int device_;
  cudaMemPool_t pool_ = nullptr;
  nvjpegHandle_t hardware_ = nullptr;
  Mutex hardware_mutex_;
  nvjpegHandle_t cuda_ = nullptr;
  std::string hardware_note_;
  unsigned engines_ = 0;
  unsigned cores_per_engine_ = 0;
  std::atomic<int64_t> pinned_allocations_{0};
  Mutex events_mutex_;
  std::vector<BatchEvents> idle_events_ ABSL_GUARDED_BY(events_mutex_);
  nvjpegDevAllocatorV2_t device_allocator_{};
  nvjpegPinnedAllocatorV2_t pinned_allocator_{};
};

}  // namespace imgproc
