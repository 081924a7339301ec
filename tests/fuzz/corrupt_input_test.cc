// Bounded, deterministic mutation testing of the input path: flipped bytes, truncation and spliced headers
// in real encoded images of every format, through validation, decoding, a chain and encoding. Every input
// must end in OK or INVALID_ARGUMENT (never a crash, never another code).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/animation_images.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// The decode mode of the n-th input is kModes[random() % 3]: the proto's numbering of the modes these tests were
// written with (0, unspecified, is colour; 1 colour; 2 grayscale), so that the sequence of inputs stays the one it was.
constexpr DecodeMode kModes[] = {DecodeMode::kColor, DecodeMode::kColor, DecodeMode::kGrayscale};

TEST(CorruptInputTest, MutatedImagesNeverCrashAndFailAsInvalidArgument) {
  const cv::Mat image = GeneratedImage(64, 48);
  const std::vector<std::string> seeds = {EncodeAs(image, ".jpg"),  EncodeAs(image, ".png"),
                                          EncodeAs(image, ".webp"), EncodeAs(image, ".tiff"),
                                          EncodeAs(image, ".bmp"),  EncodeAs(GeneratedImage(40, 30, 4), ".png")};
  std::mt19937 random(20261124);  // fixed: the same inputs on every run
  std::unique_ptr<ExecutionLane> lane = MakeCpuLane();
  RunOptions options;
  options.limits.max_pixels = 4'000'000;  // mutated headers may claim large sizes; keep each decode small
  int ok = 0, invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = Mutate(seeds, i, random);
    Request request(bytes);
    request.Decode(kModes[random() % 3])
        .Then("resize", {{"scale", 0.5}})
        .Then("gaussian_blur", {{"kernel_width", 3}})
        .Output(OutputFormat::kPng);
    const absl::Status status = RunPlanOn(*lane, request, options).status();
    ASSERT_TRUE(status.ok() || status.code() == absl::StatusCode::kInvalidArgument) << "input " << i << ": " << status;
    (status.ok() ? ok : invalid)++;
  }
  std::printf("corrupt inputs: %d still decodable, %d refused as INVALID_ARGUMENT\n", ok, invalid);
  EXPECT_GT(invalid, 10000);
}

// The formats decoded outside OpenCV (giflib, libwebp's demuxer) and float TIFF, apart from the seeds above so that
// their sequence stays the one it was.
TEST(CorruptInputTest, MutatedAnimationsAndFloatTiffsNeverCrashAndFailAsInvalidArgument) {
  cv::Mat indices(30, 40, CV_8UC1), floats(30, 40, CV_32FC3);
  cv::randu(indices, 0, 4);
  cv::randu(floats, 0.0, 1.0);
  const std::vector<cv::Vec3b> palette = {{200, 10, 20}, {30, 180, 60}, {90, 40, 250}, {255, 255, 0}};
  std::vector<cv::Mat> frames = {GeneratedImage(40, 30, 4), GeneratedImage(40, 30, 4)};
  cv::flip(frames[1], frames[1], 1);
  const std::vector<std::string> seeds = {
      EncodeGif(40, 30, palette,
                {GifFrame{0, 0, indices, 2, false}, GifFrame{5, 5, indices(cv::Rect(0, 0, 20, 10)).clone()}}),
      EncodeGif(40, 30, palette, {GifFrame{2, 1, indices(cv::Rect(0, 0, 30, 20)).clone(), -1, true}}),
      EncodeAnimatedWebp(frames), EncodeAs(floats, ".tiff", {cv::IMWRITE_TIFF_COMPRESSION, 1}),
      EncodeAs(floats, ".tiff")};
  std::mt19937 random(20261201);
  std::unique_ptr<ExecutionLane> lane = MakeCpuLane();
  RunOptions options;
  options.limits.max_pixels = 4'000'000;
  int ok = 0, invalid = 0;
  for (int i = 0; i < 5000; ++i) {
    Request request(Mutate(seeds, i, random));
    request.Decode(kModes[random() % 3]).Then("gaussian_blur", {{"kernel_width", 3}}).Output(OutputFormat::kPng);
    const absl::Status status = RunPlanOn(*lane, request, options).status();
    ASSERT_TRUE(status.ok() || status.code() == absl::StatusCode::kInvalidArgument) << "input " << i << ": " << status;
    (status.ok() ? ok : invalid)++;
  }
  std::printf("corrupt gif/webp/float tiff inputs: %d still decodable, %d refused as INVALID_ARGUMENT\n", ok, invalid);
  EXPECT_GT(invalid, 1000);
}

}  // namespace
}  // namespace imgproc::testing
