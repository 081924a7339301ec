#pragma once
// The CUDA lane's class, for the files that define its pieces: cuda_lane.cc (the run: input, steps, output, then
// the stream waited for and the timings read), cuda_lane_input.cc (the decode paths, the colour transform and the
// orientation), cuda_lane_steps.cc (each pass on its CUDA kernel or the CPU) and cuda_lane_output.cc (nvJPEG, the
// CPU encoders or raw pixels). Nothing else includes it: the rest of the server knows the lane through
// CudaLaneFactory (cuda_lane.h).

#include <cuda_runtime.h>

#include <memory>
#include <opencv2/core/cuda.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backend/cuda/color_device_tables.h"
#include "backend/cuda/cuda_codec_options.h"
#include "backend/cuda/cuda_kernel.h"
#include "backend/cuda/device_allocator.h"
#include "codec/cuda/jpeg_cuda_decoder.h"
#include "codec/cuda/jpeg_cuda_encoder.h"
#include "core/lane.h"

namespace imgproc {

// Decodes on the GPU where it can and runs the chain there: the input arrives decoded by the decode stage (the JPEG
// engine, or nvJPEG for progressive JPEGs), or is decoded here with nvJPEG on the SMs, or on the CPU and uploaded;
// JPEG answers are encoded here with nvJPEG, raw answers converted on the GPU and copied straight into the answer,
// the other formats downloaded and encoded on the CPU.
class CudaLane final : public ExecutionLane {
 public:
  CudaLane(int device, std::shared_ptr<NvJpegDevice> codec, const CudaCodecOptions& options);
  absl::StatusOr<JobResult> Run(const Job& job) override;
  // A cv::Exception from OpenCV's CUDA modules as a status: RESOURCE_EXHAUSTED for memory, else INTERNAL.
  static absl::Status FromCvException(const cv::Exception& e, const std::string& where);

 private:
  // A byte buffer of pinned host memory that only grows; images of any shape are views into it, so changing
  // sizes between requests does not mean a new cudaHostAlloc.
  class PinnedBuffer {
   public:
    cv::Mat View(int rows, int cols, int type);

   private:
    cv::cuda::HostMem memory_{cv::cuda::HostMem::PAGE_LOCKED};
  };

  // Binds the thread that makes the lane to the lane's device and to an allocator cache of its own
  // (DeviceAllocator), and unbinds it when the lane goes. Declared before the lane's device memory, which is then
  // freed into the cache before the cache is released.
  class DeviceBinding {
   public:
    explicit DeviceBinding(int device);
    ~DeviceBinding();
    DeviceBinding(const DeviceBinding&) = delete;
    DeviceBinding& operator=(const DeviceBinding&) = delete;

   private:
    DeviceAllocator::ThreadCache cache_;
  };

  // The request's image on the device, in two buffers the lane keeps from request to request. nvJPEG decodes and
  // the upload writes into `decoded`; from there every transform (a gray JPEG made colour, the colour transform,
  // gray, the orientation, each pass of each step) reads one of the two and writes the other, so that a request
  // takes two images' memory however long its chain.
  struct ImageBuffers {
    cv::cuda::GpuMat decoded;
    cv::cuda::GpuMat transformed;
    // Where a transform of `source` writes: the buffer `source` is not in (the decode stage's image is in neither).
    cv::cuda::GpuMat& TargetFor(const cv::cuda::GpuMat& source) {
      return source.data == decoded.data ? transformed : decoded;
    }
  };

  // Recorded on the lane's stream between the phases of a request, read once it has finished (ReadTimings).
  struct PhaseEvents {
    cv::cuda::Event start, input_ready, operated, finished;
  };

  // The run (cuda_lane.cc).
  absl::StatusOr<JobResult> RunOnDevice(const Job& job);
  // A request failed with `why` while the lane was `doing` it. Waits for the stream, so that nothing is left
  // half-done for the next request, and tells a failed request from a failed device: a sticky CUDA error makes
  // `why` a DeviceFailedError (core/device.h), which takes the device out of service.
  absl::Status Diagnose(absl::Status why, absl::string_view doing);

