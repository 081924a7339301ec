#include "backend/cuda/cuda_lane.h"

#include <opencv2/core/cuda_stream_accessor.hpp>
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudaimgproc.hpp>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/cuda/color_device_tables.h"
#include "backend/cuda/color_transform_kernel.h"
#include "backend/cuda/cuda_fault.h"
#include "backend/cuda/cuda_kernel.h"
#include "backend/cuda/device_allocator.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "backend/lane_io.h"
#include "codec/cuda/jpeg_cuda_decoder.h"
#include "codec/cuda/jpeg_cuda_encoder.h"
#include "codec/metadata.h"
#include "codec/orientation.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace imgproc {
namespace {

// Most estimated work (pixel-channel taps) a lane queues on its stream between two checks of the request: about a
// tenth of a second of GPU time for the slowest kernels, NPP's morphology (BENCHMARKS.md, "H100 host: chroma
// upsampling and the lanes' work chunks"), so that an expired request frees its lane soon without a
// synchronization per step.
constexpr double kMaxUnsyncedWork = 2e10;

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

// Binds the thread that makes a lane to the lane's device and to an allocator cache of its own (DeviceAllocator),
// and unbinds it when the lane goes. A lane declares it before its device memory, which is then freed into the cache
// before the cache is released.
class DeviceBinding {
 public:
  explicit DeviceBinding(int device) {
    cv::cuda::setDevice(device);
    DeviceAllocator::Instance().BindThread(&cache_);
  }
  ~DeviceBinding() { DeviceAllocator::Instance().BindThread(nullptr); }
  DeviceBinding(const DeviceBinding&) = delete;
  DeviceBinding& operator=(const DeviceBinding&) = delete;

 private:
  DeviceAllocator::ThreadCache cache_;
};

// The request's image on the device, in two buffers the lane keeps from request to request. nvJPEG decodes and the
// upload writes into `decoded`; from there every transform (a gray JPEG made colour, the colour transform, gray,
// the orientation, each pass of each step) reads one of the two and writes the other, so that a request takes two
// images' memory however long its chain.
struct ImageBuffers {
  cv::cuda::GpuMat decoded;
  cv::cuda::GpuMat transformed;
  // Where a transform of `source` writes: the buffer `source` is not in (an image of the decode stage is in neither).
  cv::cuda::GpuMat& TargetFor(const cv::cuda::GpuMat& source) {
    return source.data == decoded.data ? transformed : decoded;
  }
};

// Recorded on the lane's stream between the phases of a request, read once the stream has finished (ReadTimings).
struct PhaseEvents {
  cv::cuda::Event start, input_ready, operated, finished;
};

int64_t ElapsedUs(const cv::cuda::Event& from, const cv::cuda::Event& to) {
  return static_cast<int64_t>(cv::cuda::Event::elapsedTime(from, to) * 1000);
}

absl::Status FromCvException(const cv::Exception& e, const std::string& where) {
  // Our allocator and CUDA's cudaErrorMemoryAllocation ("out of memory") both say so in the message.
  if (absl::StrContains(e.what(), "out of memory"))
    return absl::ResourceExhaustedError(absl::StrCat(where, ": ", e.what()));
  return absl::InternalError(absl::StrCat(where, " failed on the GPU: ", e.what()));
}

std::string StepNames(const Plan& plan) {
  std::vector<std::string> names;
  for (const BoundOp& step : plan.steps) names.push_back(step.name);
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

absl::Status CheckDecodedSize(const cv::cuda::GpuMat& image, const Plan& plan) {
  if (image.cols == plan.decoded.width && image.rows == plan.decoded.height) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("decoded image is ", image.cols, "x", image.rows,
                                                 " but its header says ", plan.decoded.width, "x",
                                                 plan.decoded.height));
}

// A gray answer asked of a colour JPEG whose RGB profile is converted: the colours first, then gray.
bool ConvertsInColourFirst(const Plan& plan) {
  return plan.decoded.channels == 1 && plan.header.channels >= 3 && plan.color.action == ColorAction::kConverted &&
         plan.color.transform != nullptr && plan.color.transform->input() == ColorTransform::Input::kRgb;
}

// Decodes on the GPU where it can and runs the chain there: the input arrives decoded by the decode stage (the JPEG
// engine, or nvJPEG for progressive JPEGs), or is decoded here with nvJPEG on the SMs, or on the CPU and uploaded;
// JPEG answers are encoded here with nvJPEG, raw answers converted on the GPU and copied straight into the answer,
// the other formats downloaded and encoded on the CPU.
class CudaLane final : public ExecutionLane {
 public:
  CudaLane(int device, std::shared_ptr<NvJpegDevice> codec, const CudaCodecOptions& options)
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

