// libFuzzer target: the decoder's front door as a request meets it: the plan (header, limits, validation), then
// the decode into the predicted shape (at full size or, for JPEG and WebP, shrunk on load) and the EXIF turn.
// Anything but a clean status or image is a finding.
#include <cstddef>
#include <cstdint>

#include "codec/codec.h"
#include "codec/orientation.h"
#include "codec/shrink_on_load.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgproc::ImageLimits limits;
  limits.max_pixels = 4'000'000;  // headers may claim any size; keep each decode small enough to run thousands
  imgproc::v1::ProcessRequest request;
  request.set_image(reinterpret_cast<const char*>(data), size);
  request.set_decode_mode(static_cast<imgproc::v1::DecodeMode>(size % 3));
  absl::StatusOr<imgproc::Plan> plan = imgproc::BuildPlan(request, limits);
  if (!plan.ok()) return 0;
  // The factor from the input's length, as the decode mode: the same bytes meet every path across a run.
  static constexpr int kFactors[] = {1, 2, 4, 8};
  const int factor = imgproc::HasScaledDecode(plan->header) ? kFactors[(size / 3) % 4] : 1;
  absl::StatusOr<cv::Mat> decoded =
      imgproc::Decode(request.image(), plan->header, plan->decode_mode,
                      imgproc::DecodedSpec(plan->header, plan->decode_mode, factor), factor);
  if (!decoded.ok()) return 0;
  imgproc::ApplyOrientation(*decoded, plan->orientation);
  return 0;
}
