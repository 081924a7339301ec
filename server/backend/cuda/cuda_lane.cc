#include "backend/cuda/cuda_lane.h"

#include <cstring>
#include <opencv2/core/cuda_stream_accessor.hpp>
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudaimgproc.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/cuda/color_device_tables.h"
#include "backend/cuda/color_transform_kernel.h"
#include "backend/cuda/cuda_fault.h"
#include "backend/cuda/cuda_kernel.h"
#include "backend/cuda/device_allocator.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "backend/cuda/test_fault_kernel.h"
#include "backend/lane_io.h"
#include "codec/metadata.h"
#include "codec/orientation.h"
#include "common/log.h"

namespace imgproc {
namespace {

// Most estimated work (pixel-channel taps) a lane queues on its stream between two checks of the request: on an
// H100, NPP's morphology computes ~2e11 taps a second, so a chunk is ~0.1 s of GPU time.
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

absl::Status FromCvException(const cv::Exception& e, const std::string& where) {
  // Our allocator and CUDA's cudaErrorMemoryAllocation ("out of memory") both say so in the message.
  if (absl::StrContains(e.what(), "out of memory"))
    return absl::ResourceExhaustedError(absl::StrCat(where, ": ", e.what()));
  return absl::InternalError(absl::StrCat(where, " failed on the GPU: ", e.what()));
}

int64_t ElapsedUs(const cv::cuda::Event& from, const cv::cuda::Event& to) {
  return static_cast<int64_t>(cv::cuda::Event::elapsedTime(from, to) * 1000);
}

// Decodes on the GPU where it can and runs the chain there: the input arrives decoded by the decode stage
// (the JPEG engine, or nvJPEG for progressive JPEGs), or is decoded here with nvJPEG on the SMs, or on the CPU
// and uploaded; JPEG answers are encoded here with nvJPEG, raw answers converted on the GPU and copied straight
// into the answer, PNG and WebP downloaded and encoded on the CPU.
class CudaLane final : public ExecutionLane {
 public:
  CudaLane(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options,
           std::shared_ptr<TestFaultCountdown> test_fault)
      : device_(device), codec_(std::move(codec)), options_(options), test_fault_(std::move(test_fault)) {
    cv::cuda::setDevice(device);
    DeviceAllocator::Instance().BindThread(&cache_);
    stream_ = std::make_unique<cv::cuda::Stream>();
    raw_stream_ = cv::cuda::StreamAccessor::getStream(*stream_);
    for (auto* event : {&start_, &input_ready_, &operated_, &finished_}) *event = std::make_unique<cv::cuda::Event>();
    scratch_.resize(4);
    if (codec_ != nullptr) {
      if (options_.cuda_decode) {
        absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> d = JpegCudaDecoder::Create(*codec_);
        if (d.ok()) jpeg_decoder_ = *std::move(d);
      }
      if (options_.gpu_encode) {
        absl::StatusOr<std::unique_ptr<JpegGpuEncoder>> e = JpegGpuEncoder::Create(*codec_, raw_stream_);
        if (e.ok()) jpeg_encoder_ = *std::move(e);
      }
    }
  }
  ~CudaLane() override {
    jpeg_decoder_.reset();
    jpeg_encoder_.reset();
    buffers_[0].release();
    buffers_[1].release();
    scratch_.clear();
    color_tables_.Clear();
    objects_ = CudaObjectCache();
    stream_.reset();
    for (auto* event : {&start_, &input_ready_, &operated_, &finished_}) event->reset();
    DeviceAllocator::Instance().BindThread(nullptr);
  }

  absl::StatusOr<JobResult> Run(const Job& job) override {
    absl::StatusOr<JobResult> result;
    try {
      result = RunChain(job);
    } catch (const cv::Exception& e) {
      std::vector<std::string> names;
      for (const BoundOp& step : job.plan->steps) names.push_back(step.name);
      result = FromCvException(e, absl::StrCat("cuda:", device_, " running [", absl::StrJoin(names, ", "), "]"));
    }
    if (!result.ok() && !DeviceFailure(result.status())) {
      // Leave nothing half-done on the stream for the next request, and tell a failed request from a failed device.
      if (const cudaError_t sticky = FindStickyCudaError(raw_stream_); sticky != cudaSuccess) {
        std::vector<std::string> names;
        for (const BoundOp& step : job.plan->steps) names.push_back(step.name);
        result = DeviceFailedError(CudaErrorText(sticky),
                                   absl::StrCat("cuda:", device_, " running [", absl::StrJoin(names, ", "), "] (",
                                                result.status().message(), ")"));
      }
    }
    return result;
  }

