#include "backend/cuda/cuda_ipc_mapper.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace imgproc {
namespace {

// cuMemGetAddressRange through the runtime's entry-point query, so that the server links no libcuda (the CUDA
// build also runs on hosts without a driver, on the CPU backend).
using GetAddressRangeFn = CUresult (*)(CUdeviceptr* base, size_t* size, CUdeviceptr pointer);

GetAddressRangeFn AddressRangeQuery() {
  static const GetAddressRangeFn query = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    if (cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &fn, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess) {
      return static_cast<GetAddressRangeFn>(nullptr);
    }
    return reinterpret_cast<GetAddressRangeFn>(fn);
  }();
  return query;
}

class CudaIpcMapper final : public DeviceMemoryMapper {
 public:
  absl::StatusOr<char*> Map(absl::string_view handle, int cuda_device, int64_t bytes) override {
    if (handle.size() != sizeof(cudaIpcMemHandle_t)) {
      return absl::InvalidArgumentError(absl::StrCat("raw_handle: a cudaIpcMemHandle_t is ", sizeof(cudaIpcMemHandle_t),
                                                     " bytes (got ", handle.size(), ")"));
    }
    cudaIpcMemHandle_t ipc;
    std::memcpy(&ipc, handle.data(), sizeof(ipc));
    if (cudaError_t e = cudaSetDevice(cuda_device); e != cudaSuccess) {
      return absl::InternalError(absl::StrCat("cuda:", cuda_device, ": ", cudaGetErrorString(e)));
    }
    void* data = nullptr;
    if (cudaError_t e = cudaIpcOpenMemHandle(&data, ipc, cudaIpcMemLazyEnablePeerAccess); e != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it for the next call on this thread
      return absl::InvalidArgumentError(absl::StrCat(
          "raw_handle: cudaIpcOpenMemHandle on cuda:", cuda_device, " failed: ", cudaGetErrorString(e),
          " (a handle from cudaIpcGetMemHandle of another process's cudaMalloc buffer on that GPU, still allocated)"));
    }
    const GetAddressRangeFn range = AddressRangeQuery();
    CUdeviceptr base = 0;
    size_t size = 0;
    if (range == nullptr || range(&base, &size, reinterpret_cast<CUdeviceptr>(data)) != CUDA_SUCCESS) {
      cudaIpcCloseMemHandle(data);
      return absl::InternalError("cannot query the size of the mapped allocation (cuMemGetAddressRange)");
    }
    const int64_t available =
        static_cast<int64_t>(size) - static_cast<int64_t>(reinterpret_cast<CUdeviceptr>(data) - base);
    if (bytes > available) {
      cudaIpcCloseMemHandle(data);
      return absl::InvalidArgumentError(
          absl::StrCat("byte_size: ", bytes, " bytes, but the allocation the handle names holds ", available));
    }
    return static_cast<char*>(data);
  }

  void Unmap(char* data, int cuda_device) override {
    cudaSetDevice(cuda_device);
    if (cudaError_t e = cudaIpcCloseMemHandle(data); e != cudaSuccess) {
      IMGPROC_LOG(kWarning) << "cuda:" << cuda_device
                            << ": closing a shared-memory region failed: " << cudaGetErrorString(e);
    }
  }
};

}  // namespace

std::unique_ptr<DeviceMemoryMapper> MakeCudaIpcMapper() { return std::make_unique<CudaIpcMapper>(); }

}  // namespace imgproc