  absl::StatusOr<JobResult> Run(const Job& job) override {
    absl::StatusOr<JobResult> result;
    try {
      result = RunOnDevice(job);
    } catch (const cv::Exception& e) {
      result = FromCvException(e, absl::StrCat("cuda:", device_, " running ", StepNames(*job.plan)));
    }
    if (result.ok()) return result;
    return Diagnose(result.status(), absl::StrCat("running ", StepNames(*job.plan)));
  }

 private:
  absl::StatusOr<JobResult> RunOnDevice(const Job& job) {
    JobResult result;
    result.color = job.plan->color;  // DecodeInput carries it out where the CPU decodes
    events_.start.record(stream_);
    IMGPROC_ASSIGN_OR_RETURN(cv::cuda::GpuMat image, Input(job, result));
    events_.input_ready.record(stream_);
    IMGPROC_ASSIGN_OR_RETURN(image, RunSteps(job, image, result));
    events_.operated.record(stream_);
    IMGPROC_RETURN_IF_ERROR(Output(image, *job.plan, result));
    events_.finished.record(stream_);
    WaitForStream(job);
    ReadTimings(job, result);
    if (auto* staged = static_cast<CudaStagedImage*>(job.staged.get())) staged->Release();  // its reads have run
    return result;
  }

  // A request failed with `why` while the lane was `doing` it. Waits for the stream, so that nothing is left
  // half-done for the next request, and tells a failed request from a failed device: a sticky CUDA error makes
  // `why` a DeviceFailedError (core/device.h), which takes the device out of service.
  absl::Status Diagnose(absl::Status why, absl::string_view doing) {
    if (DeviceFailure(why)) return why;
    const cudaError_t sticky = FindStickyCudaError(raw_stream_);
    if (sticky == cudaSuccess) return why;
    return DeviceFailedError(CudaErrorText(sticky),
                             absl::StrCat("cuda:", device_, " ", doing, " (", why.message(), ")"));
  }

  // ---- Input: the decoded image on the device, as the plan predicts it.

  absl::StatusOr<cv::cuda::GpuMat> Input(const Job& job, JobResult& result) {
    const Plan& plan = *job.plan;
    IMGPROC_ASSIGN_OR_RETURN(cv::cuda::GpuMat image, Decode(job, result));
    // An image the CPU decoded was converted and turned upright there (DecodeInput): CMYK JPEGs and every format
    // but JPEG. One that nvJPEG or the JPEG engine decoded is converted and turned here, on the device.
    if (result.decode_path == CodecPath::kCpu) return image;
    if (plan.color.action == ColorAction::kConverted && plan.color.transform != nullptr) {
      IMGPROC_ASSIGN_OR_RETURN(image, ConvertColor(image, plan.color, result));
      if (ConvertsInColourFirst(plan)) {
        cv::cuda::GpuMat& gray = images_.TargetFor(image);
        cv::cuda::cvtColor(image, gray, cv::COLOR_BGR2GRAY, 1, stream_);
        image = gray;
      }
    }
    if (plan.orientation != 1) {
      cv::cuda::GpuMat& upright = images_.TargetFor(image);
      ApplyOrientation(image, upright, plan.orientation, stream_);
      image = upright;
    }
    return image;
  }

