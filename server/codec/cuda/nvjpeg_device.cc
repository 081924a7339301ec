#include "codec/cuda/nvjpeg_device.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

const char* NvJpegStatusName(nvjpegStatus_t status) {
  switch (status) {
    case NVJPEG_STATUS_SUCCESS: return "success";
    case NVJPEG_STATUS_NOT_INITIALIZED: return "not initialized";
    case NVJPEG_STATUS_INVALID_PARAMETER: return "invalid parameter";
    case NVJPEG_STATUS_BAD_JPEG: return "bad JPEG";
    case NVJPEG_STATUS_JPEG_NOT_SUPPORTED: return "JPEG not supported";
    case NVJPEG_STATUS_ALLOCATOR_FAILURE: return "allocator failure";
    case NVJPEG_STATUS_EXECUTION_FAILED: return "execution failed";
    case NVJPEG_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case NVJPEG_STATUS_INTERNAL_ERROR: return "internal error";
    case NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED: return "implementation not supported";
    case NVJPEG_STATUS_INCOMPLETE_BITSTREAM: return "incomplete bitstream";
  }
  return "unknown status";
}

}  // namespace

absl::Status NvJpegError(nvjpegStatus_t status, const std::string& where) {
  if (status == NVJPEG_STATUS_SUCCESS) return absl::OkStatus();
  // A kernel fault inside nvJPEG leaves a CUDA error behind; take the non-sticky ones off this thread.
  cudaGetLastError();
  const std::string message = absl::StrCat(where, ": nvJPEG ", NvJpegStatusName(status), " (", status, ")");
  switch (status) {
    case NVJPEG_STATUS_BAD_JPEG:
    case NVJPEG_STATUS_JPEG_NOT_SUPPORTED:
    case NVJPEG_STATUS_INCOMPLETE_BITSTREAM: return absl::InvalidArgumentError(message);
    case NVJPEG_STATUS_ALLOCATOR_FAILURE: return absl::ResourceExhaustedError(absl::StrCat(message, ": out of memory"));
    default: return absl::InternalError(message);
  }
}

absl::Status CudaError(cudaError_t error, const std::string& where) {
  if (error == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();
  const std::string message = absl::StrCat(where, ": ", cudaGetErrorString(error));
  if (error == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<NvJpegDevice>> NvJpegDevice::Create(int device, bool use_engine) {
  std::unique_ptr<NvJpegDevice> d(new NvJpegDevice(device));
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaSetDevice(device), "cudaSetDevice"));

  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t pool = nullptr;
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaMemPoolCreate(&pool, &props), "cudaMemPoolCreate"));
  d->pool_.reset(pool);
  // Keep what was reserved: giving it back at every synchronisation would mean a new reservation per batch.
  uint64_t keep = std::numeric_limits<uint64_t>::max();
  cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
  // Reuse memory only once its free has completed on the GPU, never by making the allocating stream wait for
  // the freeing one. The JPEG engine writes without waiting for work queued before it on its stream (seen on
  // H100: pytorch/vision#9606), so a wait the pool queued would not protect a lane still reading the memory;
  // and such waits would tie the decode stage to every lane's progress. The cost: a little more memory.
  int never = 0, once_done = 1;
  cudaMemPoolSetAttribute(pool, cudaMemPoolReuseFollowEventDependencies, &never);
  cudaMemPoolSetAttribute(pool, cudaMemPoolReuseAllowInternalDependencies, &never);
  cudaMemPoolSetAttribute(pool, cudaMemPoolReuseAllowOpportunistic, &once_done);

  d->device_allocator_ = {&NvJpegDevice::DeviceMalloc, &NvJpegDevice::DeviceFree, d.get()};
  d->pinned_allocator_ = {&NvJpegDevice::PinnedMalloc, &NvJpegDevice::PinnedFree, d.get()};
  IMGPROC_ASSIGN_OR_RETURN(d->cuda_, d->CreateHandle(NVJPEG_BACKEND_DEFAULT));

  if (!use_engine) {
    d->engine_note_ = "JPEG engine not used, as configured: JPEG decodes on the SMs";
    return d;
  }
  absl::StatusOr<NvJpegHandle> engine = d->CreateHandle(NVJPEG_BACKEND_HARDWARE);
  if (!engine.ok()) {
    // ARCH_MISMATCH on GPUs without the engine; also seen in containers without the `video` capability.
    d->engine_note_ = absl::StrCat("no JPEG engine usable (", engine.status().message(), "): JPEG decodes on the SMs");
    return d;
  }
  d->engine_ = *std::move(engine);
  if (nvjpegGetHardwareDecoderInfo(d->engine(), &d->engines_, &d->cores_per_engine_) != NVJPEG_STATUS_SUCCESS) {
    d->engines_ = 1, d->cores_per_engine_ = 5;  // what nvJPEG reported before the query existed
  }
  return d;
}

