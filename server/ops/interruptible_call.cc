#include "ops/interruptible_call.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
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

// What cv::getNumThreads and cv::getNumberOfCPUs tell an OpenCV function that runs under RunInterruptibly (and not
// inside one of its chunks): the functions that cut their loops by the thread count (Canny's gradient and
// non-maximum pass: one stripe per thread) then cut them into this many stripes, each a possible chunk. Results do
// not depend on it: OpenCV's functions give the same bytes for any thread count.
constexpr int kStripesPerLoop = 128;

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

// OpenCV hands a loop body whole stripes only: the range cut into `nstripes` (every index its own stripe when
// nstripes <= 0) by this rounding, unions of consecutive stripes per call. Some bodies rely on it (Canny's
// reads a halo of rows that a one-row range overruns), so the chunks here are unions of stripes too.
struct Stripes {
  cv::Range range;
  int count;
  explicit Stripes(const cv::Range& r, double nstripes) : range(r) {
    const double length = r.end - r.start;
    count = cvRound(nstripes <= 0 ? length : std::min(std::max(nstripes, 1.0), length));
  }
  int Boundary(int stripe) const {
    if (stripe >= count) return range.end;
    return range.start + static_cast<int>((static_cast<uint64_t>(stripe) * (range.end - range.start) + count / 2) /
                                          static_cast<uint64_t>(count));
  }
};

void RunInChunks(InterruptibleCall& call, const cv::Range& range, const cv::ParallelLoopBody& body, double nstripes) {
  const CpuPassContext& ctx = *call.ctx;
  const Stripes stripes(range, nstripes);
  // Stripes of the next chunk: the share of the loop that the first stripe's work is of the step's, then what the
  // chunks so far did in ctx.stripe_seconds.
  double size = ctx.pass_work > 0 && ctx.stripe_work > 0
                    ? std::max(1.0, stripes.count * ctx.stripe_work / ctx.pass_work)
                    : static_cast<double>(stripes.count);
  for (int first = 0; first < stripes.count;) {
    if (ctx.stop) {
      if (absl::Status stop = ctx.stop(); !stop.ok()) {
        call.stopped = std::move(stop);
        throw CallStopped{};
      }
    }
    const int count = std::min(stripes.count - first, std::max(1, static_cast<int>(std::ceil(size))));
    const auto begun = std::chrono::steady_clock::now();
    call.in_chunk = true;
    try {
      RunWhole(cv::Range(stripes.Boundary(first), stripes.Boundary(first + count)), body, count);
    } catch (...) {
      call.in_chunk = false;
      throw;
    }
    call.in_chunk = false;
    first += count;
    if (ctx.stripe_seconds > 0) {
      const double seconds =
          std::max(1e-6, std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count());
      // At most 4x either way a chunk, as ForEachStripe does.
      size = std::max(1.0, count * std::clamp(ctx.stripe_seconds / seconds, 0.25, 4.0));
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

// OpenCV's entry points for its parallel loops and the thread count its functions split them by
// (opencv2/core/utility.hpp), defined here so that OpenCV's libraries bind to them: see interruptible_call.h.
namespace cv {
int getNumThreads() {
  static const auto real = reinterpret_cast<int (*)()>(dlsym(RTLD_NEXT, "_ZN2cv13getNumThreadsEv"));
  const int threads = real != nullptr ? real() : 1;
  const imgproc::InterruptibleCall* const call = imgproc::current_call;
  return call != nullptr && !call->in_chunk ? std::max(threads, imgproc::kStripesPerLoop) : threads;
}

int getNumberOfCPUs() {
  static const auto real = reinterpret_cast<int (*)()>(dlsym(RTLD_NEXT, "_ZN2cv15getNumberOfCPUsEv"));
  const int cpus = real != nullptr ? real() : 1;
  const imgproc::InterruptibleCall* const call = imgproc::current_call;
  return call != nullptr && !call->in_chunk ? std::max(cpus, imgproc::kStripesPerLoop) : cpus;
}

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
