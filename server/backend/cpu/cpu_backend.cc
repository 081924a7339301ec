#include "backend/cpu/cpu_backend.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "backend/lane_io.h"

namespace imgproc {
namespace {

class CpuLane final : public ExecutionLane {
 public:
  CpuLane(double stripe_work, double stripe_seconds) : stripe_work_(stripe_work), stripe_seconds_(stripe_seconds) {}

  absl::StatusOr<JobResult> Run(const Job& job) override {
    const Plan& plan = *job.plan;
    JobResult result;
    // The CPU decoders can shrink on load (codec/shrink_on_load.h); the plan says when the chain allows it.
    const ShrinkOnLoad* shrink = plan.shrink_on_load ? &*plan.shrink_on_load : nullptr;
    absl::StatusOr<cv::Mat> decoded = DecodeInput(job, result, shrink);
    if (!decoded.ok()) return decoded.status();

    const Clock::time_point t = Clock::now();
    cv::Mat current = *std::move(decoded);
    // Asked between passes and, inside a long pass, between its stripes.
    CpuPassContext ctx;
    ctx.stop = [&job] { return StopReason(job); };
    ctx.stripe_work = stripe_work_;
    ctx.stripe_seconds = stripe_seconds_;
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const BoundOp& step = i == 0 && shrink != nullptr ? shrink->first_step : plan.steps[i];
      for (int pass = 0; pass < step.passes; ++pass) {
        if (absl::Status stop = StopReason(job); !stop.ok()) return stop;
        cv::Mat next;
        try {
          if (absl::Status s = step.RunCpu(pass, current, next, ctx); !s.ok()) return s;
        } catch (const cv::Exception& e) {
          return absl::InternalError(absl::StrCat("operations[", step.index, "].", step.name, " failed: ", e.what()));
        }
        current = std::move(next);
      }
    }
    result.timings.operations_us = MicrosSince(t);

    if (absl::Status s = EncodeOutput(current, job, result); !s.ok()) return s;
    return result;
  }

 private:
  const double stripe_work_;
  const double stripe_seconds_;
};

}  // namespace

DeviceDescription CpuDeviceDescription(int index, int count) {
  DeviceDescription cpu;
  cpu.name = count == 1 ? "cpu" : absl::StrCat("cpu:", index);
  cpu.kind = "cpu";
  cpu.description = absl::StrCat("OpenCV ", CV_VERSION, " on ", std::thread::hardware_concurrency(), " CPU threads");
  cpu.codecs =
      "libjpeg-turbo (JPEG in BGR), libpng and libtiff (called directly, with limits), OpenCV's codecs (WebP, BMP), "
      "giflib, libheif (HEIC in with libde265, out with x265), libavif (AVIF in with dav1d, out with libaom); JPEG and "
      "WebP shrink on load; colour profiles to sRGB by lcms2";
  return cpu;
}

std::unique_ptr<ExecutionLane> MakeCpuLane(double stripe_work, double stripe_seconds) {
  return std::make_unique<CpuLane>(stripe_work, stripe_seconds);
}

LaneFactory CpuLaneFactory() {
  return [](int) -> absl::StatusOr<std::unique_ptr<ExecutionLane>> { return MakeCpuLane(); };
}

}  // namespace imgproc
