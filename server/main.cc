// imgproc server: flags, wiring, signals.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <opencv2/core.hpp>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/test_fault_injection.h"
#include "common/log.h"
#include "common/memory_limit.h"
#include "metrics/service_metrics.h"
#include "ops/interruptible_call.h"
#include "scheduler/scheduler.h"
#include "transport/image_service.h"
#include "transport/server_info.h"
#include "transport/tls.h"
#include "version.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/illegal_address_fault.h"
#endif

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC address; port 0 picks a free port (printed at start)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9090", "Prometheus /metrics address; empty: metrics off");
ABSL_FLAG(std::string, log_level, "info",
          "debug, info, warning or error: the least severe lines written (debug adds one line per request, with its "
          "request_id)");
ABSL_FLAG(std::string, log_format, "text",
          "text (timestamp, level, message) or json (one object per line: time, level, message, request_id where "
          "there is one) for a cluster's log stack");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for TLS on the gRPC port (with --tls_key); empty: plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: clients must present a certificate signed by one (mutual TLS); needs --tls_cert");
ABSL_FLAG(std::string, backend, "auto", "auto (CUDA when a GPU is usable, else CPU), cpu or cuda");
ABSL_FLAG(int, cpu_workers, 0, "CPU backend workers (per device with --cpu_devices); 0: one per hardware thread");
ABSL_FLAG(int, cpu_devices, 1,
          "CPU backend: devices (pools of --cpu_workers each, named cpu:0, cpu:1...), to run and test the multi-device "
          "paths (routing, device hints, one device out of service) without GPUs; 1: one device named cpu");
ABSL_FLAG(int, gpu_workers, 0,
          "workers (each with its own CUDA stream) per GPU; 0: CPU hardware threads / GPUs, since each worker also "
          "decodes and encodes on the CPU");
ABSL_FLAG(int64_t, gpu_memory_limit, 0, "bytes of device memory the server may take per GPU; 0: all of it");
ABSL_FLAG(std::string, jpeg_decode, "auto",
          "CUDA backend: auto (the GPU's JPEG engine for the JPEGs it takes, batched across requests; nvJPEG on the "
          "SMs for other JPEGs; the CPU for the rest), cuda (no JPEG engine), or cpu (libjpeg-turbo only)");
ABSL_FLAG(std::string, jpeg_encode, "gpu", "CUDA backend: gpu (nvJPEG) or cpu (libjpeg-turbo) for JPEG answers");
ABSL_FLAG(int, decode_max_batch, 64, "CUDA backend: most JPEGs decoded in one batch on the JPEG engine");
ABSL_FLAG(int, decode_max_delay_us, 500,
          "CUDA backend: how long the oldest JPEG may wait for its batch to fill; under load batches fill anyway");
ABSL_FLAG(int, decode_threads, 2,
          "CUDA backend: batch-decode threads per GPU; they take turns at the JPEG engine, each waiting for its "
          "previous batch to finish while another's is decoded");
ABSL_FLAG(int, decoded_images_max, 128,
          "CUDA backend: decoded images held for lanes at most (device memory: 12 MB each for a 4 MP photo)");
// Off by default: on an H100 it was no faster (W1 2,013 against 2,090/s, W2 36.8 against 39.6/s) and W1's half-load
// p99/p50 went from 1.82 to 2.02 (BENCHMARKS.md, 2026-12-05); the gpu tests still run it.
ABSL_FLAG(int, progressive_decode_threads, 0,
          "CUDA backend: threads per GPU decoding progressive JPEGs (nvJPEG: Huffman on the CPU, the rest on the GPU) "
          "beside the lanes, which the JPEG engine does not take; -1: as many as lanes; 0: the lanes decode them");
ABSL_FLAG(int64_t, decode_batch_min_pixels, 100'000,
          "CUDA backend: JPEGs of fewer pixels skip the JPEG engine's batches and decode in their lane (nvJPEG on "
          "the SMs), which is faster for small images; 0: every JPEG the engine takes goes to it");