  // The decode stage's image, nvJPEG's on the SMs, or the CPU decoder's uploaded.
  absl::StatusOr<cv::cuda::GpuMat> Decode(const Job& job, JobResult& result) {
    const Plan& plan = *job.plan;
    if (auto* staged = static_cast<CudaStagedImage*>(job.staged.get())) {
      result.decode_path = staged->path();
      cv::cuda::GpuMat view = staged->image().view();
      IMGPROC_RETURN_IF_ERROR(CheckDecodedSize(view, plan));
      cudaStreamWaitEvent(raw_stream_, staged->image().batch().done(), 0);
      return view;
    }
    // nvJPEG decodes 8-bit samples only: the 16-bit decode of a JPEG is the CPU decoder's, scaled by 257 there
    // (codec.h), and uploaded; the simplest correct choice.
    if (jpeg_decoder_ != nullptr && plan.header.format == ImageFormat::kJpeg && plan.decoded.channels != 4 &&
        plan.decoded.depth == Depth::kU8) {
      const Clock::time_point t = Clock::now();
      IMGPROC_ASSIGN_OR_RETURN(std::optional<cv::cuda::GpuMat> decoded, DecodeWithNvJpeg(job, result));
      if (decoded) return *decoded;
      result.timings.decode_us = MicrosSince(t);
    }
    return DecodeOnCpu(job, result);
  }

  // Nothing where nvJPEG cannot decode the JPEG: the CPU decoder then gets its chance (and gives the same error
  // where it fails too), unless nvJPEG failed because the device did.
  absl::StatusOr<std::optional<cv::cuda::GpuMat>> DecodeWithNvJpeg(const Job& job, JobResult& result) {
    const Plan& plan = *job.plan;
    // A gray answer from a colour JPEG in an RGB profile: decoded in colour, converted, then made gray (Input), as
    // the CPU decoder does.
    const int wanted_channels = ConvertsInColourFirst(plan) ? 3 : plan.decoded.channels;
    absl::StatusOr<int> channels = jpeg_decoder_->Decode(job.input, wanted_channels == 1, images_.decoded, raw_stream_);
    if (!channels.ok()) {
      absl::Status failed = Diagnose(channels.status(), "decoding the JPEG with nvJPEG");
      if (DeviceFailure(failed)) return failed;
      return std::nullopt;
    }
    IMGPROC_RETURN_IF_ERROR(CheckDecodedSize(images_.decoded, plan));
    result.decode_path = CodecPath::kCuda;
    if (*channels == wanted_channels) return images_.decoded;
    cv::cuda::cvtColor(images_.decoded, images_.transformed, cv::COLOR_GRAY2BGR, 3, stream_);  // a gray JPEG as colour
    return images_.transformed;
  }

  absl::StatusOr<cv::cuda::GpuMat> DecodeOnCpu(const Job& job, JobResult& result) {
    const int64_t nvjpeg_attempt_us = result.timings.decode_us;
    IMGPROC_ASSIGN_OR_RETURN(cv::Mat decoded, DecodeInput(job, result));
    result.timings.decode_us += nvjpeg_attempt_us;
    result.decode_path = CodecPath::kCpu;
    const Clock::time_point t = Clock::now();
    cv::Mat staged = upload_staging_.View(decoded.rows, decoded.cols, decoded.type());
    decoded.copyTo(staged);
    images_.decoded.upload(staged, stream_);
    result.timings.upload_us = MicrosSince(t);
    return images_.decoded;
  }

  // The GPU-decoded `input` converted to sRGB on the lane's stream with the transform's device form (curves and a
  // 3x3 matrix, a lattice, or a gray curve: codec/color_device_form.h). Where the transform has no device form,
  // through lcms2 on the CPU between a download and an upload; the reason says which.
  absl::StatusOr<cv::cuda::GpuMat> ConvertColor(const cv::cuda::GpuMat& input, const ColorDecision& color,
                                                JobResult& result) {
    cv::cuda::GpuMat& converted = images_.TargetFor(input);
    // A KEEP that could not keep the profile says so before "to sRGB ..." (pipeline/plan.cc).
    const std::string prefix = color.reason.substr(0, color.reason.find("to sRGB"));
    const DeviceColorTables::Tables* tables = color_tables_.Get(color.transform, stream_);
    if (tables != nullptr && input.depth() == CV_8U && tables->form.Accepts(input.channels())) {
      converted.create(input.size(), input.type());
      const cudaError_t launched = LaunchColorTransform(tables->form.kind(), tables->view, input.ptr<uint8_t>(),
                                                        input.step, converted.ptr<uint8_t>(), converted.step,
                                                        input.cols, input.rows, input.channels(), raw_stream_);
      if (launched != cudaSuccess) {
        return absl::InternalError(absl::StrCat(
            "cuda:", device_, " converting to sRGB: the kernel did not launch: ", CudaErrorText(launched)));
      }
      result.color.reason = absl::StrCat(prefix, "to sRGB on cuda:", device_, " (", tables->form.description(), ")");
      return converted;
    }
    cv::Mat host;
    input.download(host, stream_);
    stream_.waitForCompletion();
    IMGPROC_RETURN_IF_ERROR(color.transform->Apply(host));
    converted.upload(host, stream_);
    stream_.waitForCompletion();  // `host` goes out of scope
    result.color.reason = absl::StrCat(prefix, "to sRGB by lcms2 on the CPU after the GPU decode (no device form for ",
                                       input.channels(), " channels of this profile)");
    return converted;
  }