absl::StatusOr<NvJpegHandle> NvJpegDevice::CreateHandle(nvjpegBackend_t backend) {
  const bool engine = backend == NVJPEG_BACKEND_HARDWARE;
  const char* where = engine ? "nvjpegCreateExV2(NVJPEG_BACKEND_HARDWARE)" : "nvjpegCreateExV2";
  // On the SMs, chroma is upsampled by interpolation, as libjpeg's "fancy upsampling" does, rather than by
  // repetition: the CUDA decoder then stays within a few levels of libjpeg-turbo instead of tens. The JPEG engine
  // slowed down several times with the flag, so its output keeps nvJPEG's default upsampling (BENCHMARKS.md,
  // "H100 host: chroma upsampling and the lanes' work chunks"; the tolerances in tests/gpu/gpu_codec_test.cc).
  const unsigned flags = engine ? NVJPEG_FLAGS_DEFAULT : NVJPEG_FLAGS_UPSAMPLING_WITH_INTERPOLATION;
  nvjpegHandle_t handle = nullptr;
  absl::Status s =
      NvJpegError(nvjpegCreateExV2(backend, &device_allocator_, &pinned_allocator_, flags, &handle), where);
  if (!s.ok() && flags != NVJPEG_FLAGS_DEFAULT) {  // libraries that predate the flag
    s = NvJpegError(nvjpegCreateExV2(backend, &device_allocator_, &pinned_allocator_, NVJPEG_FLAGS_DEFAULT, &handle),
                    where);
  }
  IMGPROC_RETURN_IF_ERROR(s);
  NvJpegHandle owned(handle);
  // Padding keeps buffers from regrowing for images a little larger than the largest seen so far.
  nvjpegSetDeviceMemoryPadding(16 << 20, handle);
  nvjpegSetPinnedMemoryPadding(8 << 20, handle);
  return owned;
}

NvJpegDevice::~NvJpegDevice() {
  // The members go after this, on the device they were made on.
  cudaSetDevice(device_);
}

void NvJpegDevice::PoolDestroyer::operator()(cudaMemPool_t pool) const {
  cudaDeviceSynchronize();
  cudaMemPoolDestroy(pool);
}

absl::StatusOr<void*> NvJpegDevice::Allocate(size_t bytes, cudaStream_t stream) {
  void* p = nullptr;
  IMGPROC_RETURN_IF_ERROR(
      CudaError(cudaMallocFromPoolAsync(&p, bytes, pool_.get(), stream),
                absl::StrCat("out of memory on cuda:", device_, ": decoded image of ", bytes, " bytes")));
  return p;
}

void NvJpegDevice::Free(void* pointer, cudaStream_t stream) {
  if (pointer != nullptr) cudaFreeAsync(pointer, stream);
}

absl::StatusOr<CudaStream> NvJpegDevice::CreateStream() const {
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaSetDevice(device_), "cudaSetDevice"));
  cudaStream_t stream = nullptr;
  IMGPROC_RETURN_IF_ERROR(CudaError(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
  return CudaStream(stream);
}

absl::StatusOr<NvJpegDevice::BatchEvents> NvJpegDevice::TakeBatchEvents() {
  {
    MutexLock lock(&events_mutex_);
    if (!idle_events_.empty()) {
      BatchEvents events = std::move(idle_events_.back());
      idle_events_.pop_back();
      return events;
    }
  }
  BatchEvents events;
  for (CudaEvent* event : {&events.start, &events.done}) {
    cudaEvent_t made = nullptr;
    IMGPROC_RETURN_IF_ERROR(CudaError(cudaEventCreate(&made), "cudaEventCreate"));
    event->reset(made);
  }
  return events;
}

void NvJpegDevice::ReturnBatchEvents(BatchEvents events) {
  MutexLock lock(&events_mutex_);
  idle_events_.push_back(std::move(events));
}

int64_t NvJpegDevice::reserved_device_bytes() const {
  uint64_t reserved = 0;
  cudaMemPoolGetAttribute(pool_.get(), cudaMemPoolAttrReservedMemCurrent, &reserved);
  return static_cast<int64_t>(reserved);
}

int NvJpegDevice::DeviceMalloc(void* self, void** pointer, size_t size, cudaStream_t stream) {
  auto* d = static_cast<NvJpegDevice*>(self);
  return cudaMallocFromPoolAsync(pointer, size, d->pool_.get(), stream) == cudaSuccess ? 0 : 1;
}

int NvJpegDevice::DeviceFree(void*, void* pointer, size_t, cudaStream_t stream) {
  return cudaFreeAsync(pointer, stream) == cudaSuccess ? 0 : 1;
}

int NvJpegDevice::PinnedMalloc(void* self, void** pointer, size_t size, cudaStream_t) {
  static_cast<NvJpegDevice*>(self)->pinned_allocations_.fetch_add(1);
  return cudaHostAlloc(pointer, size, cudaHostAllocDefault) == cudaSuccess ? 0 : 1;
}

int NvJpegDevice::PinnedFree(void*, void* pointer, size_t, cudaStream_t) {
  return cudaFreeHost(pointer) == cudaSuccess ? 0 : 1;
}

}  // namespace imgproc
