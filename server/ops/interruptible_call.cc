#include "ops/interruptible_call.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

namespace imgproc {
namespace {

// The call this thread runs under RunInterruptibly, if any.
struct InterruptibleCall {
  const CpuPassContext* ctx = nullptr;
  absl::Status stopped;   // what ctx.stop said when it ended the call
  bool in_chunk = false;  // loops nested in a chunk run whole
  int loops = 0;          // cv::parallel_for_ calls that reached this module
};
thread_local InterruptibleCall* current_call = nullptr;

// Thrown between two chunks to leave the OpenCV call; caught by RunInterruptibly only.
struct CallStopped {};

using ParallelFor = void (*)(const cv::Range&, const cv::ParallelLoopBody&, double);

// OpenCV's own cv::parallel_for_, the next definition after this executable's in the lookup order.
ParallelFor OpenCvParallelFor() {
  static const ParallelFor real =
      reinterpret_cast<ParallelFor>(dlsym(RTLD_NEXT, "_ZN2cv13parallel_for_ERKNS_5RangeERKNS_16ParallelLoopBodyEd"));
  return real;
}

void RunWhole(const cv::Range& range, const cv::ParallelLoopBody& body, double nstripes) {
  if (ParallelFor real = OpenCvParallelFor(); real != nullptr) {
    real(range, body, nstripes);
  } else {
    body(range);
  }
}

void RunInChunks(InterruptibleCall& call, const cv::Range& range, const cv::ParallelLoopBody& body, double nstripes) {
  const CpuPassContext& ctx = *call.ctx;
  const int total = range.end - range.start;
  // Indices of the next chunk: the share of the range that the first stripe's work is of the step's, then what the
  // chunks so far did in ctx.stripe_seconds (an index is a row of one loop, a tile of another).
  double size = ctx.pass_work > 0 && ctx.stripe_work > 0 ? std::max(1.0, total * ctx.stripe_work / ctx.pass_work)
                                                         : static_cast<double>(total);
  for (int start = range.start; start < range.end;) {
    if (ctx.stop) {
      if (absl::Status stop = ctx.stop(); !stop.ok()) {
        call.stopped = std::move(stop);
        throw CallStopped{};
      }
    }
    const int length = std::min(range.end - start, std::max(1, static_cast<int>(std::ceil(size))));
    const auto begun = std::chrono::steady_clock::now();
    call.in_chunk = true;
    try {
      RunWhole(cv::Range(start, start + length), body, nstripes > 0 ? std::max(1.0, nstripes * length / total) : -1);
    } catch (...) {
      call.in_chunk = false;
      throw;
    }
    call.in_chunk = false;
    start += length;
    if (ctx.stripe_seconds > 0) {
      const double seconds =
          std::max(1e-6, std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count());
      // At most 4x either way a chunk, as ForEachStripe does.
      size = std::max(1.0, length * std::clamp(ctx.stripe_seconds / seconds, 0.25, 4.0));
    }
  }
}

}  // namespace

absl::Status RunInterruptibly(const CpuPassContext& ctx, const std::function<void()>& call) {
  InterruptibleCall state;
  state.ctx = &ctx;
  InterruptibleCall* const outer = std::exchange(current_call, &state);
  try {
    call();
  } catch (const CallStopped&) {
    current_call = outer;
    return state.stopped;
  } catch (...) {
    current_call = outer;
    throw;
  }
  current_call = outer;
  return absl::OkStatus();
}

bool OpenCvLoopsAreInterruptible() {
  static const bool interruptible = [] {
    if (OpenCvParallelFor() == nullptr) return false;
    // cv::resize runs its rows through cv::parallel_for_ whatever their number.
    const cv::Mat src(64, 64, CV_8UC1, cv::Scalar(7));
    cv::Mat dst;
    CpuPassContext ctx;
    InterruptibleCall state;
    state.ctx = &ctx;
    InterruptibleCall* const outer = std::exchange(current_call, &state);
    cv::resize(src, dst, cv::Size(37, 29), 0, 0, cv::INTER_LINEAR);
    current_call = outer;
    return state.loops > 0;
  }();
  return interruptible;
}

}  // namespace imgproc

// OpenCV's entry point for its parallel loops (opencv2/core/utility.hpp), defined here so that OpenCV's libraries
// bind to it: see interruptible_call.h.
namespace cv {
void parallel_for_(const Range& range, const ParallelLoopBody& body, double nstripes) {
  imgproc::InterruptibleCall* const call = imgproc::current_call;
  if (call == nullptr || call->in_chunk || range.end - range.start <= 1) {
    imgproc::RunWhole(range, body, nstripes);
    return;
  }
  ++call->loops;
  imgproc::RunInChunks(*call, range, body, nstripes);
}
}  // namespace cv
