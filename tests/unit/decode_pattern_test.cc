// No decoder hands back memory it did not write (issue 28): every file of the marker corpus (each TIFF layout and a
// file of every other decoder), whole, cut at several points and mutated, is decoded in every mode twice, with every
// fresh cv::Mat filled with 0x00 and then with 0xA5 (common/pattern_allocator.h): the two outcomes must be the same,
// which they are not exactly when some output byte was left as the allocation had it. fuzz_decode_pattern runs the
// same check on libFuzzer's inputs.
#include <gtest/gtest.h>

#include <random>

#include "codec/codec.h"
#include "codec/orientation.h"
#include "imgproc_testing/decode_marker_checks.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/pattern_allocator.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// The front door as a lane meets it: the plan (header, limits), the decode into the predicted shape, the turn.
absl::StatusOr<cv::Mat> DecodeLikeALane(const std::string& bytes, DecodeMode mode) {
  const Request request = Request(bytes).Decode(mode);
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  absl::StatusOr<cv::Mat> image = Decode(bytes, plan->header, plan->decode_mode, plan->decoded);
  if (image.ok()) ApplyOrientation(*image, plan->orientation);
  return image;
}

TEST(DecodePatternTest, NoDecoderLeavesAnOutputByteUnwrittenOnTheCorpusItsCutsAndMutations) {
  std::vector<std::pair<std::string, std::string>> inputs;
  std::vector<std::string> seeds;
  for (const DecodeCase& c : MarkerCorpus()) {
    inputs.emplace_back(c.name, c.bytes);
    seeds.push_back(c.bytes);
    for (double keep : {0.3, 0.6, 0.9, 0.99}) {
      inputs.emplace_back(c.name + " cut at " + std::to_string(keep),
                          c.bytes.substr(0, static_cast<size_t>(c.bytes.size() * keep)));
    }
  }
  inputs.emplace_back("jpeg", EncodeAs(GeneratedImage(61, 37), ".jpg"));
  std::mt19937 random(28);
  for (int i = 0; i < 300; ++i) inputs.emplace_back("mutation " + std::to_string(i), Mutate(seeds, i, random));
  int decoded = 0;
  for (const auto& [name, bytes] : inputs) {
    for (DecodeMode mode : {DecodeMode::kUnchanged, DecodeMode::kColor, DecodeMode::kGrayscale}) {
      const std::string difference = CompareUnderTwoPatterns([&] { return DecodeLikeALane(bytes, mode); });
      EXPECT_EQ(difference, "") << name << ", " << DecodeModeName(mode);
      decoded += DecodeLikeALane(bytes, mode).ok();
    }
  }
  // The check means something only where decodes succeed: every whole file does (and some cuts and mutations).
  EXPECT_GT(decoded, 3 * static_cast<int>(seeds.size()));
  std::printf("decode pattern check: %zu inputs x 3 modes, %d decodes succeeded\n", inputs.size(), decoded);
}

TEST(DecodePatternTest, TheCheckSeesAnUnwrittenByte) {
  const std::string difference = CompareUnderTwoPatterns([]() -> absl::StatusOr<cv::Mat> {
    cv::Mat partial(4, 4, CV_8UC1);
    partial.rowRange(0, 3).setTo(1);  // the last row is not written
    return partial;
  });
  EXPECT_NE(difference.find("pixels differ first at row 3"), std::string::npos) << difference;
}

}  // namespace
}  // namespace imgproc::testing
