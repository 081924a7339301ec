// The CUDA lane's steps: each pass of each step on its CUDA kernel (backend/cuda/kernels/), or on the CPU between a
// download and an upload where no kernel takes its parameters.
#include "absl/strings/str_cat.h"
#include "backend/cuda/cuda_lane_internal.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

// Most estimated work (pixel-channel taps) a lane queues on its stream between two checks of the request: about a
// tenth of a second of GPU time for the slowest kernels, NPP's morphology (BENCHMARKS.md, "H100 host: chroma
// upsampling and the lanes' work chunks"), so that an expired request frees its lane soon without a
// synchronization per step.
constexpr double kMaxUnsyncedWork = 2e10;

std::string StepWhere(const BoundOp& step) { return absl::StrCat("operations[", step.index, "].", step.name); }

}  // namespace

absl::StatusOr<cv::cuda::GpuMat> CudaLane::RunSteps(const Job& job, cv::cuda::GpuMat image, JobResult& result) {
  cpu_fallback_us_ = 0;
  double unsynced_work = 0;  // queued on the stream since the lane last waited for it
  for (const BoundOp& step : job.plan->steps) {
    const CudaKernel* kernel = CudaKernelRegistry::Find(step.name);
    if (kernel != nullptr && !kernel->accepts(step)) kernel = nullptr;
    if (kernel == nullptr) result.cpu_fallback_operations.push_back(StepWhere(step));
    for (int pass = 0; pass < step.passes; ++pass) {
      // Queued GPU work cannot be cancelled: long work goes in chunks, waited for before the request is checked
      // again, so that an expired request frees the lane within one chunk.
      if (unsynced_work >= kMaxUnsyncedWork) {
        stream_.waitForCompletion();
        unsynced_work = 0;
      }
      IMGPROC_RETURN_IF_ERROR(StopReason(job));
      cv::cuda::GpuMat& next = images_.TargetFor(image);
      IMGPROC_RETURN_IF_ERROR(RunPass(job, step, kernel, pass, image, next));
      if (kernel != nullptr) unsynced_work += step.work_per_pass;
      image = next;
    }
  }
  return image;
}

absl::Status CudaLane::RunPass(const Job& job, const BoundOp& step, const CudaKernel* kernel, int pass,
                               const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out) {
  try {
    if (kernel == nullptr) return RunOnCpu(job, step, pass, in, out);
    CudaOpContext ctx{stream_, kernel_scratch_, objects_};
    kernel->run(step, pass, in, out, ctx);
    return absl::OkStatus();
  } catch (const cv::Exception& e) {
    return FromCvException(e, StepWhere(step));
  }
}

absl::Status CudaLane::RunOnCpu(const Job& job, const BoundOp& step, int pass, const cv::cuda::GpuMat& in,
                                cv::cuda::GpuMat& out) {
  const Clock::time_point f = Clock::now();
  cv::Mat host = fallback_staging_.View(in.rows, in.cols, in.type());
  in.download(host, stream_);
  stream_.waitForCompletion();
  cv::Mat result;
  CpuPassContext ctx;
  ctx.stop = [&job] { return StopReason(job); };
  if (absl::Status stop = step.RunCpu(pass, host, result, ctx); !stop.ok()) {
    cpu_fallback_us_ += MicrosSince(f);
    return stop;
  }
  cv::Mat restaged = upload_staging_.View(result.rows, result.cols, result.type());
  result.copyTo(restaged);
  out.upload(restaged, stream_);
  stream_.waitForCompletion();  // the staging buffer is reused by the next fallback or request
  cpu_fallback_us_ += MicrosSince(f);
  return absl::OkStatus();
}

}  // namespace imgproc
