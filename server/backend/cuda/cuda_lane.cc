#include "backend/cuda/cuda_lane.h"

#include <opencv2/core/cuda_stream_accessor.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/cuda/cuda_fault.h"
#include "backend/cuda/cuda_lane_internal.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

int64_t ElapsedUs(const cv::cuda::Event& from, const cv::cuda::Event& to) {
  return static_cast<int64_t>(cv::cuda::Event::elapsedTime(from, to) * 1000);
}

std::string StepNames(const Plan& plan) {
  std::vector<std::string> names;
  for (const BoundOp& step : plan.steps) names.push_back(step.name);
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

}  // namespace

cv::Mat CudaLane::PinnedBuffer::View(int rows, int cols, int type) {
  const size_t bytes = size_t(rows) * cols * CV_ELEM_SIZE(type);
  if (bytes > static_cast<size_t>(memory_.cols)) memory_.create(1, static_cast<int>(bytes + bytes / 4), CV_8U);
  return cv::Mat(rows, cols, type, memory_.data);
}

CudaLane::DeviceBinding::DeviceBinding(int device) {
  cv::cuda::setDevice(device);
  DeviceAllocator::Instance().BindThread(&cache_);
}

CudaLane::DeviceBinding::~DeviceBinding() { DeviceAllocator::Instance().BindThread(nullptr); }

absl::Status CudaLane::FromCvException(const cv::Exception& e, const std::string& where) {
  // Our allocator and CUDA's cudaErrorMemoryAllocation ("out of memory") both say so in the message.
  if (absl::StrContains(e.what(), "out of memory"))
    return absl::ResourceExhaustedError(absl::StrCat(where, ": ", e.what()));
  return absl::InternalError(absl::StrCat(where, " failed on the GPU: ", e.what()));
}

CudaLane::CudaLane(int device, std::shared_ptr<NvJpegDevice> codec, const CudaCodecOptions& options)
    : device_(device),
      binding_(device),
      raw_stream_(cv::cuda::StreamAccessor::getStream(stream_)),
      codec_(std::move(codec)) {
  if (codec_ == nullptr) return;
  if (options.cuda_decode) {
    if (auto made = JpegCudaDecoder::Create(*codec_); made.ok()) jpeg_decoder_ = *std::move(made);
  }
  if (options.cuda_encode) {
    if (auto made = JpegCudaEncoder::Create(*codec_, raw_stream_); made.ok()) jpeg_encoder_ = *std::move(made);
  }
}

absl::StatusOr<JobResult> CudaLane::Run(const Job& job) {
  absl::StatusOr<JobResult> result;
  try {
    result = RunOnDevice(job);
  } catch (const cv::Exception& e) {
    result = FromCvException(e, absl::StrCat("cuda:", device_, " running ", StepNames(*job.plan)));
  }
  if (result.ok()) return result;
  return Diagnose(result.status(), absl::StrCat("running ", StepNames(*job.plan)));
}

absl::StatusOr<JobResult> CudaLane::RunOnDevice(const Job& job) {
  JobResult result;
  result.color = job.plan->color;  // DecodeInput carries it out where the CPU decodes
  events_.start.record(stream_);
  IMGPROC_ASSIGN_OR_RETURN(cv::cuda::GpuMat image, Input(job, result));
  events_.input_ready.record(stream_);
  IMGPROC_ASSIGN_OR_RETURN(image, RunSteps(job, image, result));
  events_.operated.record(stream_);
  IMGPROC_RETURN_IF_ERROR(Output(image, job, result));
  events_.finished.record(stream_);
  WaitForStream(job);
  ReadTimings(job, result);
  if (auto* staged = static_cast<CudaStagedImage*>(job.staged.get())) staged->Release();  // its reads have run
  return result;
}

absl::Status CudaLane::Diagnose(absl::Status why, absl::string_view doing) {
  if (DeviceFailure(why)) return why;
  const cudaError_t sticky = FindStickyCudaError(raw_stream_);
  if (sticky == cudaSuccess) return why;
  return DeviceFailedError(CudaErrorText(sticky), absl::StrCat("cuda:", device_, " ", doing, " (", why.message(), ")"));
}

void CudaLane::WaitForStream(const Job& job) {
  const Clock::time_point wait_start = Clock::now();
  stream_.waitForCompletion();  // asynchronous kernel faults surface here
  if (const int64_t waited_us = MicrosSince(wait_start); waited_us > 1'000'000) {
    // Rare and worth knowing: the GPU or the decode this request waits for is stuck.
    IMGPROC_LOG(kWarning) << "cuda:" << device_ << ": a lane waited " << waited_us / 1000 << " ms for its stream ("
                          << (job.staged != nullptr ? "input from the decode stage" : "input decoded in the lane")
                          << ")";
  }
}

void CudaLane::ReadTimings(const Job& job, JobResult& result) {
  if (auto* staged = static_cast<CudaStagedImage*>(job.staged.get())) {
    result.timings.decode_us = staged->host_decode_us() >= 0
                                   ? staged->host_decode_us()
                                   : static_cast<int64_t>(staged->image().batch().ElapsedMs() * 1000);
  } else if (result.decode_path == CodecPath::kCuda) {
    result.timings.decode_us = ElapsedUs(events_.start, events_.input_ready);
  }
  result.timings.operations_us = ElapsedUs(events_.input_ready, events_.operated) + cpu_fallback_us_;
  if (result.encode_path == CodecPath::kNone)
    result.timings.download_us = ElapsedUs(events_.operated, events_.finished);
  result.gpu_busy_us = ElapsedUs(events_.start, events_.finished) - cpu_fallback_us_;
}

LaneFactory CudaLaneFactory(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options) {
  return [device, codec, options](int) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    IMGPROC_RETURN_IF_ERROR(CudaKernelRegistry::CheckEveryKernelHasAnOperation());
    try {
      return std::make_unique<CudaLane>(device, codec, options);
    } catch (const cv::Exception& e) {  // no context, stream or event on the device
      return CudaLane::FromCvException(e, absl::StrCat("setting up a lane on cuda:", device));
    }
  };
}

}  // namespace imgproc
