#include "app/server_run.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <opencv2/core.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "app/backends.h"
#include "app/memory_budgets.h"
#include "common/log.h"
#include "metrics/service_metrics.h"
#include "ops/interruptible_call.h"
#include "scheduler/scheduler.h"
#include "transport/image_service.h"
#include "transport/server_info.h"
#include "transport/tls.h"
#include "version.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace imgproc {
namespace {

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

// Signals are taken by sigwait; blocked before any thread exists, so every thread inherits it.
sigset_t BlockServerSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, kNoDeviceSignal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// "127.0.0.1:50051" for a listen address and the port it got.
std::string HostAndPort(const std::string& address, int port) {
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

// A worker pool per device; `devices` says them for the start line. A lane that cannot be made is the status.
absl::StatusOr<std::vector<std::unique_ptr<WorkerPool>>> StartPools(const ServerConfig& config, Backend& backend,
                                                                    const MemoryBudgets& budgets,
                                                                    ServiceMetrics& metrics, std::string* devices) {
  int64_t per_device_bytes = config.max_queued_bytes_per_device;
  if (per_device_bytes <= 0) {
    per_device_bytes = budgets.queued_input_bytes / std::max<int64_t>(1, backend.devices.size());
  }
  std::vector<std::unique_ptr<WorkerPool>> pools;
  for (Backend::Device& d : backend.devices) {
    metrics.AddDevice(d.description, d.workers, config.queue_capacity);
    pools.push_back(std::make_unique<WorkerPool>(d.description, d.workers, config.queue_capacity, std::move(d.lanes),
                                                 &metrics, std::move(d.front_stage), per_device_bytes,
                                                 budgets.pixel_bytes_per_device));
    if (absl::Status lanes = pools.back()->lanes_status(); !lanes.ok()) return lanes;
    absl::StrAppend(devices, devices->empty() ? "" : ", ", d.description.name, " (", d.description.description, ", ",
                    d.workers, " workers", d.description.codecs.empty() ? "" : "; ", d.description.codecs, ")");
  }
  return pools;
}

// The registry of clients' CUDA shared memory where the backend and the configuration allow it; otherwise null, with
// `why_not` the status the calls about regions are answered.
std::unique_ptr<DeviceMemoryRegistry> SharedMemoryRegions(const ServerConfig& config, Backend& backend,
                                                          absl::Status* why_not) {
  if (backend.shared_memory == nullptr) {
    *why_not = absl::FailedPreconditionError(
        absl::StrCat("CUDA shared memory needs the cuda backend; this server runs the ", backend.name, " backend"));
    return nullptr;
  }
  if (!config.allow_cuda_shared_memory) {
    *why_not = absl::PermissionDeniedError(
        "CUDA shared memory is off: the server writes into a registered region of another process's GPU memory, a "
        "privilege it grants only when started with --allow_cuda_shared_memory (README, CUDA shared memory)");
    return nullptr;
  }
  std::vector<int> cuda_devices;
  for (const Backend::Device& device : backend.devices) {
    int index = 0;
    if (absl::SimpleAtoi(absl::StripPrefix(device.description.name, "cuda:"), &index)) cuda_devices.push_back(index);
  }
  return std::make_unique<DeviceMemoryRegistry>(std::move(backend.shared_memory), std::move(cuda_devices),
                                                config.max_cuda_shared_memory_regions_per_client);
}

// The gRPC server with `service`, listening; `port` is the port it got.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(const ServerConfig& config, ImageService& service,
                                                              const ServerTls& tls, const MemoryBudgets& budgets,
                                                              int64_t largest_request, int* port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, tls.credentials, port);
  // Room for the largest accepted image plus the operation chain; answers (raw float32) can be larger.
  builder.SetMaxReceiveMessageSize(static_cast<int>(largest_request));
  builder.SetMaxSendMessageSize(
      static_cast<int>(std::min<int64_t>(config.limits.max_output_bytes + (1 << 20), INT32_MAX)));
  // gRPC holds a request's whole message before the handler can refuse it, so admission by bytes alone does not
  // bound memory under a flood of large requests: gRPC's memory quota (it shrinks reads and refuses new streams
  // under pressure) and a per-connection stream limit bound what is being received.
  grpc::ResourceQuota quota("imgproc");
  quota.Resize(static_cast<size_t>(budgets.grpc_quota_bytes));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  // Under the service's name too: meshes and `grpc_health_probe -service` check that, not only "".
  server->GetHealthCheckService()->SetServingStatus(imgproc::v1::ImageProcessorService::service_full_name(), true);
  return server;
}