 private:
  absl::StatusOr<JobResult> RunChain(const Job& job) {
    const Plan& plan = *job.plan;
    JobResult result;
    start_->record(*stream_);
    if (test_fault_ != nullptr && test_fault_->Fire()) {
      // TEST ONLY (--test_fault_injection=illegal_address_after=N): a kernel fault on this request's stream, which
      // surfaces at the stream's next synchronization below.
      if (const cudaError_t launched = LaunchIllegalAddressKernelForTest(raw_stream_); launched != cudaSuccess) {
        IMGPROC_LOG(kWarning) << "cuda:" << device_
                              << ": the test fault kernel did not launch: " << CudaErrorText(launched);
      }
    }
    result.color = plan.color;  // DecodeInput carries it out where the CPU decodes
    absl::StatusOr<cv::cuda::GpuMat> input = InputOnDevice(job, result);
    if (!input.ok()) return input.status();
    // An image the CPU decoded was converted there (DecodeInput): CMYK JPEGs and every format but JPEG. One that
    // nvJPEG or the JPEG engine decoded is converted here, on the device.
    if (std::strcmp(result.decode_backend, "cpu") != 0 && plan.color.action == ColorAction::kConverted &&
        plan.color.transform != nullptr) {
      absl::StatusOr<cv::cuda::GpuMat> converted = ConvertColor(*input, plan.color, result);
      if (!converted.ok()) return converted.status();
      input = *converted;
      if (ConvertsInColourFirst(plan)) {
        cv::cuda::GpuMat& gray = buffers_[0].data == input->data ? buffers_[1] : buffers_[0];
        cv::cuda::cvtColor(*input, gray, cv::COLOR_BGR2GRAY, 1, *stream_);
        input = gray;
      }
    }
    // An image the CPU decoded is turned upright already (DecodeInput); one decoded on the GPU is turned here.
    if (plan.orientation != 1 && std::strcmp(result.decode_backend, "cpu") != 0) {
      cv::cuda::GpuMat& upright = buffers_[0].data == input->data ? buffers_[1] : buffers_[0];
      ApplyOrientation(*input, upright, plan.orientation, *stream_);
      input = upright;
    }
    input_ready_->record(*stream_);

    absl::StatusOr<cv::cuda::GpuMat> last = RunSteps(job, *input, result);
    if (!last.ok()) return last.status();
    operated_->record(*stream_);

    absl::Status output = Output(*last, plan, result);
    if (!output.ok()) return output;
    finished_->record(*stream_);
    const Clock::time_point wait_start = Clock::now();
    stream_->waitForCompletion();  // asynchronous kernel faults surface here
    if (const int64_t waited_us = MicrosSince(wait_start); waited_us > 1'000'000) {
      // Rare and worth knowing: the GPU or the decode this request waits for is stuck.
      IMGPROC_LOG(kWarning) << "cuda:" << device_ << ": a lane waited " << waited_us / 1000 << " ms for its stream ("
                            << (job.staged != nullptr ? "input from the decode stage" : "input decoded in the lane")
                            << ")";
    }

    if (auto* staged = static_cast<GpuStagedImage*>(job.staged.get()); staged != nullptr) {
      result.timings.decode_us = staged->host_decode_us() >= 0
                                     ? staged->host_decode_us()
                                     : static_cast<int64_t>(staged->image().batch().ElapsedMs() * 1000);
      staged->Release();  // every read of it has completed
    } else if (std::strcmp(result.decode_backend, "cuda") == 0) {
      result.timings.decode_us = ElapsedUs(*start_, *input_ready_);
    }
    result.timings.operations_us = ElapsedUs(*input_ready_, *operated_) + cpu_fallback_us_;
    if (std::strcmp(result.encode_backend, "none") == 0) result.timings.download_us = ElapsedUs(*operated_, *finished_);
    result.gpu_busy_us = ElapsedUs(*start_, *finished_) - cpu_fallback_us_;
    return result;
  }

  // A gray answer asked of a colour JPEG whose RGB profile is converted: the colours first, then gray.
  static bool ConvertsInColourFirst(const Plan& plan) {
    return plan.decoded.channels == 1 && plan.header.channels >= 3 && plan.color.action == ColorAction::kConverted &&
           plan.color.transform != nullptr && plan.color.transform->input() == ColorTransform::Input::kRgb;
  }