ABSL_FLAG(int, opencv_threads, 1, "threads OpenCV may use inside one CPU operation (workers give the parallelism)");
ABSL_FLAG(int, queue_capacity, 256, "requests waiting per device before RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_stream_in_flight, 32, "requests of one ProcessStream call processed at once");
ABSL_FLAG(int64_t, max_stream_bytes, 0,
          "bytes one ProcessStream call may hold: its requests read and not yet answered plus its answers not yet "
          "written (a client that does not read leaves them all); reading it pauses beyond this, though one request "
          "is always taken; 0: half of --max_input_bytes, so that a stream of the largest requests runs them one "
          "at a time, and one of requests of a few MB keeps --max_stream_in_flight of them running");
ABSL_FLAG(absl::Duration, retry_pushback, absl::Milliseconds(100),
          "a Process call refused for a full queue tells the client to retry after this long, randomized up to "
          "twice as long (gRPC's grpc-retry-pushback-ms); 0: no pushback, so clients do not retry");
ABSL_FLAG(int64_t, max_input_bytes, 64 << 20, "largest encoded image accepted");
ABSL_FLAG(int, max_width, 16384, "widest image accepted, decoded or produced by a step");
ABSL_FLAG(int, max_height, 16384, "tallest image accepted, decoded or produced by a step");
ABSL_FLAG(int64_t, max_pixels, 100'000'000, "most pixels in an image, decoded or produced by a step");
ABSL_FLAG(int, max_operations, 64, "longest operation chain");
ABSL_FLAG(int, max_jpeg_scans, 100,
          "most scans in a progressive JPEG (decode cost grows with each; encoders write ~10)");
ABSL_FLAG(double, max_request_work, imgproc::ImageLimits().max_request_work,
          "most work one request may ask for, estimated from its plan in pixel-channel taps (pixels x channels x "
          "kernel taps x passes, per operation family); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_queued_bytes, 0,
          "encoded input that queued and running requests may hold in all; RESOURCE_EXHAUSTED beyond it; 0: a tenth "
          "of the memory limit (the cgroup's, else physical memory; README, Memory budgets)");
ABSL_FLAG(int64_t, max_queued_bytes_per_device, 0,
          "the same per device; 0: --max_queued_bytes divided among the devices");
ABSL_FLAG(int, max_concurrent_streams, 64, "calls one client connection may have open at once (HTTP/2)");
ABSL_FLAG(int64_t, max_pixel_bytes, 0,
          "decoded pixel memory (each plan's peak) that a device's queued and running requests may need in all; "
          "RESOURCE_EXHAUSTED beyond it; 0: 40% of the memory limit divided among the devices");
ABSL_FLAG(int64_t, grpc_memory_quota, 0,
          "bytes gRPC may hold of messages still being received (its ResourceQuota: under pressure it shrinks reads "
          "and refuses new calls); 0: a tenth of the memory limit, at least one largest request");
ABSL_FLAG(std::string, memory_limit_root, "/",
          "TEST ONLY: the directory read as / to find the memory limit (proc/self/cgroup, proc/self/mountinfo and "
          "the cgroup files below it)");
ABSL_FLAG(int64_t, max_output_bytes, imgproc::ImageLimits().max_output_bytes,
          "largest answer, checked from the plan before any work; RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_avif_pixels, imgproc::ImageLimits().max_avif_pixels,
          "largest AVIF answer in pixels (an AV1 encode cannot be stopped once it runs); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_heic_pixels, imgproc::ImageLimits().max_heic_pixels,
          "largest HEIC answer in pixels (an HEVC encode cannot be stopped once it runs); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(),
          "on SIGTERM/SIGINT, how long to keep serving while health says NOT_SERVING, so that clients that watch "
          "health (round_robin with health checking) and load balancers stop sending first; then --shutdown_grace");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM/SIGINT, how long the requests already admitted may take; those that would not finish within it "
          "are refused at once (UNAVAILABLE), what still runs at its end is cancelled; the process exits within the "
          "grace plus 2 s");
