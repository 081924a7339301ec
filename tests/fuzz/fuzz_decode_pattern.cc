// libFuzzer target: no decoder hands back memory it did not write (issue 28). Each input goes through the plan and
// the decode as in fuzz_decode, twice: with every fresh cv::Mat and every malloc filled with 0x00, then with 0xA5
// (tests/support/imgproc_testing/pattern_allocator.h; under the sanitizers through their allocator hook). Outcomes
// that differ mean some output byte came from memory the decoder never wrote: the run aborts with where.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "codec/codec.h"
#include "codec/orientation.h"
#include "codec/shrink_on_load.h"
#include "imgproc_testing/pattern_allocator.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgproc::ImageLimits limits;
  limits.max_pixels = 4'000'000;  // as fuzz_decode: headers may claim any size
  imgproc::v1::ProcessRequest request;
  request.set_image(reinterpret_cast<const char*>(data), size);
  request.set_decode_mode(static_cast<imgproc::v1::DecodeMode>(size % 3));
  absl::StatusOr<imgproc::Plan> plan = imgproc::BuildPlan(request, limits);
  if (!plan.ok()) return 0;
  static constexpr int kFactors[] = {1, 2, 4, 8};
  const int factor = imgproc::HasScaledDecode(plan->header) ? kFactors[(size / 3) % 4] : 1;
  const std::string difference = imgproc::testing::CompareUnderTwoPatterns([&]() -> absl::StatusOr<cv::Mat> {
    absl::StatusOr<cv::Mat> decoded =
        imgproc::Decode(request.image(), plan->header, plan->decode_mode,
                        imgproc::DecodedSpec(plan->header, plan->decode_mode, factor), factor);
    if (decoded.ok()) imgproc::ApplyOrientation(*decoded, plan->orientation);
    return decoded;
  });
  if (!difference.empty()) {
    std::fprintf(stderr, "fuzz_decode_pattern: %s format, mode %d, shrink 1/%d: %s\n",
                 imgproc::ImageFormatName(plan->header.format), static_cast<int>(request.decode_mode()), factor,
                 difference.c_str());
    std::abort();
  }
  return 0;
}
