#include "metrics/service_metrics.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"

namespace imgproc {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr auto kSamplePeriod = std::chrono::seconds(1);

// 50 microseconds to 10 seconds: small images on a GPU take well under a millisecond, a 4K bilateral
// filter on a CPU several seconds.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10};
  return *buckets;
}

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

// Powers of two up to the largest --max_decode_batch that makes sense.
const prometheus::Histogram::BucketBoundaries& BatchBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256};
  return *buckets;
}

// utime + stime of this process from /proc/self/stat, in seconds; 0 where there is no procfs.
double ProcessCpuSeconds() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end_of_name = content.rfind(')');  // the command name may hold spaces
  if (end_of_name == std::string::npos) return 0;
  std::istringstream fields(content.substr(end_of_name + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // fields 14 and 15, counting from pid = 1
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

ServiceMetrics::ServiceMetrics(const BuildInfo& info)
    : backend_(info.backend),
      requests_(BuildCounter()
                    .Name("imgproc_requests_total")
                    .Help("Requests by RPC method, gRPC status code, backend and device")
                    .Register(*registry_)),
      latency_(BuildHistogram()
                   .Name("imgproc_request_duration_seconds")
                   .Help("End-to-end request latency in the server")
                   .Register(*registry_)),
      stage_(BuildHistogram()
                 .Name("imgproc_stage_duration_seconds")
                 .Help("Time per processing stage: batch_wait (GPU JPEG decode batcher), queue_wait (for a lane), "
                       "decode, upload, operations, download, encode")
                 .Register(*registry_)),
      in_flight_(BuildGauge()
                     .Name("imgproc_in_flight_requests")
                     .Help("Requests accepted and not yet answered")
                     .Register(*registry_)
                     .Add({})),
      stream_held_bytes_(BuildGauge()
                             .Name("imgproc_stream_held_bytes")
                             .Help("Bytes that ProcessStream calls hold: requests read and not yet answered, answers "
                                   "not yet written (each call at most --max_stream_bytes plus one request)")
                             .Register(*registry_)
                             .Add({})),
      queue_depth_(BuildGauge().Name("imgproc_queue_depth").Help("Requests waiting for a worker").Register(*registry_)),
      queue_capacity_(BuildGauge()
                          .Name("imgproc_queue_capacity")
                          .Help("Requests that may wait per device before RESOURCE_EXHAUSTED")
                          .Register(*registry_)),
      workers_(BuildGauge().Name("imgproc_workers").Help("Worker lanes per device").Register(*registry_)),
      device_state_(BuildGauge()
                        .Name("imgproc_device_state")
                        .Help("1 for the state each device is in: serving, or failed (a sticky CUDA error; out of "
                              "service until the process restarts)")
                        .Register(*registry_)),
      busy_seconds_(BuildCounter()
                        .Name("imgproc_worker_busy_seconds_total")
                        .Help("Worker time spent running requests")
                        .Register(*registry_)),
      busy_ratio_(BuildGauge()
                      .Name("imgproc_worker_busy_ratio")
                      .Help("Share of worker time busy over the last second")
                      .Register(*registry_)),
      bytes_received_(BuildCounter()
                          .Name("imgproc_received_bytes_total")
                          .Help("Encoded image bytes received")
                          .Register(*registry_)
                          .Add({})),
      bytes_sent_(
          BuildCounter().Name("imgproc_sent_bytes_total").Help("Image bytes returned").Register(*registry_).Add({})),
      partial_decodes_(BuildCounter()
                           .Name("imgproc_partial_decodes_total")
                           .Help("Requests answered OK from a partly decoded image (data cut short or damaged; "
                                 "ProcessResponse.partial_decode)")
                           .Register(*registry_)
                           .Add({})),
      pixels_(
          BuildCounter()
              .Name("imgproc_pixels_processed_total")
              .Help("Pixels of the input images (as stored, whatever size shrink-on-load decoded) of requests that ran")
              .Register(*registry_)),
      operations_(BuildCounter()
                      .Name("imgproc_operations_total")
                      .Help("Chain steps executed, by operation")
                      .Register(*registry_)),
      cpu_fallbacks_(BuildCounter()
                         .Name("imgproc_cpu_fallback_operations_total")
                         .Help("Steps a GPU request ran on the CPU for want of a CUDA path")
                         .Register(*registry_)),
      skipped_(
          BuildCounter()
              .Name("imgproc_skipped_requests_total")
              .Help("Queued requests dropped before running: deadline passed, cancelled, or beyond the shutdown grace")
              .Register(*registry_)),
      gpu_utilization_(BuildGauge()
                           .Name("imgproc_gpu_utilization_ratio")
                           .Help("GPU utilization sampled through NVML")
                           .Register(*registry_)),
      gpu_memory_used_(
          BuildGauge().Name("imgproc_gpu_memory_used_bytes").Help("GPU memory in use (NVML)").Register(*registry_)),
      gpu_memory_total_(
          BuildGauge().Name("imgproc_gpu_memory_total_bytes").Help("GPU memory (NVML)").Register(*registry_)),
      gpu_busy_seconds_(BuildCounter()
                            .Name("imgproc_gpu_busy_seconds_total")
                            .Help("GPU time of requests measured with CUDA events on the workers' streams")
                            .Register(*registry_)),
      jpeg_engine_utilization_(
          BuildGauge()
              .Name("imgproc_jpeg_engine_utilization_ratio")
              .Help("Hardware JPEG decoder utilization sampled through NVML, where the driver reports it")
              .Register(*registry_)),
      decode_batch_size_(BuildHistogram()
                             .Name("imgproc_decode_batch_size")
                             .Help("Images decoded together in one batch on the GPU's JPEG engine")
                             .Register(*registry_)),
      decode_batcher_seconds_(BuildCounter()
                                  .Name("imgproc_decode_batcher_seconds_total")
                                  .Help("Time of the GPU decode batcher's threads, by phase (wait_for_lanes, prepare, "
                                        "engine, forward); the rest of their time they wait for requests")
                                  .Register(*registry_)),
      decodes_(
          BuildCounter()
              .Name("imgproc_decodes_total")
              .Help("Images decoded, by codec path (engine: the GPU's JPEG engine, cuda: nvJPEG on the SMs, cpu) and "
                    "format")
              .Register(*registry_)),
      encodes_(BuildCounter()
                   .Name("imgproc_encodes_total")
                   .Help("Answers encoded, by codec path (cuda: nvJPEG, cpu, none for raw pixels) and format")
                   .Register(*registry_)),
      encode_fallbacks_(BuildCounter()
                            .Name("imgproc_encode_fallbacks_total")
                            .Help("JPEG answers of a CUDA lane encoded on the CPU because nvJPEG could not take the "
                                  "request's options, by device and reason (the option it refused)")
                            .Register(*registry_)),
      shrink_on_load_(BuildCounter()
                          .Name("imgproc_shrink_on_load_decodes_total")
                          .Help("Inputs decoded at 1/factor of their size because the chain starts with a downscale "
                                "(shrink-on-load), by factor")
                          .Register(*registry_)),
      color_conversions_(BuildCounter()
                             .Name("imgproc_color_conversions_total")
                             .Help("Inputs with colour information, by what was done with it (kind: converted, srgb, "
                                   "kept, ignored, invalid; ProcessResponse.color.action)")
                             .Register(*registry_)),
      process_cpu_seconds_(BuildCounter()
                               .Name("process_cpu_seconds_total")
                               .Help("User and system CPU time of the server process")
                               .Register(*registry_)
                               .Add({})) {
  BuildGauge()
      .Name("imgproc_build_info")
      .Help("Versions of this server; always 1")
      .Register(*registry_)
      .Add({{"version", info.version},
            {"git_revision", info.git_revision},
            {"opencv_version", info.opencv_version},
            {"cuda_runtime_version", info.cuda_runtime_version},
            {"cuda_driver_version", info.cuda_driver_version},
            {"backend", info.backend}})
      .Set(1);
}

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Start(const std::string& listen,
                                                                      const BuildInfo& info) {
  std::unique_ptr<ServiceMetrics> metrics(new ServiceMetrics(info));
  if (!listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> exposer = MetricsHttpServer::Start(listen, metrics->registry_);
    if (!exposer.ok()) return exposer.status();
    metrics->exposer_ = *std::move(exposer);
    metrics->port_ = metrics->exposer_->port();
  }
  metrics->sampler_ = std::thread([m = metrics.get()] { m->SampleLoop(); });
  return metrics;
}

ServiceMetrics::~ServiceMetrics() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  if (sampler_.joinable()) sampler_.join();
}

void ServiceMetrics::SetMemoryBudgets(int64_t limit_bytes, const std::string& limit_source,
                                      const std::vector<MemoryBudget>& budgets) {
  BuildGauge()
      .Name("imgproc_memory_limit_bytes")
      .Help(
          "Memory this process may use, found at start-up: its cgroup's limit (cgroup_v2, cgroup_v1) or the "
          "machine's memory (physical)")
      .Register(*registry_)
      .Add({{"source", limit_source}})
      .Set(static_cast<double>(limit_bytes));
  prometheus::Family<prometheus::Gauge>& family =
      BuildGauge()
          .Name("imgproc_memory_budget_bytes")
          .Help(
              "Admission budgets: queued_input (encoded bytes, all devices), pixels_per_device (decoded pixels), "
              "grpc_quota (messages being received); derived from the memory limit or set by a flag")
          .Register(*registry_);
  for (const MemoryBudget& budget : budgets) {
    family.Add({{"budget", budget.name}, {"source", budget.from_flag ? "flag" : "derived"}})
        .Set(static_cast<double>(budget.bytes));
  }
}

void ServiceMetrics::AddDevice(const DeviceDescription& device, int workers, size_t queue_capacity) {
  MutexLock lock(&mu_);
  DeviceSeries& d = devices_[device.name];
  d.pci_bus_id = device.pci_bus_id;
  d.workers = std::max(1, workers);
  const prometheus::Labels labels{{"device", device.name}};
  workers_.Add(labels).Set(workers);
  device_state_.Add({{"device", device.name}, {"state", "serving"}}).Set(1);
  device_state_.Add({{"device", device.name}, {"state", "failed"}}).Set(0);
  queue_capacity_.Add(labels).Set(static_cast<double>(queue_capacity));
  d.busy_seconds = &busy_seconds_.Add(labels);
  d.busy_ratio = &busy_ratio_.Add(labels);
  d.queue_depth = &queue_depth_.Add(labels);
  if (device.kind == "cuda") {
    gpu_busy_seconds_.Add(labels);
    d.gpu_utilization = &gpu_utilization_.Add(labels);
    d.gpu_memory_used = &gpu_memory_used_.Add(labels);
    d.gpu_memory_total = &gpu_memory_total_.Add(labels);
    d.gpu_memory_total->Set(static_cast<double>(device.memory_total_bytes));
  }
}

void ServiceMetrics::OnRequestStart(const char*) { in_flight_.Increment(); }

void ServiceMetrics::OnRequestDone(const char* method, size_t bytes_in, const absl::StatusOr<JobResult>& result,
                                   int64_t duration_us) {
  bytes_received_.Increment(static_cast<double>(bytes_in));
  const std::string device = result.ok() ? result->device : "none";
  requests_
      .Add({{"method", method},
            {"code", absl::StatusCodeToString(result.status().code())},
            {"backend", backend_},
            {"device", device}})
      .Increment();
  latency_.Add({{"method", method}}, LatencyBuckets()).Observe(Seconds(duration_us));
  if (result.ok()) bytes_sent_.Increment(static_cast<double>(result->image.bytes.size()));
  if (result.ok() && !result->partial_decode.empty()) partial_decodes_.Increment();
  in_flight_.Decrement();  // last: once it reads 0, the request's other series are all counted
}

void ServiceMetrics::OnStreamHeldBytes(int64_t delta) { stream_held_bytes_.Increment(static_cast<double>(delta)); }

void ServiceMetrics::OnQueueDepth(const std::string& device, size_t depth) {
  queue_depth_.Add({{"device", device}}).Set(static_cast<double>(depth));
}

void ServiceMetrics::OnJobDone(const std::string& device, const Job& job, const absl::StatusOr<JobResult>& result,
                               bool skipped, int64_t busy_us) {
  if (skipped) {
    const absl::StatusCode code = result.status().code();
    const char* reason = code == absl::StatusCode::kDeadlineExceeded ? "deadline"
                         : code == absl::StatusCode::kUnavailable    ? "shutdown"
                                                                     : "cancelled";
    skipped_.Add({{"device", device}, {"reason", reason}}).Increment();
    return;
  }
  busy_seconds_.Add({{"device", device}}).Increment(Seconds(busy_us));
  if (!result.ok()) return;
  const StageTimings& t = result->timings;
  const std::pair<const char*, int64_t> stages[] = {{"queue_wait", t.queue_wait_us}, {"decode", t.decode_us},
                                                    {"upload", t.upload_us},         {"operations", t.operations_us},
                                                    {"download", t.download_us},     {"encode", t.encode_us}};
  for (const auto& [stage, micros] : stages) {
    stage_.Add({{"stage", stage}, {"device", device}}, LatencyBuckets()).Observe(Seconds(micros));
  }
  if (job.left_front_stage != Clock::time_point()) {
    stage_.Add({{"stage", "batch_wait"}, {"device", device}}, LatencyBuckets()).Observe(Seconds(t.batch_wait_us));
  }
  pixels_.Add({{"device", device}}).Increment(static_cast<double>(job.plan->decoded.pixels()));
  decodes_
      .Add({{"device", device},
            {"path", CodecPathName(result->decode_path)},
            {"format", ImageFormatName(job.plan->header.format)}})
      .Increment();
  encodes_.Add({{"device", device}, {"path", CodecPathName(result->encode_path)}, {"format", result->image.format}})
      .Increment();
  if (result->encode_fallback_kind[0] != '\0') {
    encode_fallbacks_.Add({{"device", device}, {"reason", result->encode_fallback_kind}}).Increment();
  }
  if (result->decode_shrink_factor > 1) {
    shrink_on_load_.Add({{"device", device}, {"factor", std::to_string(result->decode_shrink_factor)}}).Increment();
  }
  if (result->color.action != ColorAction::kNone) {
    color_conversions_.Add({{"device", device}, {"kind", ColorActionName(result->color.action)}}).Increment();
  }
  for (const BoundOp& step : job.plan->steps)
    operations_.Add({{"operation", step.name}, {"device", device}}).Increment();
  for (const std::string& where : result->cpu_fallback_operations) {
    // "operations[3].median_blur" -> "median_blur"
    cpu_fallbacks_.Add({{"operation", where.substr(where.find('.') + 1)}, {"device", device}}).Increment();
  }
  if (result->gpu_busy_us > 0) gpu_busy_seconds_.Add({{"device", device}}).Increment(Seconds(result->gpu_busy_us));
}

void ServiceMetrics::OnBatch(const std::string& device, const BatchReport& batch) {
  decode_batch_size_.Add({{"device", device}}, BatchBuckets()).Observe(static_cast<double>(batch.size));
  const std::pair<const char*, int64_t> phases[] = {{"wait_for_lanes", batch.wait_for_lanes_us},
                                                    {"prepare", batch.prepare_us},
                                                    {"engine", batch.engine_us},
                                                    {"forward", batch.forward_us}};
  for (const auto& [phase, micros] : phases) {
    decode_batcher_seconds_.Add({{"device", device}, {"phase", phase}}).Increment(Seconds(micros));
  }
}

void ServiceMetrics::OnDeviceFailed(const std::string& device, const std::string&) {
  device_state_.Add({{"device", device}, {"state", "serving"}}).Set(0);
  device_state_.Add({{"device", device}, {"state", "failed"}}).Set(1);
}

void ServiceMetrics::SampleLoop() {
  nvml_ = std::make_unique<Nvml>();  // here, not at start-up: dlopen and nvmlInit take a moment
  auto last = std::chrono::steady_clock::now();
  MutexLock lock(&mu_);
  for (;;) {
    // Sleeps a period unless stopped; a spurious wake only samples early.
    if (!stopping_) stop_cv_.WaitFor(&mu_, kSamplePeriod);
    if (stopping_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last).count();
    last = now;
    const double cpu = ProcessCpuSeconds();
    if (cpu > last_process_cpu_seconds_) process_cpu_seconds_.Increment(cpu - last_process_cpu_seconds_);
    last_process_cpu_seconds_ = std::max(last_process_cpu_seconds_, cpu);
    for (auto& [name, d] : devices_) {
      const double busy = d.busy_seconds->Value();
      d.busy_ratio->Set(std::min(1.0, (busy - d.last_busy_seconds) / (elapsed * d.workers)));
      d.last_busy_seconds = busy;
      Nvml::Sample sample;
      if (d.gpu_utilization != nullptr && nvml_->Read(d.pci_bus_id, sample)) {
        d.gpu_utilization->Set(sample.utilization_ratio);
        d.gpu_memory_used->Set(sample.memory_used_bytes);
        d.gpu_memory_total->Set(sample.memory_total_bytes);
        if (sample.jpeg_utilization_ratio >= 0) {
          if (d.jpeg_engine_utilization == nullptr)
            d.jpeg_engine_utilization = &jpeg_engine_utilization_.Add({{"device", name}});
          d.jpeg_engine_utilization->Set(sample.jpeg_utilization_ratio);
        }
      }
    }
  }
}

}  // namespace imgproc
