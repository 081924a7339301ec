#pragma once
// An operation is defined in one place, ops/<family>.cc: its parameters, their validation against the incoming
// image, and its CPU kernel, the reference that every backend falls back to and is compared with. What Bind
// resolves goes into the step's parameters (a struct in ops/<family>.h), which a backend's own kernels read: those
// live in the backend's folder and register themselves there (backend/cuda/kernels/), so that adding a backend
// touches no file here, and adding an operation touches its family file, its proto message and, for a GPU path,
// the backend's kernel file.

#include <any>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "ops/op_args.h"

namespace imgproc {

// What a CPU kernel is given besides its images. A long pass runs in stripes (ops/op_util.h, ForEachStripe) and
// asks `stop` between them, so that a lane can end an expired or cancelled request within one stripe rather than
// one pass: a bilateral filter of diameter 31 on a 4K photo is one pass of seconds.
struct CpuPassContext {
  // The lane's check: non-OK (CANCELLED, DEADLINE_EXCEEDED) ends the pass with that status. Empty: never stop.
  std::function<absl::Status()> stop;
  // Work of the first stripe in pixel-channel taps, the unit of the work estimates: 2e7 is 2 to 20 ms of one core
  // of the development host, by operation. Tests make it small to cut images into many stripes.
  double stripe_work = 2e7;
  // What each further stripe should take, sized from the ones before: the bound on how long a stop waits. 0:
  // every stripe of stripe_work (tests).
  double stripe_seconds = 0.025;
  // The pass's estimated work (BoundOp::work_per_pass); BoundOp::RunCpu fills it in.
  double pass_work = 0;
};

using CpuImpl = std::function<void(const cv::Mat& in, cv::Mat& out)>;
using CpuStripedImpl = std::function<absl::Status(const cv::Mat& in, cv::Mat& out, const CpuPassContext& ctx)>;
using CpuPassImpl = std::function<absl::Status(int pass, const cv::Mat& in, cv::Mat& out, const CpuPassContext& ctx)>;

// One validated step of a chain, parameters bound, ready to run on any lane.
//
// A step runs in `passes` passes (morphology's iterations; one for everything else), each pass's output the next
// one's input, so that a lane can stop an expired or cancelled request between passes rather than only between
// steps: a 100-iteration morphology otherwise holds its worker to the end.
struct BoundOp {
  std::string name;  // the Operation oneof field, e.g. "gaussian_blur"
  int index = 0;     // position in the request's chain
  ImageSpec input;
  ImageSpec output;
  int passes = 1;
  // Estimated work of one pass, in pixel-channel taps (see StepBinder::SetWork); the plan bounds the sum.
  double work_per_pass = 0;
  // What Bind resolved (kernel sizes, matrices, lookup tables), as the family header's struct for this operation:
  // backends' kernels read it rather than the request.
  std::any params;
  CpuPassImpl cpu;  // pass 0 .. passes-1; call it through RunCpu
  double work() const { return work_per_pass * passes; }

  // Runs pass `pass` on the CPU, stopping between stripes when ctx.stop says so (its status is returned then, and
  // `out` is incomplete).
  absl::Status RunCpu(int pass, const cv::Mat& in, cv::Mat& out, CpuPassContext ctx = {}) const {
    ctx.pass_work = work_per_pass;
    return cpu(pass, in, out, ctx);
  }

  // The parameters as the operation's struct; nullptr if they are of another type (a kernel registered with the
  // wrong struct, which the backend reports as an error of that step).
  template <typename Params>
  const Params* params_as() const {
    return std::any_cast<Params>(&params);
  }
};

// Pixels x channels of an image: the unit of the work estimates.
inline double PixelChannels(const ImageSpec& spec) { return static_cast<double>(spec.pixels()) * spec.channels; }

// Handed to an operation's Bind: the incoming image, error helpers that name the step and field, and the
// BoundOp the operation fills in.
class StepBinder {
 public:
  StepBinder(int index, std::string name, const ImageSpec& input, const ImageLimits& limits);

  const ImageSpec& input() const { return op_.input; }
  ImageSpec& output() { return op_.output; }
  const ImageLimits& limits() const { return limits_; }

