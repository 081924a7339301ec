#pragma once
// The CUDA backend's operation kernels: each is registered from backend/cuda/kernels/<family>.cc for an operation
// name, reads the parameters the operation bound (its struct from ops/<family>.h) and runs on the lane's stream.
// An operation without a kernel here, or whose kernel does not accept a binding, runs its CPU kernel between a
// download and an upload, and the response lists it in cpu_fallback_operations.

#include <algorithm>
#include <functional>
#include <memory>
#include <opencv2/core/cuda.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ops/operation.h"

namespace imgproc {

// Objects a kernel builds once per lane and reuses, found by a key naming everything they depend on (parameters,
// pixel type). Building a cv::cuda filter, CLAHE or lookup table uploads its coefficients on the legacy default
// stream, which waits for the work of every lane's stream: one per request would order all lanes behind one
// another.
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

// What a kernel gets besides its input and output: the lane's stream, scratch matrices and built objects that live
// as long as the lane, so that steady state allocates and builds nothing.
struct CudaOpContext {
  cv::cuda::Stream& stream;
  std::vector<cv::cuda::GpuMat>& scratch;  // at least 4 entries
  CudaObjectCache& objects;
};

struct CudaKernel {
  std::string op;
  std::string notes;          // for GetServerInfo: what runs on the CPU instead, what differs from the CPU's result
  std::vector<Depth> depths;  // the pixel types it takes (16-bit images, issue 30); others run on the CPU
  // Whether the kernel computes this binding (OpenCV's CUDA functions take fewer types and sizes than the CPU's).
  std::function<bool(const BoundOp& step)> accepts;
  // Pass `pass` of the step (0 .. step.passes - 1). Throws cv::Exception, as OpenCV does.
  std::function<void(const BoundOp& step, int pass, const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out,
                     CudaOpContext& ctx)>
      run;
};

class CudaKernelRegistry {
 public:
  // A second kernel for an operation ends the program at start-up, naming it.
  static bool Register(CudaKernel kernel);
  static const CudaKernel* Find(absl::string_view op);
  // FAILED_PRECONDITION naming every kernel whose operation has no definition (a renamed or removed operation):
  // the backend refuses to start rather than serve without it.
  static absl::Status CheckEveryKernelHasAnOperation();
};

// Registers the kernel of operation `op`, whose Bind stored a `Params`. `accepts` may be null (every binding of
// an input in `depths`). `depths`: the pixel types its OpenCV CUDA or NPP calls take; uint16 is declared only where
// they do (the rest decline it and the step runs on the CPU, listed in cpu_fallback_operations).
template <typename Params>
bool RegisterCudaKernel(std::string op, std::string notes, bool (*accepts)(const Params&, const ImageSpec& input),
                        void (*run)(const Params&, int pass, const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out,
                                    CudaOpContext& ctx),
                        std::vector<Depth> depths = {Depth::kU8, Depth::kF32}) {
  CudaKernel kernel;
  kernel.op = std::move(op);
  kernel.notes = std::move(notes);
  kernel.depths = depths;
  kernel.accepts = [accepts, depths](const BoundOp& step) {
    if (std::find(depths.begin(), depths.end(), step.input.depth) == depths.end()) return false;
    const Params* params = step.params_as<Params>();
    // Parameters of another type are a programming error that `run` reports, rather than a silent CPU fallback.
    return params == nullptr || accepts == nullptr || accepts(*params, step.input);
  };
  kernel.run = [run](const BoundOp& step, int pass, const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out,
                     CudaOpContext& ctx) {
    const Params* params = step.params_as<Params>();
    if (params == nullptr) CV_Error(cv::Error::StsBadArg, "the CUDA kernel expects other parameters than Bind stored");
    run(*params, pass, in, out, ctx);
  };
  return CudaKernelRegistry::Register(std::move(kernel));
}

}  // namespace imgproc