ABSL_FLAG(absl::Duration, no_device_exit_delay, absl::Seconds(5),
          "once no device is left in service (a GPU failed with a sticky CUDA error), how long the server goes on "
          "answering (UNAVAILABLE, health NOT_SERVING, /metrics) before it exits with code 3 to be restarted");
ABSL_FLAG(std::string, test_fault_injection, "",
          "TEST ONLY, never in production: device_failure_after=N (a lane reports a device failure after N "
          "requests, any backend) or illegal_address_after=N (the CUDA backend launches a kernel that faults); "
          "with @DEVICE (device_failure_after=0@cpu:1) only that device fails, otherwise each one");

namespace imgproc {
namespace {

// The exit code when the server stops because no device is left in service (documented in README.md): distinct from
// 1 (could not start) and 2 (bad flags), so that an operator can tell a failed GPU from a misconfiguration.
constexpr int kExitNoUsableDevice = 3;
// How the scheduler tells the main thread, which waits for SIGTERM and SIGINT in sigwait, that no device is left.
constexpr int kNoDeviceSignal = SIGUSR1;
// In-flight requests are refused, not run, once no device is left: they need no long grace.
constexpr absl::Duration kNoDeviceShutdownGrace = absl::Seconds(2);
// A thread stuck in a driver call on a failed GPU must not keep the process, and so the pod, alive.
constexpr absl::Duration kNoDeviceExitWatchdog = absl::Seconds(20);
// After the shutdown grace, lanes stop at their next pass and answer UNAVAILABLE; this long is left for those answers
// to go out before gRPC cancels what is still open (a stream whose client keeps it open).
constexpr absl::Duration kShutdownAnswerMargin = absl::Seconds(1);
// The process exits at the latest this long after the grace (README, Shutdown), without a worker still inside a
// step that cannot stop midway: every call has been answered or cancelled by then.
constexpr absl::Duration kShutdownExitMargin = absl::Seconds(2);

// IMGPROC_<FLAG> in the environment sets a flag's default; the command line still wins (Kubernetes sets
// env, a developer types flags). Every flag of this file takes part, found in the flag registry, except the
// test-only fault injection, which must never be switched on by a deployment's environment.
void ApplyEnvironmentDefaults() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::EndsWith(flag->Filename(), "server/main.cc") || name == "test_fault_injection" ||
        name == "memory_limit_root") {
      continue;
    }
    const std::string env = absl::StrCat("IMGPROC_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      IMGPROC_LOG(kError) << "invalid " << env << "='" << value << "': " << error;
      std::exit(2);
    }
  }
}

bool ConfigureLogFromFlags() {
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (format.ok()) ConfigureLog(LogLevel::kInfo, *format);  // so that a bad level is reported in the format asked
  for (const absl::Status& s : {level.status(), format.status()}) {
    if (!s.ok()) {
      IMGPROC_LOG(kError) << s.message();
      return false;
    }
  }
  ConfigureLog(*level, *format);
  return true;
}

// The chosen backend, before any worker exists: metrics must be in place when the pools start.
struct Backend {
  struct Device {
    DeviceDescription description;
    int workers;
    LaneFactory lanes;
    FrontStageFactory front_stage = nullptr;
  };
  std::string name;
  std::string reason;
  std::vector<Device> devices;
};

// TEST ONLY (--test_fault_injection): the faults the flag asks for, checked before any device is set up.
TestFaultInjection TestFaultInjectionFromFlag() {
  absl::StatusOr<TestFaultInjection> injection = ParseTestFaultInjection(absl::GetFlag(FLAGS_test_fault_injection));
  if (!injection.ok()) {
    IMGPROC_LOG(kError) << injection.status().message();
    std::exit(2);
  }
  return *injection;
}

Backend CpuBackend(std::string reason) {
  int workers = absl::GetFlag(FLAGS_cpu_workers);
  if (workers <= 0) workers = std::max(1u, std::thread::hardware_concurrency());
  const int devices = absl::GetFlag(FLAGS_cpu_devices);
  if (devices < 1 || devices > 64) {
    IMGPROC_LOG(kError) << "--cpu_devices must be in [1, 64] (got " << devices << ")";
    std::exit(2);
  }
  Backend backend{"cpu", std::move(reason), {}};
  for (int i = 0; i < devices; ++i)
    backend.devices.push_back({CpuDeviceDescription(i, devices), workers, CpuLaneFactory()});
  return backend;
}

