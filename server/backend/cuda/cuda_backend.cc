#include "backend/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <opencv2/core/cuda.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "backend/cuda/device_allocator.h"

namespace imgproc {

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
    devices.push_back({absl::StrCat("cuda:", i), "cuda", info.name(), static_cast<int64_t>(info.totalMemory()), cc, pci});
  }
  if (devices.empty()) return absl::UnavailableError(absl::StrJoin(skipped, "; "));
  return devices;
}

void InstallCudaAllocator(int64_t memory_limit_bytes) {
  DeviceAllocator::Instance().Install(memory_limit_bytes, int64_t{2} << 30);
}

namespace {

// A byte buffer of pinned host memory that only grows; images of any shape are views into it, so changing
// sizes between requests does not mean a new cudaHostAlloc.
class PinnedBuffer {
 public:
  cv::Mat View(int rows, int cols, int type) {
    const size_t bytes = size_t(rows) * cols * CV_ELEM_SIZE(type);
    if (bytes > static_cast<size_t>(memory_.cols)) memory_.create(1, static_cast<int>(bytes + bytes / 4), CV_8U);
    return cv::Mat(rows, cols, type, memory_.data);
  }

 private:
  cv::cuda::HostMem memory_{cv::cuda::HostMem::PAGE_LOCKED};
};

bool IsOutOfMemory(const cv::Exception& e) {
  // Our allocator and CUDA's cudaErrorMemoryAllocation ("out of memory") both say so in the message.
  return absl::StrContains(e.what(), "out of memory");
}

absl::Status FromCvException(const cv::Exception& e, const std::string& where) {
  if (IsOutOfMemory(e)) return absl::ResourceExhaustedError(absl::StrCat(where, ": ", e.what()));
  return absl::InternalError(absl::StrCat(where, " failed on the GPU: ", e.what()));
}

class CudaLane final : public ExecutionLane {
 public:
  explicit CudaLane(int device) : device_(device) {
    cv::cuda::setDevice(device);
    DeviceAllocator::Instance().BindThread(&cache_);
    stream_ = std::make_unique<cv::cuda::Stream>();
    for (auto* event : {&start_, &uploaded_, &operated_, &downloaded_}) *event = std::make_unique<cv::cuda::Event>();
    scratch_.resize(4);
  }
  ~CudaLane() override {
    buffers_[0].release();
    buffers_[1].release();
    scratch_.clear();
    stream_.reset();
    for (auto* event : {&start_, &uploaded_, &operated_, &downloaded_}) event->reset();
    DeviceAllocator::Instance().BindThread(nullptr);
  }

  absl::StatusOr<JobResult> Run(const Job& job) override {
    absl::StatusOr<JobResult> result = RunChain(job);
    if (!result.ok()) {
      // Leave nothing half-done on the stream for the next request.
      try {
        stream_->waitForCompletion();
      } catch (const cv::Exception&) {
      }
      cudaGetLastError();
    }
    return result;
  }

 private:
  absl::StatusOr<JobResult> RunChain(const Job& job) {
    const Plan& plan = *job.plan;
    JobResult result;
    absl::StatusOr<cv::Mat> decoded = DecodeInput(job, result);
    if (!decoded.ok()) return decoded.status();

    cv::cuda::Stream& stream = *stream_;
    int current = 0;
    try {
      const Clock::time_point t = Clock::now();
      cv::Mat staged = upload_staging_.View(decoded->rows, decoded->cols, decoded->type());
      decoded->copyTo(staged);
      start_->record(stream);
      buffers_[current].upload(staged, stream);
      uploaded_->record(stream);
      const int64_t staging_us = MicrosSince(t);

      CudaOpContext ctx{stream, scratch_};
      int64_t cpu_fallback_us = 0;
      for (const BoundOp& step : plan.steps) {
        if (job.cancelled && job.cancelled()) return absl::CancelledError("request cancelled by the client");
        const int next = 1 - current;
        const std::string where = absl::StrCat("operations[", step.index, "].", step.name);
        try {
          if (step.cuda) {
            step.cuda(buffers_[current], buffers_[next], ctx);
          } else {
            // No CUDA path for these parameters: run this step on the CPU between a download and an upload.
            const Clock::time_point f = Clock::now();
            cv::Mat host = fallback_staging_.View(buffers_[current].rows, buffers_[current].cols, buffers_[current].type());
            buffers_[current].download(host, stream);
            stream.waitForCompletion();
            cv::Mat out;
            step.cpu(host, out);
            cv::Mat restaged = upload_staging_.View(out.rows, out.cols, out.type());
            out.copyTo(restaged);
            buffers_[next].upload(restaged, stream);
            stream.waitForCompletion();  // the staging buffer is reused by the next fallback or request
            cpu_fallback_us += MicrosSince(f);
            result.cpu_fallback_operations.push_back(where);
          }
        } catch (const cv::Exception& e) {
          return FromCvException(e, where);
        }
        current = next;
      }
      operated_->record(stream);

      const cv::cuda::GpuMat& last = buffers_[current];
      cv::Mat host_result = download_staging_.View(last.rows, last.cols, last.type());
      last.download(host_result, stream);
      downloaded_->record(stream);
      stream.waitForCompletion();  // asynchronous kernel faults surface here
      result.timings.upload_us = staging_us + static_cast<int64_t>(cv::cuda::Event::elapsedTime(*start_, *uploaded_) * 1000);
      result.timings.operations_us =
          static_cast<int64_t>(cv::cuda::Event::elapsedTime(*uploaded_, *operated_) * 1000) + cpu_fallback_us;
      result.timings.download_us = static_cast<int64_t>(cv::cuda::Event::elapsedTime(*operated_, *downloaded_) * 1000);
      result.gpu_busy_us = static_cast<int64_t>(cv::cuda::Event::elapsedTime(*start_, *downloaded_) * 1000) - cpu_fallback_us;

      if (absl::Status s = EncodeOutput(host_result, plan, result); !s.ok()) return s;
      return result;
    } catch (const cv::Exception& e) {
      std::vector<std::string> names;
      for (const BoundOp& step : plan.steps) names.push_back(step.name);
      return FromCvException(e, absl::StrCat("cuda:", device_, " running [", absl::StrJoin(names, ", "), "]"));
    }
  }

  const int device_;
  DeviceAllocator::ThreadCache cache_;
  std::unique_ptr<cv::cuda::Stream> stream_;
  cv::cuda::GpuMat buffers_[2];
  std::vector<cv::cuda::GpuMat> scratch_;
  PinnedBuffer upload_staging_, download_staging_, fallback_staging_;
  // Created in the constructor, once the thread is bound to the lane's device.
  std::unique_ptr<cv::cuda::Event> start_, uploaded_, operated_, downloaded_;
};

}  // namespace

LaneFactory CudaLaneFactory(int device) {
  return [device](int) { return std::make_unique<CudaLane>(device); };
}

}  // namespace imgproc
