#pragma once
// What the engine's own tests drive it with, below the gRPC frontend (nothing below transport/ sees a proto): an
// ImageRequest written in a line, and a request planned and run on one lane. Compiled into the test binaries that
// link the server's library (unit_tests, gpu_tests), as gpu_test_support.cc is.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "codec/codec.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "core/job.h"
#include "core/lane.h"
#include "imgproc/v1/imgproc.pb.h"
#include "imgproc_testing/test_support.h"
#include "ops/op_args.h"
#include "pipeline/image_request.h"
#include "pipeline/plan.h"

namespace imgproc::testing {

// The engine's OpCall for `op`, each argument of the type its operation's definition declares (an integer given for
// a double parameter is that double); an argument the definition does not declare ends the test binary. A name no
// definition has is kept as it is, with its arguments, for the plan to refuse.
OpCall ToOpCall(const OpSpec& op);

// An ImageRequest that owns its image, written in a line:
//   Request(png).Then("resize", {{"width", 320}, {"height", 200}}).Output(OutputFormat::kPng)
// It is an ImageRequest: BuildPlan and RunPlanOn take it as it is, and a test sets any other field directly
// (request.output.quality = 0). Copies share the image.
class Request : public ImageRequest {
 public:
  explicit Request(std::string image = std::string());

  Request& Image(std::string image);
  // Appends a step.
  Request& Then(const OpSpec& op);
  Request& Then(std::string op, std::vector<std::pair<std::string, ArgValue>> args = {});
  Request& Decode(DecodeMode mode);
  Request& DecodeDepth(Depth depth);
  // The answer's format as a request that names it (errors then say "output.png..." rather than the default JPEG's).
  Request& Output(OutputFormat format);
  // The output format's options (OutputSpec says which formats take them).
  Request& Quality(int quality);
  Request& CompressionLevel(int level);
  // A raw answer of that pixel type and layout.
  Request& Raw(Depth depth = Depth::kU8, Layout layout = Layout::kHwc);
  Request& Color(ColorPolicy policy);
  Request& IgnoreExifOrientation();
  Request& DisableShrinkOnLoad();
  Request& StrictDecode();

 private:
  std::shared_ptr<const std::string> image_owner_;
};

// An operation case's request: `c`'s decode mode and chain, a raw answer of `depth`, at full size (the references
// decode at full size: these cases check the operations, shrink_on_load_test the shrunk decode).
Request CaseRequest(const std::string& image, const OpCase& c, Depth depth);

// "color", "grayscale", "unchanged": for the tests' messages.
std::string DecodeModeName(DecodeMode mode);

// DecodeLikeServer (test_support.h) in the engine's decode mode.
cv::Mat DecodeLikeServer(const std::string& bytes, DecodeMode mode);

// A raw answer's bytes (HWC) as a Mat of `depth`; empty when their size is not that of the answer's spec.
cv::Mat RawToMat(const EncodedImage& answer, Depth depth);

// What RunPlanOn may be given besides the request.
struct RunOptions {
  ImageLimits limits;
  Plan* plan = nullptr;  // receives a copy of the plan that ran, when given
};

// BuildPlan, a Job of the plan and the request's image, and `lane.Run` of it: a request as a worker of a pool runs
// it, without the pool. A refused plan is its status.
absl::StatusOr<JobResult> RunPlanOn(ExecutionLane& lane, const ImageRequest& request,
                                    const RunOptions& options = RunOptions());
// The same for a gRPC request, through the transport's translation (what the server does with it): for the GPU
// tests that hold a lane's answer against the server's answer to the same message.
absl::StatusOr<JobResult> RunPlanOn(ExecutionLane& lane, const imgproc::v1::ProcessRequest& request,
                                    const RunOptions& options = RunOptions());

}  // namespace imgproc::testing
