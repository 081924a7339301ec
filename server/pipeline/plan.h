#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codec/image_header.h"
#include "codec/metadata.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "ops/operation.h"
#include "pipeline/image_request.h"

namespace imgproc {

// The start of a plan when the decoder does the first part of its leading downscale (codec/shrink_on_load.h):
// the decoded image at 1/factor of the stored size, and the first step bound again to resize that to the size
// the full plan's first step outputs, so that every later step, and the answer, stay as validated.
struct ShrinkOnLoad {
  int factor = 1;  // 2, 4 or 8
  ImageSpec decoded;
  ImageSpec oriented;
  BoundOp first_step;
};

// A request checked end to end before any pixel work: the header is within limits, every step's
// parameters fit the image it will receive, and the output format fits the image the chain produces.
struct Plan {
  ImageHeader header;
  DecodeMode decode_mode = DecodeMode::kColor;
  ImageSpec decoded;  // what the decoder produces, pixels as stored
  // The EXIF orientation that lanes apply after decoding (1: none); the chain starts from `oriented`.
  int orientation = 1;
  ImageSpec oriented;
  std::vector<BoundOp> steps;
  double work = 0;  // the steps' estimated work and an AVIF answer's encode, pixel-channel taps
  // The most pixel memory the chain holds at once: a step's input and output (the decoded image for none).
  int64_t peak_pixel_bytes = 0;
  ImageSpec result;
  OutputSpec output;
  // Set when the input and chain allow shrink-on-load and the request did not turn it off. A lane that decodes
  // on the CPU may start from it; the limits and estimates above are those of the full-size decode, the larger.
  std::optional<ShrinkOnLoad> shrink_on_load;
  // Why the image will be decoded only in part, as the header saw it (ImageHeader::truncation; a CPU lane's decoder
  // may find more: JobResult::partial_decode); empty when whole.
  std::string partial_decode;
  // The request refuses a partial decode: BuildPlan refuses a truncation it sees, the lanes one their decoder finds.
  bool strict_decode = false;
  // The input's metadata that the answer keeps (OutputSpec::metadata), read and rewritten when the plan is built and
  // spliced into the answer after encoding, whichever device encoded it.
  OutputMetadata metadata;
  // What the lanes do with the input's colours (issue 29): the transform to sRGB they apply after decoding, or why
  // none; under ColorPolicy::kKeep, the profile the encoder embeds (ColorDecision::profile).
  ColorDecision color;
};

// INVALID_ARGUMENT naming the step index and field, or the header problem; RESOURCE_EXHAUSTED naming the step
// that takes the estimated work over limits.max_request_work.
absl::StatusOr<Plan> BuildPlan(const ImageRequest& request, const ImageLimits& limits);

}  // namespace imgproc