// No device is left in service: NOT_SERVING at once, so that probes and meshes stop sending; UNAVAILABLE answers and
// /metrics for the no-device exit delay (or until SIGTERM/SIGINT), so that clients and scrapes learn why; then an
// orderly stop and kExitNoUsableDevice, so that Kubernetes restarts the pod with a fresh CUDA context.
[[noreturn]] void StopWithoutDevice(const ServerConfig& config, grpc::Server& server, Scheduler& scheduler,
                                    const sigset_t& signals) {
  server.GetHealthCheckService()->SetServingStatus(false);
  const absl::Duration delay = std::max(absl::ZeroDuration(), config.no_device_exit_delay);
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

// SIGTERM or SIGINT: NOT_SERVING, the drain delay, then the shutdown grace for what was admitted.
void StopOnSignal(const ServerConfig& config, int signal_number, grpc::Server& server, Scheduler& scheduler,
                  const sigset_t& signals) {
  const char* name = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
  // Health turns NOT_SERVING first, while calls are still served: gRPC cancels calls that reach a server that is
  // shutting down before a handler takes them, so clients are told to go elsewhere before it stops accepting.
  server.GetHealthCheckService()->SetServingStatus(false);
  if (const absl::Duration drain = config.drain_delay; drain > absl::ZeroDuration()) {
    IMGPROC_LOG(kInfo) << name << ": NOT_SERVING; draining for " << drain;
    const timespec wait = absl::ToTimespec(drain);
    sigtimedwait(&signals, nullptr, &wait);  // a second signal ends the drain early
  }
  // The scheduler stops admitting first and tells at once the queued requests that the grace cannot cover; gRPC's
  // own deadline comes after ours, so that what is cut at the end of the grace is answered by us, with a status that
  // says why, rather than cancelled by gRPC ("Cancelling all calls", which it did to 6 of 20 requests before).
  const absl::Duration grace = std::max(absl::ZeroDuration(), config.shutdown_grace);
  IMGPROC_LOG(kInfo) << name << ": no new requests; finishing those in flight within the grace (" << grace
                     << "), refusing at once those it cannot cover";
  scheduler.BeginShutdown(Clock::now() + std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(grace)));
  std::thread([grace] {
    absl::SleepFor(grace + kShutdownExitMargin);
    IMGPROC_LOG(kError) << "a worker is still inside a step " << kShutdownExitMargin
                        << " after the shutdown grace; every call has been answered or cancelled: exiting without it";
    std::cout.flush();
    std::_Exit(kExitStopped);
  }).detach();
  server.Shutdown(absl::ToChronoTime(absl::Now() + grace + kShutdownAnswerMargin));
  scheduler.Shutdown();
  IMGPROC_LOG(kInfo) << "stopped";
}

}  // namespace