  // Input (cuda_lane_input.cc): the decoded image on the device, as the plan predicts it.
  absl::StatusOr<cv::cuda::GpuMat> Input(const Job& job, JobResult& result);
  // The decode stage's image, nvJPEG's on the SMs, or the CPU decoder's uploaded.
  absl::StatusOr<cv::cuda::GpuMat> Decode(const Job& job, JobResult& result);
  // Nothing where nvJPEG cannot decode the JPEG: the CPU decoder then gets its chance (and gives the same error
  // where it fails too), unless nvJPEG failed because the device did.
  absl::StatusOr<std::optional<cv::cuda::GpuMat>> DecodeWithNvJpeg(const Job& job, JobResult& result);
  absl::StatusOr<cv::cuda::GpuMat> DecodeOnCpu(const Job& job, JobResult& result);
  // The GPU-decoded `input` converted to sRGB on the lane's stream with the transform's device form (curves and a
  // 3x3 matrix, a lattice, or a gray curve: codec/color_device_form.h). Where the transform has no device form,
  // through lcms2 on the CPU between a download and an upload; the reason says which.
  absl::StatusOr<cv::cuda::GpuMat> ConvertColor(const cv::cuda::GpuMat& input, const ColorDecision& color,
                                                JobResult& result);

  // Steps (cuda_lane_steps.cc): each pass on its CUDA kernel, or on the CPU between a download and an upload.
  absl::StatusOr<cv::cuda::GpuMat> RunSteps(const Job& job, cv::cuda::GpuMat image, JobResult& result);
  // `kernel` null: the step's CPU kernel.
  absl::Status RunPass(const Job& job, const BoundOp& step, const CudaKernel* kernel, int pass,
                       const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out);
  // No CUDA path for these parameters: this pass on the CPU between a download and an upload. A long pass runs in
  // stripes and returns StopReason's status when the request expires or is cancelled between two of them.
  absl::Status RunOnCpu(const Job& job, const BoundOp& step, int pass, const cv::cuda::GpuMat& in,
                        cv::cuda::GpuMat& out);

  // Output (cuda_lane_output.cc): nvJPEG, the CPU encoders, or raw pixels; the metadata spliced in on the CPU.
  absl::Status Output(const cv::cuda::GpuMat& image, const Job& job, JobResult& result);
  absl::Status EncodeWithNvJpeg(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result);
  absl::Status DownloadAndEncode(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result);
  // Raw pixels: dtype conversion and CHW planes on the GPU, then one copy into the answer's bytes, or into the job's
  // output slot (host memory, or device memory on this lane's GPU), which the lane waits for with the rest of the
  // stream.
  absl::Status DownloadRaw(const cv::cuda::GpuMat& image, const OutputSpec& spec, const std::optional<TensorSlot>& slot,
                           EncodedImage& out);
  // `image`'s channels as planes, one after the other in tight rows (CHW).
  cv::cuda::GpuMat Planes(const cv::cuda::GpuMat& image);
  // The output's conversions reuse the kernels' scratch, free once the steps have run.
  cv::cuda::GpuMat& ColourOfBgra() { return kernel_scratch_[0]; }  // a 4-channel JPEG answer's colour, for nvJPEG
  cv::cuda::GpuMat& RawInDtype() { return kernel_scratch_[0]; }    // a raw answer in the dtype it asks for
  cv::cuda::GpuMat& RawPlanes() { return kernel_scratch_[1]; }     // a CHW raw answer's planes
  cv::cuda::GpuMat& RawAsFloat16() { return kernel_scratch_[2]; }  // a float16 answer before its planes

  // After the output: the stream waited for, the timings read from its events.
  void WaitForStream(const Job& job);
  void ReadTimings(const Job& job, JobResult& result);

  // Made in this order, destroyed in reverse: the device memory below goes back to the binding's cache before the
  // binding releases it, and the nvJPEG objects before the stream they were made on.
  const int device_;
  DeviceBinding binding_;
  cv::cuda::Stream stream_;
  const cudaStream_t raw_stream_;
  PhaseEvents events_;
  const std::shared_ptr<NvJpegDevice> codec_;
  std::unique_ptr<JpegCudaDecoder> jpeg_decoder_;  // null: JPEGs the decode stage did not take go to the CPU
  std::unique_ptr<JpegCudaEncoder> jpeg_encoder_;  // null: JPEG answers are encoded on the CPU
  ImageBuffers images_;
  std::vector<cv::cuda::GpuMat> kernel_scratch_ = std::vector<cv::cuda::GpuMat>(4);  // CudaOpContext::scratch
  CudaObjectCache objects_;
  DeviceColorTables color_tables_{8};  // the transforms this lane applied on its device, the last 8
  PinnedBuffer upload_staging_, download_staging_, fallback_staging_;
  int64_t cpu_fallback_us_ = 0;
};

}  // namespace imgproc
