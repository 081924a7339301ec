#pragma once
// The one owner of the service's Prometheus metrics: it observes requests at the transport and jobs in the
// worker pools, samples GPUs in its own thread, and serves /metrics.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "core/device.h"
#include "metrics/http_exposer.h"
#include "metrics/nvml.h"
#include "metrics/request_observer.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

struct BuildInfo {
  std::string version;
  std::string git_revision;
  std::string opencv_version;
  std::string cuda_runtime_version;  // "none" without the CUDA backend
  std::string cuda_driver_version;   // "none" without a driver
  std::string backend;
};

class ServiceMetrics final : public RequestObserver, public PoolObserver {
 public:
  // Serves /metrics on `listen` (host:port; port 0 picks one); empty `listen` keeps the registry unexposed.
  static absl::StatusOr<std::unique_ptr<ServiceMetrics>> Start(const std::string& listen, const BuildInfo& info);
  ~ServiceMetrics() override;

  int port() const { return port_; }
  // Call for each device before traffic: names the per-device series and the GPUs to sample.
  void AddDevice(const DeviceDescription& device, int workers, size_t queue_capacity);

  // The memory limit found at start-up (`limit_source`: cgroup_v2, cgroup_v1 or physical, as MemoryLimit::kind) and
  // each admission budget, derived from it or set by its flag. Call once, before traffic.
  struct MemoryBudget {
    std::string name;  // queued_input, pixels_per_device, grpc_quota
    int64_t bytes = 0;
    bool from_flag = false;
  };
  void SetMemoryBudgets(int64_t limit_bytes, const std::string& limit_source, const std::vector<MemoryBudget>& budgets);

  void OnRequestStart(const char* method) override;
  void OnRequestDone(const char* method, size_t bytes_in, const absl::StatusOr<JobResult>& result,
                     int64_t duration_us) override;
  void OnStreamHeldBytes(int64_t delta) override;
  void OnQueueDepth(const std::string& device, size_t depth) override;
  void OnJobDone(const std::string& device, const Job& job, const absl::StatusOr<JobResult>& result, bool skipped,
                 int64_t busy_us) override;
  void OnBatch(const std::string& device, const BatchReport& batch) override;
  void OnDeviceFailed(const std::string& device, const std::string& failure) override;

 private:
  explicit ServiceMetrics(const BuildInfo& info);
  void SampleLoop();

  struct DeviceSeries {
    std::string pci_bus_id;
    int workers = 1;
    prometheus::Counter* busy_seconds = nullptr;
    prometheus::Gauge* busy_ratio = nullptr;
    prometheus::Gauge* queue_depth = nullptr;
    double last_busy_seconds = 0;
    prometheus::Gauge* gpu_utilization = nullptr;  // null on the CPU
    prometheus::Gauge* gpu_memory_used = nullptr;
    prometheus::Gauge* gpu_memory_total = nullptr;
    prometheus::Gauge* jpeg_engine_utilization = nullptr;  // set once NVML reports it for this GPU
  };

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<MetricsHttpServer> exposer_;
  int port_ = 0;
  const std::string backend_;
  std::unique_ptr<Nvml> nvml_;  // loaded by the sampler thread, after the exposer is up (see Start)

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Histogram>& stage_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& stream_held_bytes_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Gauge>& queue_capacity_;
  prometheus::Family<prometheus::Gauge>& workers_;
  prometheus::Family<prometheus::Gauge>& device_state_;
  prometheus::Family<prometheus::Counter>& busy_seconds_;
  prometheus::Family<prometheus::Gauge>& busy_ratio_;
  prometheus::Counter& bytes_received_;
  prometheus::Counter& bytes_sent_;
  prometheus::Counter& partial_decodes_;
  prometheus::Family<prometheus::Counter>& pixels_;
  prometheus::Family<prometheus::Counter>& operations_;
  prometheus::Family<prometheus::Counter>& cpu_fallbacks_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Gauge>& gpu_utilization_;
  prometheus::Family<prometheus::Gauge>& gpu_memory_used_;
  prometheus::Family<prometheus::Gauge>& gpu_memory_total_;
  prometheus::Family<prometheus::Counter>& gpu_busy_seconds_;
  prometheus::Family<prometheus::Gauge>& jpeg_engine_utilization_;
  prometheus::Family<prometheus::Histogram>& decode_batch_size_;
  prometheus::Family<prometheus::Counter>& decode_batcher_seconds_;
  prometheus::Family<prometheus::Counter>& decodes_;
  prometheus::Family<prometheus::Counter>& encodes_;
  prometheus::Family<prometheus::Counter>& encode_fallbacks_;  // encode (issue 30)
  prometheus::Family<prometheus::Counter>& shrink_on_load_;
  prometheus::Family<prometheus::Counter>& color_conversions_;  // colour (issue 29)
  prometheus::Counter& process_cpu_seconds_;
  double last_process_cpu_seconds_ = 0;

  Mutex mu_;  // start-up adds devices, the sampler thread reads them
  std::map<std::string, DeviceSeries> devices_ ABSL_GUARDED_BY(mu_);
  CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sampler_;
};

}  // namespace imgproc
