#pragma once
// An operation is defined in one place: its parameter metadata, its validation against the incoming
// image, and its CPU and CUDA implementations (ops/<family>.cc). The registry below is how the rest of
// the service finds it, so adding an operation touches its family file and the proto, nothing else.

#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "imgproc/v1/imgproc.pb.h"

#if IMGPROC_WITH_CUDA
#include <opencv2/core/cuda.hpp>
#endif

namespace imgproc {

namespace pb = ::imgproc::v1;

#if IMGPROC_WITH_CUDA
// Objects a CUDA implementation builds once per lane and reuses, found by a key naming everything they depend
// on (parameters, pixel type). Building a cv::cuda filter, CLAHE or lookup table uploads its coefficients on
// the legacy default stream, which waits for the work of every lane's stream: one per request would order all
// lanes behind one another.
class CudaObjectCache {
 public:
  template <typename T, typename Make>
  cv::Ptr<T> Get(const std::string& key, Make&& make) {
    auto it = objects_.find(key);
    if (it != objects_.end()) return cv::Ptr<T>(std::static_pointer_cast<T>(it->second));
    if (objects_.size() >= kMaxObjects) objects_.clear();  // requests may vary their parameters without end
    cv::Ptr<T> made = make();
    objects_.emplace(key, made);
    return made;
  }

 private:
  static constexpr size_t kMaxObjects = 64;
  std::unordered_map<std::string, std::shared_ptr<void>> objects_;
};

// What a CUDA implementation gets besides its input and output: the worker's stream, scratch matrices and
// built objects that live as long as the worker, so that steady state allocates and builds nothing.
struct CudaOpContext {
  cv::cuda::Stream& stream;
  std::vector<cv::cuda::GpuMat>& scratch;  // at least 4 entries
  CudaObjectCache& objects;
};
using CudaImpl = std::function<void(const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, CudaOpContext& ctx)>;
using CudaPassImpl =
    std::function<void(int pass, const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, CudaOpContext& ctx)>;
#endif

using CpuImpl = std::function<void(const cv::Mat& in, cv::Mat& out)>;
using CpuPassImpl = std::function<void(int pass, const cv::Mat& in, cv::Mat& out)>;

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
  CpuPassImpl cpu;  // pass 0 .. passes-1
#if IMGPROC_WITH_CUDA
  CudaPassImpl cuda;  // empty: OpenCV has no CUDA path for these parameters; the lane runs `cpu` instead
#endif
  double work() const { return work_per_pass * passes; }
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
  absl::Status RequireDepth(Depth depth) const;
  absl::Status RequireChannels(std::initializer_list<int> allowed) const;

  // The work of one pass, in pixel-channel taps: pixels x channels x the kernel taps each output value reads, per
  // operation family (a separable filter reads width + height taps, a bilateral filter diameter squared,
  // morphology every tap of its structuring element, as NPP computes it). Unset: one tap per pixel-channel of the
  // larger of input and output, for per-pixel operations.
  void SetWork(double work_per_pass) { op_.work_per_pass = work_per_pass; }

  void SetCpu(CpuImpl impl) {
    op_.cpu = [impl = std::move(impl)](int, const cv::Mat& in, cv::Mat& out) { impl(in, out); };
  }
  // A step of several passes: `impl` is called with each pass index in turn.
  void SetCpuPasses(int passes, CpuPassImpl impl) {
    op_.passes = passes;
    op_.cpu = std::move(impl);
  }
#if IMGPROC_WITH_CUDA
  void SetCuda(CudaImpl impl) {
    op_.cuda = [impl = std::move(impl)](int, const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, CudaOpContext& ctx) {
      impl(in, out, ctx);
    };
  }
  // As many passes as SetCpuPasses gave.
  void SetCudaPasses(CudaPassImpl impl) { op_.cuda = std::move(impl); }
#endif
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
  std::string name;  // the Operation oneof field
  pb::Operation::OpCase op_case;
  std::string description;
  std::vector<ParamInfo> params;
  bool has_cuda = false;
  std::string cuda_notes;
  // Validates the parameters against binder.input(), sets binder.output() and the implementations.
  std::function<absl::Status(const pb::Operation& op, StepBinder& binder)> bind;
};

class OpRegistry {
 public:
  // A second definition for an operation (the same oneof case or name) is a programming error: it ends the
  // program at start-up with a message naming the operation, so that no build with it can serve.
  static bool Register(OpDefinition def);
  static const OpDefinition* Find(pb::Operation::OpCase op_case);
  static std::vector<const OpDefinition*> All();  // in proto field order
};

}  // namespace imgproc

// Registers an operation at static-initialization time; the library is linked whole (see CMake).
#define IMGPROC_REGISTER_OPERATION(ident, definition) \
  static const bool imgproc_registered_##ident = ::imgproc::OpRegistry::Register(definition)
