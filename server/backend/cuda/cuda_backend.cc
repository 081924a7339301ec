#include "backend/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <opencv2/core/cuda.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/cuda/device_allocator.h"
#include "backend/cuda/jpeg_decode_stage.h"

namespace imgproc {

namespace {

std::string SmShareName(double share) { return share < 0 ? "adaptive" : absl::StrCat(share); }

}  // namespace

CudaVersions ReadCudaVersions() {
  CudaVersions versions;
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
    versions.runtime = absl::StrCat(runtime / 1000, ".", runtime % 1000 / 10);
  }
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) {
    versions.driver = absl::StrCat(driver / 1000, ".", driver % 1000 / 10);
  }
  return versions;
}

absl::StatusOr<std::vector<DeviceDescription>> ProbeCudaDevices() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return absl::UnavailableError(absl::StrCat("cudaGetDeviceCount: ", cudaGetErrorString(err)));
  }
  if (count == 0) return absl::UnavailableError("no CUDA device visible");
  std::vector<DeviceDescription> devices;
  std::vector<std::string> skipped;
  for (int i = 0; i < count; ++i) {
    cv::cuda::DeviceInfo info(i);
    const std::string cc = absl::StrCat(info.majorVersion(), ".", info.minorVersion());
    if (!info.isCompatible()) {
      skipped.push_back(absl::StrCat("cuda:", i, " ", info.name(), " (compute capability ", cc,
                                     ") is not in this OpenCV build's CUDA_ARCH_BIN"));
      continue;
    }
    char pci[32] = {0};
    cudaDeviceGetPCIBusId(pci, sizeof pci, i);
    DeviceDescription d;
    d.name = absl::StrCat("cuda:", i);
    d.kind = "cuda";
    d.description = info.name();
    d.memory_total_bytes = static_cast<int64_t>(info.totalMemory());
    d.compute_capability = cc;
    d.pci_bus_id = pci;
    devices.push_back(std::move(d));
  }
  if (devices.empty()) return absl::UnavailableError(absl::StrJoin(skipped, "; "));
  return devices;
}

void PrepareCudaDevices(int count, int64_t memory_limit_bytes) {
  for (int i = 0; i < count; ++i) {
    cudaSetDevice(i);
    if (cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync) != cudaSuccess) cudaGetLastError();
  }
  DeviceAllocator::Instance().Install(memory_limit_bytes, int64_t{2} << 30);
}

CudaDeviceSetup SetUpCudaDevice(int device, const std::string& name, const CudaCodecOptions& options) {
  CudaDeviceSetup setup;
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> made = NvJpegDevice::Create(device, options.engine_decode);
  std::shared_ptr<NvJpegDevice> codec;
  if (made.ok()) {
    codec = *std::move(made);
    setup.decode_stage = JpegDecodeStageFactory(codec, options.decode_stage, name);
    setup.codec_note =
        codec->engine() != nullptr
            ? absl::StrCat("JPEG decode: JPEG engine (", codec->engines(), "x", codec->cores_per_engine(),
                           "), batches of up to ", options.decode_stage.batching.max_batch, " across requests; ",
                           options.decode_stage.progressive_threads > 0
                               ? absl::StrCat("progressive on ", options.decode_stage.progressive_threads,
                                              " threads beside the lanes (nvJPEG CUDA); ")
                               : "",
                           options.decode_stage.sm_threads > 0
                               ? absl::StrCat("a share (", SmShareName(options.decode_stage.sm_share), ") on ",
                                              options.decode_stage.sm_threads,
                                              " threads beside the engine (nvJPEG GPU Huffman); ")
                               : "",
                           "others ", options.cuda_decode ? "nvJPEG CUDA, then " : "", "CPU")
            : absl::StrCat("JPEG decode: ", codec->engine_note(), "; ",
                           options.cuda_decode ? "nvJPEG CUDA, then CPU" : "CPU");
    absl::StrAppend(&setup.codec_note, "; JPEG encode: ", options.cuda_encode ? "nvJPEG" : "CPU");
  } else {
    setup.codec_note = absl::StrCat("nvJPEG unavailable (", made.status().message(), "): JPEG on the CPU");
  }
  // No GPU decoder reads HEVC or AV1 stills here (nvJPEG is JPEG only): the lane decodes them with libheif on its
  // host thread (codec::Decode through DecodeInput) and uploads the pixels.
  absl::StrAppend(&setup.codec_note, "; HEIC/AVIF decode: CPU (libheif with libde265/dav1d), then uploaded");
  setup.lanes = CudaLaneFactory(device, codec, options);
  return setup;
}

}  // namespace imgproc