#if IMGPROC_WITH_CUDA
CudaCodecOptions CodecOptionsFromFlags() {
  const std::string decode = absl::GetFlag(FLAGS_jpeg_decode), encode = absl::GetFlag(FLAGS_jpeg_encode);
  if (decode != "auto" && decode != "cuda" && decode != "cpu") {
    IMGPROC_LOG(kError) << "--jpeg_decode must be auto, cuda or cpu (got '" << decode << "')";
    std::exit(2);
  }
  if (encode != "gpu" && encode != "cpu") {
    IMGPROC_LOG(kError) << "--jpeg_encode must be gpu or cpu (got '" << encode << "')";
    std::exit(2);
  }
  CudaCodecOptions options;
  options.engine_decode = decode == "auto";
  options.cuda_decode = decode != "cpu";
  options.cuda_encode = encode == "gpu";
  BatcherOptions& batching = options.decode_stage.batching;
  batching.max_batch = std::max(1, absl::GetFlag(FLAGS_decode_max_batch));
  batching.max_delay = std::chrono::microseconds(std::max(0, absl::GetFlag(FLAGS_decode_max_delay_us)));
  batching.threads = std::max(1, absl::GetFlag(FLAGS_decode_threads));
  options.decode_stage.max_decoded = std::max(1, absl::GetFlag(FLAGS_decoded_images_max));
  options.decode_stage.min_pixels = std::max<int64_t>(0, absl::GetFlag(FLAGS_decode_batch_min_pixels));
  return options;
}
#endif

Backend ChooseBackend(const TestFaultInjection& test_faults) {
  const std::string wanted = absl::GetFlag(FLAGS_backend);
  if (test_faults.kind == TestFaultInjection::Kind::kIllegalAddress && wanted != "cuda") {
    IMGPROC_LOG(kError) << "--test_fault_injection=illegal_address_after needs --backend=cuda";
    std::exit(2);
  }
  if (wanted == "cpu") return CpuBackend("--backend=cpu");
  if (wanted != "auto" && wanted != "cuda") {
    IMGPROC_LOG(kError) << "--backend must be auto, cpu or cuda (got '" << wanted << "')";
    std::exit(2);
  }
#if IMGPROC_WITH_CUDA
  absl::StatusOr<std::vector<DeviceDescription>> gpus = ProbeCudaDevices();
  if (gpus.ok()) {
    PrepareCudaDevices(static_cast<int>(gpus->size()), absl::GetFlag(FLAGS_gpu_memory_limit));
    Backend b{"cuda", absl::StrCat(gpus->size(), " CUDA device(s) found"), {}};
    int workers = absl::GetFlag(FLAGS_gpu_workers);
    if (workers <= 0) workers = std::max<int>(2, std::thread::hardware_concurrency() / gpus->size());
    CudaCodecOptions codecs = CodecOptionsFromFlags();
    const int progressive = absl::GetFlag(FLAGS_progressive_decode_threads);
    codecs.decode_stage.progressive_threads = progressive < 0 ? workers : progressive;
    if (!codecs.cuda_decode) codecs.decode_stage.progressive_threads = 0;  // --jpeg_decode=cpu
    for (size_t i = 0; i < gpus->size(); ++i) {
      DeviceDescription description = (*gpus)[i];
      CudaDeviceSetup setup = SetUpCudaDevice(static_cast<int>(i), description.name, codecs);
      if (test_faults.kind == TestFaultInjection::Kind::kIllegalAddress && test_faults.Targets(description.name)) {
        setup.lanes = WithIllegalAddressFault(std::move(setup.lanes),
                                              std::make_shared<TestFaultCountdown>(test_faults.after_requests));
      }
      description.codecs = setup.codec_note;
      b.devices.push_back({description, workers, std::move(setup.lanes), std::move(setup.decode_stage)});
    }
    return b;
  }
  const std::string why = absl::StrCat("no usable CUDA device: ", gpus.status().message());
#else
  const std::string why = "this build has no CUDA backend (OpenCV without CUDA modules)";
#endif
  if (wanted == "cuda") {
    IMGPROC_LOG(kError) << "--backend=cuda but " << why;
    std::exit(1);
  }
  IMGPROC_LOG(kInfo) << "using the CPU backend: " << why;
  return CpuBackend(why);
}