  // INVALID_ARGUMENT "operations[2].resize.width: must be >= 1 (got 0)".
  absl::Status Invalid(const std::string& field, const std::string& reason) const;
  // INVALID_ARGUMENT naming the step, for conditions on the incoming image rather than a field.
  absl::Status Unsupported(const std::string& reason) const;
  // INVALID_ARGUMENT "operations[2].canny: takes uint8 pixels (input is 640x400x1 uint16)" unless the input's
  // depth is one of `allowed`. BuildPlan checks each step against its definition's `depths` before Bind; Bind
  // calls it for conditions of a parameter (median_blur over 5).
  absl::Status RequireDepth(const std::vector<Depth>& allowed) const;
  absl::Status RequireChannels(std::initializer_list<int> allowed) const;

  // The work of one pass, in pixel-channel taps: pixels x channels x the kernel taps each output value reads, per
  // operation family (a separable filter reads width + height taps, a bilateral filter diameter squared,
  // morphology every tap of its structuring element, as NPP computes it). Unset: one tap per pixel-channel of the
  // larger of input and output, for per-pixel operations.
  void SetWork(double work_per_pass) { op_.work_per_pass = work_per_pass; }

  // A kernel that runs as one call, never stopped inside: for operations whose longest pass at the server's limits
  // is short (README, "Bounds", lists them with their measured worst case).
  void SetCpu(CpuImpl impl) {
    op_.cpu = [impl = std::move(impl)](int, const cv::Mat& in, cv::Mat& out, const CpuPassContext&) {
      impl(in, out);
      return absl::OkStatus();
    };
  }
  // A kernel of OpenCV calls that cannot be cut by their inputs (a global step, or rounding that depends on the
  // whole image), stopped between chunks of OpenCV's own loops instead (ops/interruptible_call.h).
  void SetCpuInterruptible(CpuImpl impl);
  // A kernel that runs in stripes (ops/op_util.h) and returns ctx.stop's status when it stops early.
  void SetCpuStriped(CpuStripedImpl impl) {
    op_.cpu = [impl = std::move(impl)](int, const cv::Mat& in, cv::Mat& out, const CpuPassContext& ctx) {
      return impl(in, out, ctx);
    };
  }
  // A step of several passes: `impl` is called with each pass index in turn.
  void SetCpuPasses(int passes, CpuPassImpl impl) {
    op_.passes = passes;
    op_.cpu = std::move(impl);
  }
  // What backends' kernels read; the operation's struct from its family header.
  template <typename Params>
  void SetParams(Params params) {
    op_.params = std::move(params);
  }
  BoundOp Take();

 private:
  BoundOp op_;
  const ImageLimits& limits_;
};

struct ParamInfo {
  std::string name;
  std::string type;
  std::string range;
  std::string default_value;
  std::string description;
};

struct OpDefinition {
  std::string name;  // the proto's Operation field; the arguments are its message's fields
  std::string description;
  std::vector<ParamInfo> params;
  // Validates the arguments against binder.input(), sets binder.output(), the bound parameters and the CPU kernel.
  std::function<absl::Status(const OpArgs& args, StepBinder& binder)> bind;
  // The pixel types its CPU kernel takes (16-bit images, issue 30): a chain that hands it another is refused naming
  // the step, before Bind; GetServerInfoResponse lists them. Most operations take uint8 and float32 and state uint16
  // where OpenCV's CPU function runs on CV_16U.
  std::vector<Depth> depths = {Depth::kU8, Depth::kF32};
};

class OpRegistry {
 public:
  // A second definition for an operation name is a programming error: it ends the program at start-up with a
  // message naming the operation, so that no build with it can serve.
  static bool Register(OpDefinition def);
  static const OpDefinition* Find(absl::string_view name);
  static std::vector<const OpDefinition*> All();  // by name
};

}  // namespace imgproc

// Registers an operation at static-initialization time; the library is linked whole (see CMake).
#define IMGPROC_REGISTER_OPERATION(ident, definition) \
  static const bool imgproc_registered_##ident = ::imgproc::OpRegistry::Register(definition)
