#pragma once
// Owners of CUDA and nvJPEG handles and of pinned host memory: each destroys what it holds once, when it goes, so
// that a class declares its handles in the order they are made and lets C++ destroy them in reverse, instead of a
// destructor ordering raw handles by hand. Destruction results are ignored: nothing can be done about them then.

#include <cuda_runtime.h>
#include <nvjpeg.h>

#include <memory>
#include <type_traits>

namespace imgproc {

namespace cuda_handles_internal {

template <auto Destroy>
struct Destroyer {
  template <typename T>
  void operator()(T* handle) const {
    Destroy(handle);
  }
};

}  // namespace cuda_handles_internal

// `Handle` is the library's pointer type (cudaStream_t, nvjpegHandle_t...), `Destroy` the function that frees it.
template <typename Handle, auto Destroy>
using UniqueHandle = std::unique_ptr<std::remove_pointer_t<Handle>, cuda_handles_internal::Destroyer<Destroy>>;

// cudaStreamDestroy returns at once and lets queued work finish; an owner whose other handles that work uses (an
// nvJPEG state) synchronizes the stream before they go.
using CudaStream = UniqueHandle<cudaStream_t, &cudaStreamDestroy>;
using CudaEvent = UniqueHandle<cudaEvent_t, &cudaEventDestroy>;
using PinnedBytes = UniqueHandle<unsigned char*, &cudaFreeHost>;  // from cudaHostAlloc
using NvJpegHandle = UniqueHandle<nvjpegHandle_t, &nvjpegDestroy>;
using NvJpegState = UniqueHandle<nvjpegJpegState_t, &nvjpegJpegStateDestroy>;
using NvJpegParser = UniqueHandle<nvjpegJpegStream_t, &nvjpegJpegStreamDestroy>;
using NvJpegDecoder = UniqueHandle<nvjpegJpegDecoder_t, &nvjpegDecoderDestroy>;
using NvJpegDecodeParams = UniqueHandle<nvjpegDecodeParams_t, &nvjpegDecodeParamsDestroy>;
using NvJpegPinnedBuffer = UniqueHandle<nvjpegBufferPinned_t, &nvjpegBufferPinnedDestroy>;
using NvJpegDeviceBuffer = UniqueHandle<nvjpegBufferDevice_t, &nvjpegBufferDeviceDestroy>;
using NvJpegEncoderState = UniqueHandle<nvjpegEncoderState_t, &nvjpegEncoderStateDestroy>;
using NvJpegEncoderParams = UniqueHandle<nvjpegEncoderParams_t, &nvjpegEncoderParamsDestroy>;

}  // namespace imgproc