// The admission budgets: each flag that is set, else its share of the memory limit (common/memory_limit.h), exported
// as gauges and said in one line (`said`), which is printed once the server listens: the first line stays the
// "listening" one that scripts and tests read.
MemoryBudgets ChooseMemoryBudgets(int devices, int64_t largest_message, ServiceMetrics& metrics, std::string* said) {
  const MemoryLimit limit = DetectMemoryLimit(absl::GetFlag(FLAGS_memory_limit_root), PhysicalMemoryBytes());
  for (const std::string& problem : limit.problems) {
    IMGPROC_LOG(kWarning) << "memory limit: passed over " << problem;
  }
  MemoryBudgets budgets = DeriveMemoryBudgets(limit.bytes, devices, largest_message);
  struct Choice {
    const char* name;
    int64_t* bytes;
    int64_t flag;
    std::string flag_name, derivation;
  };
  const auto percent = [](double share) { return absl::StrCat(static_cast<int>(share * 100 + 0.5), "% of it"); };
  Choice choices[] = {
      {"queued_input", &budgets.queued_input_bytes, absl::GetFlag(FLAGS_max_queued_bytes), "--max_queued_bytes",
       percent(kQueuedInputShare)},
      {"pixels_per_device", &budgets.pixel_bytes_per_device, absl::GetFlag(FLAGS_max_pixel_bytes), "--max_pixel_bytes",
       absl::StrCat(percent(kPixelShare), devices > 1 ? absl::StrCat(" / ", devices, " devices") : "")},
      {"grpc_quota", &budgets.grpc_quota_bytes, absl::GetFlag(FLAGS_grpc_memory_quota), "--grpc_memory_quota",
       percent(kGrpcQuotaShare)},
  };
  if (budgets.grpc_quota_bytes > DeriveMemoryBudgets(limit.bytes, devices, 0).grpc_quota_bytes) {
    choices[2].derivation = absl::StrCat("one largest request, above ", choices[2].derivation);
  }
  std::vector<ServiceMetrics::MemoryBudget> gauges;
  std::string line = absl::StrCat("imgproc memory limit ", HumanBytes(limit.bytes), " (", limit.source, "); budgets:");
  const char* labels[] = {" queued input ", ", decoded pixels per device ", ", gRPC receive quota "};
  for (size_t i = 0; i < std::size(choices); ++i) {
    Choice& c = choices[i];
    if (c.flag > 0) *c.bytes = c.flag;
    absl::StrAppend(&line, labels[i], HumanBytes(*c.bytes), " (", c.flag > 0 ? c.flag_name : c.derivation, ")");
    gauges.push_back({c.name, *c.bytes, c.flag > 0});
  }
  *said = std::move(line);
  metrics.SetMemoryBudgets(limit.bytes, limit.kind, gauges);
  return budgets;
}

