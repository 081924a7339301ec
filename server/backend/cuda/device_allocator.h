#pragma once
// A caching allocator for cv::cuda::GpuMat, installed as OpenCV's default, so that in steady state no
// request calls cudaMalloc or cudaFree: every GpuMat OpenCV creates (our ping-pong buffers, its internal
// temporaries, filter kernels) comes from blocks a worker has used before.
//
// Blocks freed on a worker thread go back to that worker's cache and are reused only by that worker. A
// worker queues all its GPU work on its one stream, so a reused block is never touched by a new kernel
// before the kernels that used it earlier have finished. Blocks freed elsewhere are released at once.

#include <cstdint>
#include <opencv2/core/cuda.hpp>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace imgproc {

class DeviceAllocator final : public cv::cuda::GpuMat::Allocator {
 public:
  struct ThreadCache {
    int device = 0;
    std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by rounded size
    size_t cached_bytes = 0;
  };

  static DeviceAllocator& Instance();
  // Makes this the default GpuMat allocator; `limit_bytes` caps what it takes from each device (0: none).
  void Install(int64_t limit_bytes, int64_t cache_bytes_per_worker);
  // The calling thread's cache; nullptr unbinds (and frees what it held).
  void BindThread(ThreadCache* cache);

  bool allocate(cv::cuda::GpuMat* mat, int rows, int cols, size_t elem_size) override;
  void free(cv::cuda::GpuMat* mat) override;

  int64_t allocated_bytes(int device) const;
  int64_t device_malloc_calls() const;

 private:
  struct Block {
    size_t size;
    int device;
    ThreadCache* owner;
  };
  void* TakeFromDevice(int device, size_t size) ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseCache(ThreadCache& cache) ABSL_LOCKS_EXCLUDED(mu_);

  // Every lane's thread allocates and frees; a thread's own cache (ThreadCache) needs no lock.
  mutable Mutex mu_;
  std::unordered_map<void*, Block> blocks_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<int, int64_t> allocated_ ABSL_GUARDED_BY(mu_);  // per device
  int64_t limit_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cache_bytes_ ABSL_GUARDED_BY(mu_) = int64_t{2} << 30;
  int64_t malloc_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace imgproc