int RunServer(const ServerConfig& config) {
  const sigset_t signals = BlockServerSignals();
  cv::setNumThreads(config.opencv_threads);
  if (!OpenCvLoopsAreInterruptible()) {
    IMGPROC_LOG(kWarning)
        << "OpenCV's loops do not reach this executable's cv::parallel_for_ (OpenCV linked "
           "statically?): resize, canny, clahe, equalize_hist and Otsu's threshold run as one call each, and a "
           "deadline or cancellation waits for the call to end";
  }
  absl::StatusOr<ServerTls> tls = ServerTlsFrom(config.tls);
  if (!tls.ok()) {
    IMGPROC_LOG(kError) << tls.status().message() << " (--tls_cert, --tls_key, --tls_client_ca)";
    return kExitBadConfiguration;
  }
  absl::StatusOr<Backend> backend = ChooseBackend(config);
  if (!backend.ok()) {
    IMGPROC_LOG(kError) << backend.status().message();
    return kExitCouldNotStart;
  }
#if IMGPROC_TEST_FAULT_INJECTION
  if (absl::Status armed = ArmTestFaults(config.test_faults, *backend); !armed.ok()) {
    IMGPROC_LOG(kError) << armed.message();
    return kExitBadConfiguration;
  }
#endif
  BuildInfo build{kImgprocVersion, kImgprocGitRevision, CV_VERSION, "none", "none", backend->name};
#if IMGPROC_WITH_CUDA
  const CudaVersions cuda_versions = ReadCudaVersions();
  build.cuda_runtime_version = cuda_versions.runtime;
  build.cuda_driver_version = cuda_versions.driver;
#endif
  absl::StatusOr<std::unique_ptr<ServiceMetrics>> metrics = ServiceMetrics::Start(config.metrics_listen, build);
  if (!metrics.ok()) {
    IMGPROC_LOG(kError) << metrics.status().message();
    return kExitCouldNotStart;
  }
  // gRPC's quota must hold one message of the largest accepted request (its receive limit).
  const int64_t largest_request = std::min<int64_t>(config.limits.max_input_bytes + (1 << 20), INT32_MAX);
  std::string memory_line;
  const MemoryBudgets budgets =
      ChooseMemoryBudgets(config, static_cast<int>(backend->devices.size()), largest_request, **metrics, &memory_line);
  std::string devices;
  absl::StatusOr<std::vector<std::unique_ptr<WorkerPool>>> pools =
      StartPools(config, *backend, budgets, **metrics, &devices);
  if (!pools.ok()) {
    IMGPROC_LOG(kError) << "cannot start: " << pools.status().message();
    return kExitCouldNotStart;
  }
  // Before the scheduler, so that it outlives every job that writes to a region.
  absl::Status no_regions;
  std::unique_ptr<DeviceMemoryRegistry> regions = SharedMemoryRegions(config, *backend, &no_regions);
  // Process-directed (kill, not raise, which would leave it pending on this worker thread, where it is blocked too),
  // so that the main thread's sigwait takes it.
  Scheduler scheduler(*std::move(pools), budgets.queued_input_bytes,
                      [](const absl::Status&) { kill(getpid(), kNoDeviceSignal); });
  ServiceOptions options{config.limits, config.max_stream_in_flight,
                         absl::ToChronoMilliseconds(std::max(absl::ZeroDuration(), config.retry_pushback))};
  options.max_stream_bytes =
      config.max_stream_bytes > 0 ? config.max_stream_bytes : std::max<int64_t>(1, config.limits.max_input_bytes / 2);
  imgproc::v1::GetServerInfoResponse info = BuildServerInfo(scheduler, config.limits, backend->name, backend->reason);
  info.mutable_limits()->set_max_cuda_shared_memory_regions_per_client(
      regions != nullptr ? config.max_cuda_shared_memory_regions_per_client : 0);
  ImageService service(scheduler, options, std::move(info), metrics->get(), regions.get(), no_regions);
  int port = 0;
  absl::StatusOr<std::unique_ptr<grpc::Server>> server =
      StartGrpcServer(config, service, *tls, budgets, largest_request, &port);
  if (!server.ok()) {
    IMGPROC_LOG(kError) << server.status().message();
    scheduler.Shutdown();
    return kExitCouldNotStart;
  }
  IMGPROC_LOG(kInfo) << "imgproc " << kImgprocVersion << " listening on " << HostAndPort(config.listen, port) << ", "
                     << tls->description << " (backend " << backend->name << ": " << devices << ")";
  IMGPROC_LOG(kInfo) << memory_line;
  if ((*metrics)->port() > 0) {
    IMGPROC_LOG(kInfo) << "imgproc metrics on " << HostAndPort(config.metrics_listen, (*metrics)->port()) << "/metrics";
  }

  int signal_number = 0;
  do {
    sigwait(&signals, &signal_number);
  } while (signal_number == kNoDeviceSignal && scheduler.serving());  // a SIGUSR1 from elsewhere changes nothing
  if (signal_number == kNoDeviceSignal) StopWithoutDevice(config, **server, scheduler, signals);
  StopOnSignal(config, signal_number, **server, scheduler, signals);
  return kExitStopped;
}

}  // namespace imgproc