  // The GPU-decoded `input` converted to sRGB on the lane's stream with the transform's device form (curves and a
  // 3x3 matrix, a lattice, or a gray curve: codec/color_device_form.h), into the buffer `input` is not in. Where the
  // transform has no device form, through lcms2 on the CPU between a download and an upload; the reason says which.
  absl::StatusOr<cv::cuda::GpuMat> ConvertColor(const cv::cuda::GpuMat& input, const ColorDecision& color,
                                                JobResult& result) {
    cv::cuda::GpuMat& converted = buffers_[0].data == input.data ? buffers_[1] : buffers_[0];
    // A KEEP that could not keep the profile says so before "to sRGB ..." (pipeline/plan.cc).
    const std::string prefix = color.reason.substr(0, color.reason.find("to sRGB"));
    const DeviceColorTables::Tables* tables = color_tables_.Get(color.transform, *stream_);
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
    input.download(host, *stream_);
    stream_->waitForCompletion();
    if (absl::Status s = color.transform->Apply(host); !s.ok()) return s;
    converted.upload(host, *stream_);
    stream_->waitForCompletion();  // `host` goes out of scope
    result.color.reason = absl::StrCat(prefix, "to sRGB by lcms2 on the CPU after the GPU decode (no device form for ",
                                       input.channels(), " channels of this profile)");
    return converted;
  }

  // The decoded input on the device, as the plan predicts it.
  absl::StatusOr<cv::cuda::GpuMat> InputOnDevice(const Job& job, JobResult& result) {
    const Plan& plan = *job.plan;
    if (auto* staged = static_cast<GpuStagedImage*>(job.staged.get()); staged != nullptr) {
      result.decode_backend = staged->decoder();
      cv::cuda::GpuMat view = staged->image().view();
      if (view.cols != plan.decoded.width || view.rows != plan.decoded.height) {
        return absl::InvalidArgumentError(absl::StrCat("decoded image is ", view.cols, "x", view.rows,
                                                       " but its header says ", plan.decoded.width, "x",
                                                       plan.decoded.height));
      }
      cudaStreamWaitEvent(raw_stream_, staged->image().batch().done(), 0);
      return view;
    }
    // nvJPEG decodes 8-bit samples only: the 16-bit decode of a JPEG is the CPU decoder's, scaled by 257 there
    // (codec.h), and uploaded; the simplest correct choice.
    if (jpeg_decoder_ != nullptr && plan.header.format == ImageFormat::kJpeg && plan.decoded.channels != 4 &&
        plan.decoded.depth == Depth::kU8) {
      const Clock::time_point t = Clock::now();
      // A gray answer from a colour JPEG in an RGB profile: decoded in colour, converted, then made gray (RunChain),
      // as the CPU decoder does.
      const int wanted_channels = ConvertsInColourFirst(plan) ? 3 : plan.decoded.channels;
      absl::StatusOr<int> channels = jpeg_decoder_->Decode(job.input, wanted_channels == 1, buffers_[0], raw_stream_);
      if (channels.ok()) {
        if (buffers_[0].cols != plan.decoded.width || buffers_[0].rows != plan.decoded.height) {
          return absl::InvalidArgumentError(absl::StrCat("decoded image is ", buffers_[0].cols, "x", buffers_[0].rows,
                                                         " but its header says ", plan.decoded.width, "x",
                                                         plan.decoded.height));
        }
        result.decode_backend = "cuda";
        if (*channels == wanted_channels) return buffers_[0];
        cv::cuda::cvtColor(buffers_[0], buffers_[1], cv::COLOR_GRAY2BGR, 3, *stream_);  // a gray JPEG as colour
        return buffers_[1];
      }
      // Not decodable by nvJPEG: the CPU decoder gets its chance (and the same error where it fails too), unless
      // nvJPEG failed because the device did.
      if (const cudaError_t sticky = FindStickyCudaError(raw_stream_); sticky != cudaSuccess) {
        return DeviceFailedError(
            CudaErrorText(sticky),
            absl::StrCat("cuda:", device_, " decoding the JPEG with nvJPEG (", channels.status().message(), ")"));
      }
      result.timings.decode_us = MicrosSince(t);
    }
    const int64_t gpu_attempt_us = result.timings.decode_us;
    absl::StatusOr<cv::Mat> decoded = DecodeInput(job, result);
    if (!decoded.ok()) return decoded.status();
    result.timings.decode_us += gpu_attempt_us;
    result.decode_backend = "cpu";
    const Clock::time_point t = Clock::now();
    cv::Mat staged = upload_staging_.View(decoded->rows, decoded->cols, decoded->type());
    decoded->copyTo(staged);
    buffers_[0].upload(staged, *stream_);
    result.timings.upload_us = MicrosSince(t);
    return buffers_[0];
  }