  // ---- Steps: each pass on its CUDA kernel, or on the CPU between a download and an upload.

  absl::StatusOr<cv::cuda::GpuMat> RunSteps(const Job& job, cv::cuda::GpuMat image, JobResult& result) {
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

  static std::string StepWhere(const BoundOp& step) { return absl::StrCat("operations[", step.index, "].", step.name); }

  // `kernel` null: the step's CPU kernel.
  absl::Status RunPass(const Job& job, const BoundOp& step, const CudaKernel* kernel, int pass,
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

  // No CUDA path for these parameters: this pass on the CPU between a download and an upload. A long pass runs in
  // stripes and returns StopReason's status when the request expires or is cancelled between two of them.
  absl::Status RunOnCpu(const Job& job, const BoundOp& step, int pass, const cv::cuda::GpuMat& in,
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

  // ---- Output: nvJPEG, the CPU encoders, or raw pixels; the metadata spliced in on the CPU.

  absl::Status Output(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
    // A uint16 chain's JPEG answer is round(v / 257), made by the CPU encoder path (Encode): the simplest correct
    // choice, nvJPEG taking 8-bit input only.
    if (plan.output.format == OutputFormat::kJpeg && jpeg_encoder_ != nullptr && image.depth() == CV_8U) {
      return EncodeWithNvJpeg(image, plan, result);
    }
    if (plan.output.format == OutputFormat::kRaw) {
      result.encode_path = CodecPath::kNone;
      return DownloadRaw(image, plan.output, result.image);
    }
    // PNG, WebP and AVIF: the CPU encoders, from pinned memory.
    return DownloadAndEncode(image, plan, result);
  }

  absl::Status EncodeWithNvJpeg(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
    const Clock::time_point t = Clock::now();
    const cv::cuda::GpuMat* source = &image;
    if (image.channels() == 4) {  // JPEG has no alpha: store the three colour channels, as the CPU encoder does
      cv::cuda::cvtColor(image, ColourOfBgra(), cv::COLOR_BGRA2BGR, 3, stream_);
      source = &ColourOfBgra();
    }
    const char* refused = "";
    absl::StatusOr<std::string> bitstream =
        jpeg_encoder_->Encode(*source, JpegOptionsOf(plan.output), raw_stream_, &refused);
    if (absl::IsUnimplemented(bitstream.status())) {
      // An option nvJPEG does not take: libjpeg-turbo encodes this answer, said in the answer and counted.
      result.encode_fallback_kind = refused;
      result.encode_fallback_reason =
          absl::StrCat(bitstream.status().message(), "; encoded on the CPU by libjpeg-turbo");
      return DownloadAndEncode(image, plan, result);
    }
    if (!bitstream.ok()) return bitstream.status();
    // On the CPU, as for every encoder (codec/metadata.h): the same segments whichever device encoded.
    IMGPROC_RETURN_IF_ERROR(EmbedMetadata(plan.metadata, plan.output.format, *bitstream));
    result.image.bytes = *std::move(bitstream);
    result.image.format = "jpeg";
    result.image.spec = ImageSpec{source->cols, source->rows, source->channels(), Depth::kU8};
    result.encode_path = CodecPath::kCuda;
    result.timings.encode_us = MicrosSince(t);
    return absl::OkStatus();
  }

  absl::Status DownloadAndEncode(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
    const Clock::time_point t = Clock::now();
    cv::Mat host = download_staging_.View(image.rows, image.cols, image.type());
    image.download(host, stream_);
    stream_.waitForCompletion();
    result.timings.download_us = MicrosSince(t);
    return EncodeOutput(host, plan, result);
  }

  // Raw pixels: dtype conversion and CHW planes on the GPU, then one copy into the answer's bytes, which the lane
  // waits for with the rest of the stream.
  absl::Status DownloadRaw(const cv::cuda::GpuMat& image, const OutputSpec& spec, EncodedImage& out) {
    const int depth = CvDepth(spec.raw_depth);
    cv::cuda::GpuMat converted = image;
    if (image.depth() != depth) {
      // As ToDepth on the CPU: uint8 <-> uint16 scale by 257 (uint8 rounds), float32 keeps the values, integer
      // types from float32 round and saturate.
      const double scale = image.depth() == CV_8U && depth == CV_16U   ? 257.0
                           : image.depth() == CV_16U && depth == CV_8U ? 1.0 / 257.0
                                                                       : 1.0;
      image.convertTo(RawInDtype(), depth, scale, 0.0, stream_);
      converted = RawInDtype();
    }
    const cv::cuda::GpuMat packed =
        spec.raw_layout == Layout::kChw && image.channels() > 1 ? Planes(converted) : converted;
    out.format = "raw";
    out.layout = spec.raw_layout;
    out.spec = ImageSpec{image.cols, image.rows, image.channels(), spec.raw_depth};
    out.bytes.resize(size_t(packed.rows) * packed.cols * packed.elemSize());
    cv::Mat destination(packed.rows, packed.cols, packed.type(), out.bytes.data());
    packed.download(destination, stream_);
    return absl::OkStatus();
  }

  // `image`'s channels as planes, one after the other in tight rows (CHW).
  cv::cuda::GpuMat Planes(const cv::cuda::GpuMat& image) {
    const int channels = image.channels();
    cv::cuda::createContinuous(image.rows * channels, image.cols, image.depth(), RawPlanes());
    std::vector<cv::cuda::GpuMat> planes;
    for (int c = 0; c < channels; ++c) planes.push_back(RawPlanes().rowRange(c * image.rows, (c + 1) * image.rows));
    cv::cuda::split(image, planes, stream_);
    return RawPlanes();
  }

  // The output's conversions reuse the kernels' scratch, free once the steps have run.
  cv::cuda::GpuMat& ColourOfBgra() { return kernel_scratch_[0]; }  // a 4-channel JPEG answer's colour, for nvJPEG
  cv::cuda::GpuMat& RawInDtype() { return kernel_scratch_[0]; }    // a raw answer in the dtype it asks for
  cv::cuda::GpuMat& RawPlanes() { return kernel_scratch_[1]; }     // a CHW raw answer's planes

  // ---- After the output: the stream waited for, the timings read from its events.

  void WaitForStream(const Job& job) {
    const Clock::time_point wait_start = Clock::now();
    stream_.waitForCompletion();  // asynchronous kernel faults surface here
    if (const int64_t waited_us = MicrosSince(wait_start); waited_us > 1'000'000) {
      // Rare and worth knowing: the GPU or the decode this request waits for is stuck.
      IMGPROC_LOG(kWarning) << "cuda:" << device_ << ": a lane waited " << waited_us / 1000 << " ms for its stream ("
                            << (job.staged != nullptr ? "input from the decode stage" : "input decoded in the lane")
                            << ")";
    }
  }

  void ReadTimings(const Job& job, JobResult& result) {
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

}  // namespace

LaneFactory CudaLaneFactory(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options) {
  return [device, codec, options](int) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    IMGPROC_RETURN_IF_ERROR(CudaKernelRegistry::CheckEveryKernelHasAnOperation());
    try {
      return std::make_unique<CudaLane>(device, codec, options);
    } catch (const cv::Exception& e) {  // no context, stream or event on the device
      return FromCvException(e, absl::StrCat("setting up a lane on cuda:", device));
    }
  };
}

}  // namespace imgproc
