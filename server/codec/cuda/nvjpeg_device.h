#pragma once
// nvJPEG for one GPU: the library handles and the memory they draw from.
//
// Why nvJPEG from the CUDA Toolkit rather than nvImageCodec: measured side by side, nvImageCodec decoded no more
// photos per second than this code's batch decoder, on the engine or with its own fallbacks, and both spend the
// same host time per photo inside nvjpegDecodeBatched, which bounds either (BENCHMARKS.md, "The GPU codecs alone").
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
#include "absl/strings/string_view.h"
#include "codec/cuda/cuda_handles.h"
#include "common/mutex.h"

namespace imgproc {

// INVALID_ARGUMENT for what the data is at fault for, RESOURCE_EXHAUSTED for memory, INTERNAL otherwise.
absl::Status NvJpegError(nvjpegStatus_t status, const std::string& where);
absl::Status CudaError(cudaError_t error, const std::string& where);

// A JPEG's bytes as nvJPEG's calls take them.
inline const unsigned char* NvJpegBytes(absl::string_view jpeg) {
  return reinterpret_cast<const unsigned char*>(jpeg.data());
}

class NvJpegDevice {
 public:
  // `use_engine`: try the JPEG engine (A100, H100, H200...); without one the engine's handle stays null.
  static absl::StatusOr<std::unique_ptr<NvJpegDevice>> Create(int device, bool use_engine);
  ~NvJpegDevice();
  NvJpegDevice(const NvJpegDevice&) = delete;
  NvJpegDevice& operator=(const NvJpegDevice&) = delete;

  int device() const { return device_; }
  // The handle for nvjpegDecodeBatched on the JPEG engine; null when the GPU has none.
  nvjpegHandle_t engine() const { return engine_.get(); }
  // Why engine() is null, for the log and GetServerInfo; "" when it is not.
  const std::string& engine_note() const { return engine_note_; }
  // Held around each batched decode on engine(). nvJPEG spends the host time of an engine batch inside one call,
  // and calls from two threads on one handle took twice as long each (BENCHMARKS.md, "The GPU codecs alone"):
  // so batch threads take turns at the engine and prepare (parse, allocate, hand on) outside the lock.
  Mutex& engine_mutex() { return engine_mutex_; }
  unsigned engines() const { return engines_; }
  unsigned cores_per_engine() const { return cores_per_engine_; }
  // The handle for single-image CUDA decoding and for encoding.
  nvjpegHandle_t cuda() const { return cuda_.get(); }
  // The allocators behind the handles, for the buffers of nvJPEG's decoupled decoders.
  nvjpegDevAllocatorV2_t* device_allocator() { return &device_allocator_; }
  nvjpegPinnedAllocatorV2_t* pinned_allocator() { return &pinned_allocator_; }

  // A stream on this GPU for a decoder of its own. Non-blocking: no implicit ordering with the legacy default
  // stream that other libraries may use.
  absl::StatusOr<CudaStream> CreateStream() const;
  // Stream-ordered device memory from this GPU's pool: free on the stream that last used the memory.
  absl::StatusOr<void*> Allocate(size_t bytes, cudaStream_t stream);
  void Free(void* pointer, cudaStream_t stream);

  // The two timing events of one decode batch, reused from batch to batch: event creation waits for the driver
  // lock that every lane's calls take too, which made fresh events a large part of the batch thread's time under
  // load (BENCHMARKS.md, "The decode stage under load, by phase"). Return a pair only once `done` has completed.
  struct BatchEvents {
    CudaEvent start;
    CudaEvent done;
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
  absl::StatusOr<NvJpegHandle> CreateHandle(nvjpegBackend_t backend);

  // Destroyed in reverse order: the events and handles, then the pool that their memory came from.
  const int device_;
  struct PoolDestroyer {
    void operator()(cudaMemPool_t pool) const;  // once the device has finished with its memory
  };
  std::unique_ptr<std::remove_pointer_t<cudaMemPool_t>, PoolDestroyer> pool_;
  nvjpegDevAllocatorV2_t device_allocator_{};
  nvjpegPinnedAllocatorV2_t pinned_allocator_{};
  NvJpegHandle cuda_;
  NvJpegHandle engine_;
  Mutex engine_mutex_;
  std::string engine_note_;
  unsigned engines_ = 0;
  unsigned cores_per_engine_ = 0;
  std::atomic<int64_t> pinned_allocations_{0};
  Mutex events_mutex_;
  std::vector<BatchEvents> idle_events_ ABSL_GUARDED_BY(events_mutex_);
};

}  // namespace imgproc