  absl::StatusOr<cv::cuda::GpuMat> RunSteps(const Job& job, cv::cuda::GpuMat current, JobResult& result) {
    cpu_fallback_us_ = 0;
    CudaOpContext ctx{*stream_, scratch_, objects_};
    double unsynced_work = 0;  // queued on the stream since the lane last waited for it
    for (const BoundOp& step : job.plan->steps) {
      const std::string where = absl::StrCat("operations[", step.index, "].", step.name);
      const CudaKernel* kernel = CudaKernelRegistry::Find(step.name);
      if (kernel != nullptr && !kernel->accepts(step)) kernel = nullptr;
      if (kernel == nullptr) result.cpu_fallback_operations.push_back(where);
      for (int pass = 0; pass < step.passes; ++pass) {
        // Queued GPU work cannot be cancelled: long work goes in chunks, waited for before the request is checked
        // again, so that an expired request frees the lane within one chunk.
        if (unsynced_work >= kMaxUnsyncedWork) {
          stream_->waitForCompletion();
          unsynced_work = 0;
        }
        if (absl::Status stop = StopReason(job); !stop.ok()) return stop;
        // Ping-pong between the two buffers, never writing into the one being read.
        cv::cuda::GpuMat& next = buffers_[0].data == current.data ? buffers_[1] : buffers_[0];
        try {
          if (kernel != nullptr) {
            kernel->run(step, pass, current, next, ctx);
            unsynced_work += step.work_per_pass;
          } else if (absl::Status stop = RunOnCpu(job, step, pass, current, next); !stop.ok()) {
            return stop;
          }
        } catch (const cv::Exception& e) {
          return FromCvException(e, where);
        }
        current = next;
      }
    }
    return current;
  }

  // No CUDA path for these parameters: run this step on the CPU between a download and an upload. A long pass runs
  // in stripes and returns StopReason's status when the request expires or is cancelled between two of them.
  absl::Status RunOnCpu(const Job& job, const BoundOp& step, int pass, const cv::cuda::GpuMat& in,
                        cv::cuda::GpuMat& out) {
    const Clock::time_point f = Clock::now();
    cv::Mat host = fallback_staging_.View(in.rows, in.cols, in.type());
    in.download(host, *stream_);
    stream_->waitForCompletion();
    cv::Mat result;
    CpuPassContext ctx;
    ctx.stop = [&job] { return StopReason(job); };
    if (absl::Status stop = step.RunCpu(pass, host, result, ctx); !stop.ok()) {
      cpu_fallback_us_ += MicrosSince(f);
      return stop;
    }
    cv::Mat restaged = upload_staging_.View(result.rows, result.cols, result.type());
    result.copyTo(restaged);
    out.upload(restaged, *stream_);
    stream_->waitForCompletion();  // the staging buffer is reused by the next fallback or request
    cpu_fallback_us_ += MicrosSince(f);
    return absl::OkStatus();
  }

  absl::Status Output(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
    const OutputSpec& spec = plan.output;
    const bool jpeg = spec.format == OutputFormat::kJpeg;
    // A uint16 chain's JPEG answer is round(v / 257), made by the CPU encoder path (Encode): the simplest correct
    // choice, nvJPEG taking 8-bit input only.
    if (jpeg && jpeg_encoder_ != nullptr && image.depth() == CV_8U) {
      const Clock::time_point t = Clock::now();
      const cv::cuda::GpuMat* source = &image;
      if (image.channels() == 4) {  // JPEG has no alpha: store the three colour channels, as the CPU encoder does
        cv::cuda::cvtColor(image, scratch_[0], cv::COLOR_BGRA2BGR, 3, *stream_);
        source = &scratch_[0];
      }
      const char* refused = "";
      absl::StatusOr<std::string> bitstream =
          jpeg_encoder_->Encode(*source, JpegOptionsOf(spec), raw_stream_, &refused);
      if (absl::IsUnimplemented(bitstream.status())) {
        // An option nvJPEG does not take: libjpeg-turbo encodes this answer, said in the answer and counted.
        result.encode_fallback_kind = refused;
        result.encode_fallback_reason =
            absl::StrCat(bitstream.status().message(), "; encoded on the CPU by libjpeg-turbo");
        return DownloadAndEncode(image, plan, result);
      }
      if (!bitstream.ok()) return bitstream.status();
      // On the CPU, as for every encoder (codec/metadata.h): the same segments whichever device encoded.
      if (absl::Status s = EmbedMetadata(plan.metadata, spec.format, *bitstream); !s.ok()) return s;
      result.image.bytes = *std::move(bitstream);
      result.image.format = "jpeg";
      result.image.spec = ImageSpec{source->cols, source->rows, source->channels(), Depth::kU8};
      result.encode_backend = "cuda";
      result.timings.encode_us = MicrosSince(t);
      return absl::OkStatus();
    }
    if (spec.format == OutputFormat::kRaw) {
      result.encode_backend = "none";
      return DownloadRaw(image, spec, result.image);
    }
    // PNG, WebP and AVIF: the CPU encoders, from pinned memory.
    return DownloadAndEncode(image, plan, result);
  }

