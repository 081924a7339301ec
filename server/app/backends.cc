#include "app/backends.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "backend/cpu/cpu_backend.h"
#include "common/log.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_ipc_mapper.h"
#endif
#if IMGPROC_TEST_FAULT_INJECTION
#include "backend/test_fault_injection.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/illegal_address_fault.h"
#endif
#endif

namespace imgproc {
namespace {

Backend CpuBackend(const ServerConfig& config, std::string reason) {
  int workers = config.cpu_workers;
  if (workers <= 0) workers = std::max(1u, std::thread::hardware_concurrency());
  Backend backend{"cpu", std::move(reason), {}, nullptr};
  for (int i = 0; i < config.cpu_devices; ++i) {
    backend.devices.push_back({CpuDeviceDescription(i, config.cpu_devices), workers, CpuLaneFactory()});
  }
  return backend;
}

#if IMGPROC_WITH_CUDA
CudaCodecOptions CudaCodecOptionsOf(const ServerConfig& config) {
  CudaCodecOptions options;
  options.engine_decode =
      config.jpeg_decode == JpegDecodeChoice::kAuto || config.jpeg_decode == JpegDecodeChoice::kEngine;
  options.cuda_decode = config.jpeg_decode != JpegDecodeChoice::kCpu;
  options.cuda_encode = config.jpeg_encode == JpegEncodeChoice::kCuda;
  BatcherOptions& batching = options.decode_stage.batching;
  batching.max_batch = std::max(1, config.max_decode_batch);
  batching.max_delay =
      std::chrono::microseconds(std::max<int64_t>(0, absl::ToInt64Microseconds(config.max_decode_delay)));
  batching.threads = std::max(1, config.decode_threads);
  options.decode_stage.max_decoded = std::max(1, config.max_decoded_images);
  options.decode_stage.min_pixels = std::max<int64_t>(0, config.min_decode_batch_pixels);
  options.decode_stage.sm_threads = options.cuda_decode ? config.sm_decode_threads : 0;
  options.decode_stage.sm_share = config.sm_decode_share;
  return options;
}

absl::StatusOr<Backend> CudaBackend(const ServerConfig& config, const std::vector<DeviceDescription>& gpus) {
  PrepareCudaDevices(static_cast<int>(gpus.size()), config.cuda_memory_limit);
  Backend b{"cuda", absl::StrCat(gpus.size(), " CUDA device(s) found"), {}, nullptr};
  int workers = config.cuda_workers;
  if (workers <= 0) workers = std::max<int>(2, std::thread::hardware_concurrency() / gpus.size());
  CudaCodecOptions codecs = CudaCodecOptionsOf(config);
  codecs.decode_stage.progressive_threads =
      config.progressive_decode_threads < 0 ? workers : config.progressive_decode_threads;
  if (!codecs.cuda_decode) codecs.decode_stage.progressive_threads = 0;  // --jpeg_decode=cpu
  for (size_t i = 0; i < gpus.size(); ++i) {
    DeviceDescription description = gpus[i];
    CudaDeviceSetup setup = SetUpCudaDevice(static_cast<int>(i), description.name, codecs);
    if (config.jpeg_decode == JpegDecodeChoice::kEngine && setup.decode_stage == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("--jpeg_decode=engine, but ", description.name,
                                                        " decodes without a JPEG engine: ", setup.codec_note));
    }
    description.codecs = setup.codec_note;
    b.devices.push_back({description, workers, std::move(setup.lanes), std::move(setup.decode_stage)});
  }
  b.shared_memory = MakeCudaIpcMapper();
  return b;
}
#endif

}  // namespace

absl::StatusOr<Backend> ChooseBackend(const ServerConfig& config) {
  if (config.backend == BackendChoice::kCpu) return CpuBackend(config, "--backend=cpu");
#if IMGPROC_WITH_CUDA
  absl::StatusOr<std::vector<DeviceDescription>> gpus = ProbeCudaDevices();
  if (gpus.ok()) return CudaBackend(config, *gpus);
  const std::string why = absl::StrCat("no usable CUDA device: ", gpus.status().message());
#else
  const std::string why = "this build has no CUDA backend (OpenCV without CUDA modules)";
#endif
  if (config.backend == BackendChoice::kCuda) return absl::FailedPreconditionError("--backend=cuda but " + why);
  IMGPROC_LOG(kInfo) << "using the CPU backend: " << why;
  return CpuBackend(config, why);
}

#if IMGPROC_TEST_FAULT_INJECTION
absl::Status ArmTestFaults(const TestFaultInjection& faults, Backend& backend) {
  if (faults.kind == TestFaultInjection::Kind::kNone) return absl::OkStatus();
  IMGPROC_LOG(kWarning) << "TEST ONLY fault injection armed: "
                        << (faults.device.empty() ? std::string("each device") : faults.device) << " fails after "
                        << faults.after_requests << " requests";
  bool targets_one = faults.device.empty();
  for (const Backend::Device& d : backend.devices) targets_one = targets_one || faults.Targets(d.description.name);
  if (!targets_one) {
    return absl::InvalidArgumentError(
        absl::StrCat("--test_fault_injection names ", faults.device, ", which is not a device here"));
  }
  for (Backend::Device& d : backend.devices) {
    if (!faults.Targets(d.description.name)) continue;
    auto countdown = std::make_shared<TestFaultCountdown>(faults.after_requests);
    if (faults.kind == TestFaultInjection::Kind::kDeviceFailure) {
      d.lanes = WithSimulatedDeviceFailure(std::move(d.lanes), std::move(countdown), d.description.name);
    }
#if IMGPROC_WITH_CUDA
    // Only on the CUDA backend: ValidateServerConfig refuses illegal_address_after without --backend=cuda.
    if (faults.kind == TestFaultInjection::Kind::kIllegalAddress) {
      d.lanes = WithIllegalAddressFault(std::move(d.lanes), std::move(countdown));
    }
#endif
  }
  return absl::OkStatus();
}
#endif

}  // namespace imgproc