// No device is left in service: NOT_SERVING at once, so that probes and meshes stop sending; UNAVAILABLE answers and
// /metrics for --no_device_exit_delay (or until SIGTERM/SIGINT), so that clients and scrapes learn why; then an
// orderly stop and kExitNoUsableDevice, so that Kubernetes restarts the pod with a fresh CUDA context.
[[noreturn]] void StopWithoutDevice(grpc::Server& server, Scheduler& scheduler, const sigset_t& signals) {
  server.GetHealthCheckService()->SetServingStatus(false);
  const absl::Duration delay = std::max(absl::ZeroDuration(), absl::GetFlag(FLAGS_no_device_exit_delay));
  IMGPROC_LOG(kError) << "no device is left in service; health NOT_SERVING, exiting with code " << kExitNoUsableDevice
                      << " in " << delay;
  const timespec wait = absl::ToTimespec(delay);
  sigtimedwait(&signals, nullptr, &wait);  // a signal ends the wait early; its kind changes nothing
  std::thread([] {
    absl::SleepFor(kNoDeviceShutdownGrace + kNoDeviceExitWatchdog);
    IMGPROC_LOG(kError) << "the stop after the device failure is stuck; exiting now";
    std::_Exit(kExitNoUsableDevice);
  }).detach();
  server.Shutdown(absl::ToChronoTime(absl::Now() + kNoDeviceShutdownGrace));
  scheduler.Shutdown();
  IMGPROC_LOG(kError) << "stopped: no usable device (exit code " << kExitNoUsableDevice << ")";
  std::cout.flush();
  // Everything is answered and every worker joined; what is left is the CUDA runtime's teardown at exit, on a
  // context that a sticky error broke, which is the one part of exiting that could crash and hide the exit code.
  std::_Exit(kExitNoUsableDevice);
}

int Run() {
  // Signals are taken by sigwait below; blocked here, before any thread exists, so every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, kNoDeviceSignal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cv::setNumThreads(absl::GetFlag(FLAGS_opencv_threads));
  if (!OpenCvLoopsAreInterruptible()) {
    IMGPROC_LOG(kWarning)
        << "OpenCV's loops do not reach this executable's cv::parallel_for_ (OpenCV linked "
           "statically?): resize, canny, clahe, equalize_hist and Otsu's threshold run as one call each, and a "
           "deadline or cancellation waits for the call to end";
  }
  ImageLimits limits;
  limits.max_input_bytes = absl::GetFlag(FLAGS_max_input_bytes);
  limits.max_width = absl::GetFlag(FLAGS_max_width);
  limits.max_height = absl::GetFlag(FLAGS_max_height);
  limits.max_pixels = absl::GetFlag(FLAGS_max_pixels);
  limits.max_operations = absl::GetFlag(FLAGS_max_operations);
  limits.max_jpeg_scans = absl::GetFlag(FLAGS_max_jpeg_scans);
  limits.max_request_work = absl::GetFlag(FLAGS_max_request_work);
  limits.max_output_bytes = absl::GetFlag(FLAGS_max_output_bytes);
  limits.max_avif_pixels = absl::GetFlag(FLAGS_max_avif_pixels);
  limits.max_heic_pixels = absl::GetFlag(FLAGS_max_heic_pixels);

  const TestFaultInjection test_faults = TestFaultInjectionFromFlag();
  absl::StatusOr<ServerTls> tls_or =
      ServerTlsFrom({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_client_ca)});
  if (!tls_or.ok()) {
    IMGPROC_LOG(kError) << tls_or.status().message();
    std::exit(2);
  }
  const ServerTls tls = *std::move(tls_or);
  Backend backend = ChooseBackend(test_faults);
  if (test_faults.kind != TestFaultInjection::Kind::kNone) {
    IMGPROC_LOG(kWarning) << "TEST ONLY fault injection armed (--test_fault_injection="
                          << absl::GetFlag(FLAGS_test_fault_injection)
                          << "): " << (test_faults.device.empty() ? std::string("each device") : test_faults.device)
                          << " fails after " << test_faults.after_requests << " requests";
    bool targets_one = test_faults.device.empty();
    for (const Backend::Device& d : backend.devices)
      targets_one = targets_one || test_faults.Targets(d.description.name);
    if (!targets_one) {
      IMGPROC_LOG(kError) << "--test_fault_injection names " << test_faults.device << ", which is not a device here";
      return 2;
    }
  }
  if (test_faults.kind == TestFaultInjection::Kind::kDeviceFailure) {
    for (Backend::Device& d : backend.devices) {
      if (!test_faults.Targets(d.description.name)) continue;
      d.lanes = WithSimulatedDeviceFailure(
          std::move(d.lanes), std::make_shared<TestFaultCountdown>(test_faults.after_requests), d.description.name);
    }
  }
  BuildInfo build{kImgprocVersion, kImgprocGitRevision, CV_VERSION, "none", "none", backend.name};
