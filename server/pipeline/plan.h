#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "codec/image_header.h"
#include "common/image_spec.h"
#include "common/limits.h"
#include "imgproc/v1/imgproc.pb.h"
#include "ops/operation.h"

namespace imgproc {

// A request checked end to end before any pixel work: the header is within limits, every step's
// parameters fit the image it will receive, and the output format fits the image the chain produces.
struct Plan {
  ImageHeader header;
  imgproc::v1::DecodeMode decode_mode = imgproc::v1::DECODE_MODE_COLOR;
  ImageSpec decoded;  // what the decoder produces, pixels as stored
  // The EXIF orientation that lanes apply after decoding (1: none); the chain starts from `oriented`.
  int orientation = 1;
  ImageSpec oriented;
  std::vector<BoundOp> steps;
  double work = 0;  // the steps' estimated work, pixel-channel taps
  // The most pixel memory the chain holds at once: a step's input and output (the decoded image for none).
  int64_t peak_pixel_bytes = 0;
  ImageSpec result;
  imgproc::v1::OutputSpec output;
};

// INVALID_ARGUMENT naming the step index and field, or the header problem; RESOURCE_EXHAUSTED naming the step
// that takes the estimated work over limits.max_request_work.
absl::StatusOr<Plan> BuildPlan(const imgproc::v1::ProcessRequest& request, const ImageLimits& limits);

}  // namespace imgproc