  absl::Status DownloadAndEncode(const cv::cuda::GpuMat& image, const Plan& plan, JobResult& result) {
    const Clock::time_point t = Clock::now();
    cv::Mat host = download_staging_.View(image.rows, image.cols, image.type());
    image.download(host, *stream_);
    stream_->waitForCompletion();
    result.timings.download_us = MicrosSince(t);
    return EncodeOutput(host, plan, result);
  }

  // Raw pixels: dtype conversion and CHW planes on the GPU, then one copy into the answer's bytes.
  absl::Status DownloadRaw(const cv::cuda::GpuMat& image, const OutputSpec& spec, EncodedImage& out) {
    const int depth = CvDepth(spec.raw_depth);
    const int channels = image.channels();
    cv::cuda::GpuMat converted = image;
    if (image.depth() != depth) {
      // As ToDepth on the CPU: uint8 <-> uint16 scale by 257 (uint8 rounds), float32 keeps the values, integer
      // types from float32 round and saturate.
      const double scale = image.depth() == CV_8U && depth == CV_16U   ? 257.0
                           : image.depth() == CV_16U && depth == CV_8U ? 1.0 / 257.0
                                                                       : 1.0;
      image.convertTo(scratch_[0], depth, scale, 0.0, *stream_);
      converted = scratch_[0];
    }
    cv::cuda::GpuMat packed;  // tight rows, planes one after the other for CHW
    if (spec.raw_layout == Layout::kChw && channels > 1) {
      cv::cuda::createContinuous(converted.rows * channels, converted.cols, depth, scratch_[1]);
      std::vector<cv::cuda::GpuMat> planes;
      for (int c = 0; c < channels; ++c)
        planes.push_back(scratch_[1].rowRange(c * converted.rows, (c + 1) * converted.rows));
      cv::cuda::split(converted, planes, *stream_);
      packed = scratch_[1];
    } else {
      packed = converted;
    }
    out.format = "raw";
    out.layout = spec.raw_layout;
    out.spec = ImageSpec{image.cols, image.rows, channels, spec.raw_depth};
    out.bytes.resize(size_t(packed.rows) * packed.cols * packed.elemSize());
    cv::Mat destination(packed.rows, packed.cols, packed.type(), out.bytes.data());
    packed.download(destination, *stream_);
    return absl::OkStatus();
  }

  const int device_;
  const std::shared_ptr<NvJpegDevice> codec_;
  const CudaCodecOptions options_;
  const std::shared_ptr<TestFaultCountdown> test_fault_;  // TEST ONLY; null in production
  DeviceAllocator::ThreadCache cache_;
  std::unique_ptr<cv::cuda::Stream> stream_;
  cudaStream_t raw_stream_ = nullptr;
  std::unique_ptr<JpegCudaDecoder> jpeg_decoder_;  // null: JPEGs the decode stage did not take go to the CPU
  std::unique_ptr<JpegGpuEncoder> jpeg_encoder_;   // null: JPEG answers are encoded on the CPU
  cv::cuda::GpuMat buffers_[2];
  std::vector<cv::cuda::GpuMat> scratch_;
  CudaObjectCache objects_;
  DeviceColorTables color_tables_{8};  // the transforms this lane applied on its device, the last 8
  PinnedBuffer upload_staging_, download_staging_, fallback_staging_;
  int64_t cpu_fallback_us_ = 0;
  // Created in the constructor, once the thread is bound to the lane's device.
  std::unique_ptr<cv::cuda::Event> start_, input_ready_, operated_, finished_;
};

}  // namespace

LaneFactory CudaLaneFactory(int device, std::shared_ptr<NvJpegDevice> codec, CudaCodecOptions options,
                            std::shared_ptr<TestFaultCountdown> test_fault) {
  return [device, codec, options, test_fault](int) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> {
    if (absl::Status kernels = CudaKernelRegistry::CheckEveryKernelHasAnOperation(); !kernels.ok()) return kernels;
    try {
      return std::make_unique<CudaLane>(device, codec, options, test_fault);
    } catch (const cv::Exception& e) {  // no context, stream or event on the device
      return FromCvException(e, absl::StrCat("setting up a lane on cuda:", device));
    }
  };
}

}  // namespace imgproc