#if IMGPROC_WITH_CUDA
  const CudaVersions cuda_versions = ReadCudaVersions();
  build.cuda_runtime_version = cuda_versions.runtime;
  build.cuda_driver_version = cuda_versions.driver;
#endif
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> metrics_or =
      ServiceMetrics::Start(absl::GetFlag(FLAGS_metrics_listen), build);
  if (!metrics_or.ok()) {
    IMGPROC_LOG(kError) << metrics_or.status().message();
    return 1;
  }
  std::unique_ptr<ServiceMetrics> metrics = *std::move(metrics_or);

  std::vector<std::unique_ptr<WorkerPool>> pools;
  std::string devices;
  // gRPC's quota must hold one message of the largest accepted request (its receive limit below).
  const int64_t largest_request = std::min<int64_t>(limits.max_input_bytes + (1 << 20), INT32_MAX);
  std::string memory_line;
  const MemoryBudgets budgets =
      ChooseMemoryBudgets(static_cast<int>(backend.devices.size()), largest_request, *metrics, &memory_line);
  const int64_t max_queued_bytes = budgets.queued_input_bytes;
  int64_t per_device_bytes = absl::GetFlag(FLAGS_max_queued_bytes_per_device);
  if (per_device_bytes <= 0) per_device_bytes = max_queued_bytes / std::max<int64_t>(1, backend.devices.size());
  for (Backend::Device& d : backend.devices) {
    metrics->AddDevice(d.description, d.workers, absl::GetFlag(FLAGS_queue_capacity));
    pools.push_back(std::make_unique<WorkerPool>(d.description, d.workers, absl::GetFlag(FLAGS_queue_capacity),
                                                 std::move(d.lanes), metrics.get(), std::move(d.front_stage),
                                                 per_device_bytes, budgets.pixel_bytes_per_device));
    if (absl::Status lanes = pools.back()->lanes_status(); !lanes.ok()) {
      IMGPROC_LOG(kError) << "cannot start: " << lanes.message();
      return 1;
    }
    absl::StrAppend(&devices, devices.empty() ? "" : ", ", d.description.name, " (", d.description.description, ", ",
                    d.workers, " workers", d.description.codecs.empty() ? "" : "; ", d.description.codecs, ")");
  }
  // Process-directed (kill, not raise, which would leave it pending on this worker thread, where it is blocked too),
  // so that the main thread's sigwait takes it.
  Scheduler scheduler(std::move(pools), max_queued_bytes, [](const absl::Status&) { kill(getpid(), kNoDeviceSignal); });
  ServiceOptions options{
      limits, absl::GetFlag(FLAGS_max_stream_in_flight),
      absl::ToChronoMilliseconds(std::max(absl::ZeroDuration(), absl::GetFlag(FLAGS_retry_pushback)))};
  const int64_t max_stream_bytes = absl::GetFlag(FLAGS_max_stream_bytes);
  options.max_stream_bytes = max_stream_bytes > 0 ? max_stream_bytes : std::max<int64_t>(1, limits.max_input_bytes / 2);
  ImageService service(scheduler, options, BuildServerInfo(scheduler, limits, backend.name, backend.reason),
                       metrics.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), tls.credentials, &port);
  // Room for the largest accepted image plus the operation chain; answers (raw float32) can be larger.
  builder.SetMaxReceiveMessageSize(static_cast<int>(largest_request));
  builder.SetMaxSendMessageSize(static_cast<int>(std::min<int64_t>(limits.max_output_bytes + (1 << 20), INT32_MAX)));
  // gRPC holds a request's whole message before the handler can refuse it, so admission by bytes alone does not
  // bound memory under a flood of large requests: gRPC's memory quota (it shrinks reads and refuses new streams
  // under pressure) and a per-connection stream limit bound what is being received.
  grpc::ResourceQuota quota("imgproc");
  quota.Resize(static_cast<size_t>(budgets.grpc_quota_bytes));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, absl::GetFlag(FLAGS_max_concurrent_streams));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    IMGPROC_LOG(kError) << "cannot listen on " << absl::GetFlag(FLAGS_listen);
    scheduler.Shutdown();
    return 1;
  }
  // Under the service's name too: meshes and `grpc_health_probe -service` check that, not only "".
  server->GetHealthCheckService()->SetServingStatus(imgproc::v1::ImageProcessorService::service_full_name(), true);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  IMGPROC_LOG(kInfo) << "imgproc " << kImgprocVersion << " listening on " << listen.substr(0, listen.rfind(':')) << ":"
                     << port << ", " << tls.description << " (backend " << backend.name << ": " << devices << ")";
  IMGPROC_LOG(kInfo) << memory_line;
  if (metrics->port() > 0) {
    const std::string m = absl::GetFlag(FLAGS_metrics_listen);
    IMGPROC_LOG(kInfo) << "imgproc metrics on " << m.substr(0, m.rfind(':')) << ":" << metrics->port() << "/metrics";
  }

  int signal_number = 0;
  do {
    sigwait(&signals, &signal_number);
  } while (signal_number == kNoDeviceSignal && scheduler.serving());  // a SIGUSR1 from elsewhere changes nothing
  if (signal_number == kNoDeviceSignal) StopWithoutDevice(*server, scheduler, signals);
  // Health turns NOT_SERVING first, while calls are still served: gRPC cancels calls that reach a server that is
  // shutting down before a handler takes them, so clients are told to go elsewhere before it stops accepting.
  server->GetHealthCheckService()->SetServingStatus(false);
  if (const absl::Duration drain = absl::GetFlag(FLAGS_drain_delay); drain > absl::ZeroDuration()) {
    IMGPROC_LOG(kInfo) << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") << ": NOT_SERVING; draining for " << drain;
    const timespec wait = absl::ToTimespec(drain);
    sigtimedwait(&signals, nullptr, &wait);  // a second signal ends the drain early
  }
  // The scheduler stops admitting first and tells at once the queued requests that the grace cannot cover; gRPC's
  // own deadline comes after ours, so that what is cut at the end of the grace is answered by us, with a status that
  // says why, rather than cancelled by gRPC ("Cancelling all calls", which it did to 6 of 20 requests before).
  const absl::Duration grace = std::max(absl::ZeroDuration(), absl::GetFlag(FLAGS_shutdown_grace));
  IMGPROC_LOG(kInfo) << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
                     << ": no new requests; finishing those in flight within the grace (" << grace
                     << "), refusing at once those it cannot cover";
  scheduler.BeginShutdown(Clock::now() + std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(grace)));
  std::thread([grace] {
    absl::SleepFor(grace + kShutdownExitMargin);
    IMGPROC_LOG(kError) << "a worker is still inside a step " << kShutdownExitMargin
                        << " after the shutdown grace; every call has been answered or cancelled: exiting without it";
    std::cout.flush();
    std::_Exit(0);
  }).detach();
  server->Shutdown(absl::ToChronoTime(absl::Now() + grace + kShutdownAnswerMargin));
  scheduler.Shutdown();
  IMGPROC_LOG(kInfo) << "stopped";
  return 0;
}

}  // namespace
}  // namespace imgproc

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "imgproc server: image processing over gRPC on NVIDIA GPUs or CPUs\n\n"
      "  imgproc-server --listen=0.0.0.0:50051 --metrics_listen=0.0.0.0:9090 --backend=auto --log_format=json\n\n"
      "Every flag may also be set as IMGPROC_<FLAG> in the environment (the command line wins).");
  imgproc::ApplyEnvironmentDefaults();
  // --help lists the server's flags, all in this file: Abseil's default lists only files named like the program.
  absl::FlagsUsageConfig help;
  help.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "server/main.cc"); };
  help.contains_helpshort_flags = help.contains_help_flags;
  absl::SetFlagsUsageConfig(help);
  absl::ParseCommandLine(argc, argv);
  if (!imgproc::ConfigureLogFromFlags()) return 2;
  return imgproc::Run();
}
