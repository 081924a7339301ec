#include "backend/cuda/device_allocator.h"

#include <cuda_runtime.h>

#include <opencv2/core.hpp>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"

namespace imgproc {
namespace {

thread_local DeviceAllocator::ThreadCache* t_cache = nullptr;

size_t AlignUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// Few distinct sizes keep reuse high when image sizes vary: powers of two up to 1 MiB, then 2 MiB steps.
size_t RoundSize(size_t bytes) {
  if (bytes <= (size_t{1} << 20)) {
    size_t size = 512;
    while (size < bytes) size <<= 1;
    return size;
  }
  return AlignUp(bytes, size_t{2} << 20);
}

}  // namespace

DeviceAllocator& DeviceAllocator::Instance() {
  static auto* instance = new DeviceAllocator();  // outlives every GpuMat, including static ones
  return *instance;
}

void DeviceAllocator::Install(int64_t limit_bytes, int64_t cache_bytes_per_worker) {
  {
    MutexLock lock(&mu_);
    limit_bytes_ = limit_bytes;
    cache_bytes_ = cache_bytes_per_worker;
  }
  cv::cuda::GpuMat::setDefaultAllocator(this);
}

void DeviceAllocator::BindThread(ThreadCache* cache) {
  if (cache == nullptr && t_cache != nullptr) ReleaseCache(*t_cache);
  t_cache = cache;
}

void DeviceAllocator::ReleaseCache(ThreadCache& cache) {
  MutexLock lock(&mu_);
  for (auto& [size, pointers] : cache.free_blocks) {
    for (void* p : pointers) {
      cudaFree(p);
      allocated_[blocks_[p].device] -= static_cast<int64_t>(size);
      blocks_.erase(p);
    }
  }
  cache.free_blocks.clear();
  cache.cached_bytes = 0;
}

void* DeviceAllocator::TakeFromDevice(int device, size_t size) {
  {
    MutexLock lock(&mu_);
    if (limit_bytes_ > 0 && allocated_[device] + static_cast<int64_t>(size) > limit_bytes_) return nullptr;
  }
  void* p = nullptr;
  if (cudaMalloc(&p, size) != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky; clear it so the stream stays usable
    return nullptr;
  }
  MutexLock lock(&mu_);
  allocated_[device] += static_cast<int64_t>(size);
  ++malloc_calls_;
  return p;
}

bool DeviceAllocator::allocate(cv::cuda::GpuMat* mat, int rows, int cols, size_t elem_size) {
  // Rows aligned like cudaMallocPitch does on current GPUs; single rows or columns stay continuous.
  const size_t step = (rows > 1 && cols > 1) ? AlignUp(elem_size * cols, 512) : elem_size * cols;
  const size_t size = RoundSize(step * rows);
  int device = 0;
  cudaGetDevice(&device);
  void* p = nullptr;
  if (t_cache != nullptr) {
    auto it = t_cache->free_blocks.find(size);
    if (it != t_cache->free_blocks.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      t_cache->cached_bytes -= size;
    }
  }
  if (p == nullptr) p = TakeFromDevice(device, size);
  if (p == nullptr && t_cache != nullptr && t_cache->cached_bytes > 0) {
    ReleaseCache(*t_cache);  // give back what this worker hoards, then try once more
    p = TakeFromDevice(device, size);
  }
  if (p == nullptr) {
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    int64_t limit_bytes = 0;
    {
      MutexLock lock(&mu_);
      limit_bytes = limit_bytes_;
    }
    // The word "out of memory" is what the lanes map to RESOURCE_EXHAUSTED.
    CV_Error(
        cv::Error::GpuApiCallError,
        absl::StrCat("out of memory on cuda:", device, ": cannot allocate ", size, " bytes (", free_bytes, " free of ",
                     total_bytes, limit_bytes > 0 ? absl::StrCat(", server limit ", limit_bytes) : "", ")"));
  }
  {
    MutexLock lock(&mu_);
    blocks_[p] = Block{size, device, t_cache};
  }
  mat->data = static_cast<uchar*>(p);
  mat->step = step;
  mat->refcount = static_cast<int*>(cv::fastMalloc(sizeof(int)));
  return true;
}

void DeviceAllocator::free(cv::cuda::GpuMat* mat) {
  void* p = mat->datastart;
  Block block{};
  int64_t cache_bytes = 0;
  {
    MutexLock lock(&mu_);
    auto it = blocks_.find(p);
    if (it != blocks_.end()) block = it->second;
    cache_bytes = cache_bytes_;
  }
  if (block.size > 0 && block.owner != nullptr && block.owner == t_cache &&
      static_cast<int64_t>(t_cache->cached_bytes + block.size) <= cache_bytes) {
    t_cache->free_blocks[block.size].push_back(p);
    t_cache->cached_bytes += block.size;
  } else {
    cudaFree(p);
    MutexLock lock(&mu_);
    if (block.size > 0) allocated_[block.device] -= static_cast<int64_t>(block.size);
    blocks_.erase(p);
  }
  cv::fastFree(mat->refcount);
}

int64_t DeviceAllocator::allocated_bytes(int device) const {
  MutexLock lock(&mu_);
  auto it = allocated_.find(device);
  return it == allocated_.end() ? 0 : it->second;
}

int64_t DeviceAllocator::device_malloc_calls() const {
  MutexLock lock(&mu_);
  return malloc_calls_;
}

}  // namespace imgproc
