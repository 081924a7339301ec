// Shrink-on-load (codec/shrink_on_load.h): which factor the plan picks at every size boundary, that the shrunk
// decode has exactly the predicted size and the answer exactly the size of the full path, where it does not
// apply, and the request's off switch. The fidelity on the real photos is in integration/shrink_on_load_test.cc.
#include "codec/shrink_on_load.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "backend/cpu/cpu_backend.h"
#include "codec/codec.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// Odd sides, so that every factor rounds up: 1001 / 8 = 125.1 -> 126.
constexpr int kWidth = 1001, kHeight = 757;

absl::StatusOr<JobResult> RunOnCpu(const ImageRequest& request, Plan* plan_out = nullptr) {
  RunOptions options;
  options.plan = plan_out;
  return RunPlanOn(*MakeCpuLane(), request, options);
}

OpSpec Resize(int width, int height, const char* interpolation = "INTERPOLATION_AREA") {
  return Op("resize", {{"width", width}, {"height", height}, {"interpolation", interpolation}});
}

Request ResizeRequest(const std::string& image, int width, int height,
                      const char* interpolation = "INTERPOLATION_AREA") {
  return Request(image).Then(Resize(width, height, interpolation)).Raw();
}

// The factor the plan picks for an output of width x height, after checking that the CPU lane decodes at exactly
// the predicted size (Decode refuses any other) and answers at exactly the requested one.
int FactorFor(const std::string& image, int width, int height, const char* interpolation = "INTERPOLATION_AREA",
              DecodeMode mode = DecodeMode::kColor) {
  const Request request = ResizeRequest(image, width, height, interpolation).Decode(mode);
  Plan plan;
  absl::StatusOr<JobResult> result = RunOnCpu(request, &plan);
  EXPECT_TRUE(result.ok()) << width << "x" << height << ": " << result.status();
  if (!result.ok()) return -1;
  EXPECT_EQ(result->image.spec.width, width);
  EXPECT_EQ(result->image.spec.height, height);
  const int factor = plan.shrink_on_load ? plan.shrink_on_load->factor : 1;
  EXPECT_EQ(result->decode_shrink_factor, factor) << width << "x" << height;
  if (plan.shrink_on_load) {
    EXPECT_EQ(plan.shrink_on_load->decoded.width, ShrunkSide(kWidth, factor));
    EXPECT_EQ(plan.shrink_on_load->decoded.height, ShrunkSide(kHeight, factor));
    EXPECT_EQ(plan.shrink_on_load->first_step.output, plan.steps[0].output);
  }
  return factor;
}

// At 1/f the decoder gives ceil(side / f): 1001x757 -> 501x379, 251x190, 126x95. An AREA resize takes 1/8 while
// that stays 4x its output, 1/4 while 2x, 1/2 while 1.5x (pipeline/plan.cc says why); one pixel more on either
// side takes the next smaller factor. An exact half takes 1/2 for AREA and LINEAR alone.
void ExpectEveryBoundary(const std::string& image, DecodeMode mode) {
  const auto area = "INTERPOLATION_AREA";
  EXPECT_EQ(FactorFor(image, 1, 1, area, mode), 8);
  EXPECT_EQ(FactorFor(image, 31, 23, area, mode), 8);  // 126 >= 4 * 31, 95 >= 4 * 23
  EXPECT_EQ(FactorFor(image, 32, 23, area, mode), 4);
  EXPECT_EQ(FactorFor(image, 31, 24, area, mode), 4);
  EXPECT_EQ(FactorFor(image, 125, 95, area, mode), 4);  // 251 >= 2 * 125, 190 >= 2 * 95
  EXPECT_EQ(FactorFor(image, 126, 95, area, mode), 2);
  EXPECT_EQ(FactorFor(image, 125, 96, area, mode), 2);
  EXPECT_EQ(FactorFor(image, 334, 252, area, mode), 2);  // 501 >= 1.5 * 334, 379 >= 1.5 * 252
  EXPECT_EQ(FactorFor(image, 335, 252, area, mode), 1);
  EXPECT_EQ(FactorFor(image, 334, 253, area, mode), 1);
  EXPECT_EQ(FactorFor(image, 501, 379, area, mode), 2);  // the exact half
  EXPECT_EQ(FactorFor(image, 501, 379, "INTERPOLATION_LINEAR", mode), 2);
  EXPECT_EQ(FactorFor(image, 500, 379, "INTERPOLATION_LINEAR", mode), 1);
  EXPECT_EQ(FactorFor(image, 501, 378, area, mode), 1);
  EXPECT_EQ(FactorFor(image, 501, 379, "INTERPOLATION_CUBIC", mode), 1);
  EXPECT_EQ(FactorFor(image, 501, 379, "INTERPOLATION_NEAREST", mode), 1);
  EXPECT_EQ(FactorFor(image, 31, 23, "INTERPOLATION_LINEAR", mode), 1);  // point samples: decoded at full size
  EXPECT_EQ(FactorFor(image, 2000, 1500, area, mode), 1);                // an upscale
}

TEST(ShrinkOnLoadTest, JpegFactorAtEveryBoundary) {
  const std::string jpeg = EncodeAs(GeneratedImage(kWidth, kHeight), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  for (const auto& [name, mode] :
       {std::pair{"colour", DecodeMode::kColor}, std::pair{"grayscale", DecodeMode::kGrayscale},
        std::pair{"unchanged", DecodeMode::kUnchanged}}) {
    SCOPED_TRACE(name);
    ExpectEveryBoundary(jpeg, mode);
  }
}

TEST(ShrinkOnLoadTest, WebpFactorAtEveryBoundary) {
  for (const int channels : {3, 4}) {
    SCOPED_TRACE(channels);
    const std::string webp =
        EncodeAs(GeneratedImage(kWidth, kHeight, channels), ".webp", {cv::IMWRITE_WEBP_QUALITY, 90});
    ExpectEveryBoundary(webp, channels == 4 ? DecodeMode::kUnchanged : DecodeMode::kColor);
  }
  const std::string webp = EncodeAs(GeneratedImage(kWidth, kHeight), ".webp");
  EXPECT_EQ(FactorFor(webp, 31, 23, "INTERPOLATION_AREA", DecodeMode::kGrayscale), 8);
}

// The output sizes of every form of resize (scale, one side, keep_aspect) are resolved against the full-size image
// first, so the answer is the same size with and without shrink-on-load.
TEST(ShrinkOnLoadTest, EveryResizeFormKeepsItsOutputSize) {
  const std::string jpeg = EncodeAs(GeneratedImage(kWidth, kHeight), ".jpg");
  const OpSpec forms[] = {
      Op("resize", {{"scale", 0.5}}),  // LINEAR, an exact half
      Op("resize", {{"width", 300}, {"interpolation", "INTERPOLATION_AREA"}}),
      Op("resize", {{"height", 100}, {"interpolation", "INTERPOLATION_AREA"}}),
      Op("resize", {{"width", 200}, {"height", 200}, {"keep_aspect", true}, {"interpolation", "INTERPOLATION_AREA"}})};
  for (const OpSpec& form : forms) {
    SCOPED_TRACE(ToString(form));
    const Request request = Request(jpeg).Then(form).Raw();
    Request full = request;
    full.DisableShrinkOnLoad();
    absl::StatusOr<JobResult> shrunk = RunOnCpu(request), exact = RunOnCpu(full);
    ASSERT_TRUE(shrunk.ok()) << shrunk.status();
    ASSERT_TRUE(exact.ok()) << exact.status();
    EXPECT_GT(shrunk->decode_shrink_factor, 1);
    EXPECT_EQ(exact->decode_shrink_factor, 1);
    EXPECT_EQ(shrunk->image.spec, exact->image.spec);
  }
}

// EXIF 5-8 turn the stored image a quarter: the factor is chosen on the stored sides, the output stays upright.
TEST(ShrinkOnLoadTest, TransposingOrientationSwapsTheSidesCompared) {
  const std::string jpeg = WithExifOrientation(EncodeAs(GeneratedImage(kWidth, kHeight), ".jpg"), 6);
  // Upright the image is 757x1001; 23x31 upright is 31x23 stored, the largest output 1/8 takes.
  Plan plan;
  absl::StatusOr<JobResult> result = RunOnCpu(ResizeRequest(jpeg, 23, 31), &plan);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(plan.shrink_on_load.has_value());
  EXPECT_EQ(plan.shrink_on_load->factor, 8);
  EXPECT_EQ(plan.shrink_on_load->oriented, (ImageSpec{95, 126, 3, Depth::kU8}));
  EXPECT_EQ(result->image.spec, (ImageSpec{23, 31, 3, Depth::kU8}));
  result = RunOnCpu(ResizeRequest(jpeg, 24, 31), &plan);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->decode_shrink_factor, 4);
}

TEST(ShrinkOnLoadTest, NotForOtherFormatsOrChainsOrWhenTurnedOff) {
  const cv::Mat picture = GeneratedImage(kWidth, kHeight);
  const std::string jpeg = EncodeAs(picture, ".jpg");
  for (const char* extension : {".png", ".tif", ".bmp"}) {
    EXPECT_EQ(FactorFor(EncodeAs(picture, extension), 31, 23), 1) << extension;
  }
  const Request blur_first = Request(jpeg).Then("gaussian_blur", {{"kernel_width", 3}}).Then(Resize(126, 95)).Raw();
  absl::StatusOr<Plan> plan = BuildPlan(blur_first, ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->shrink_on_load.has_value()) << "the blur needs the full-size pixels";

  plan = BuildPlan(ResizeRequest(jpeg, 126, 95).DisableShrinkOnLoad(), ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->shrink_on_load.has_value());
}

// Turned off, the answer is bit-exact with OpenCV's full decode and cv::resize; on, it is close.
TEST(ShrinkOnLoadTest, OffSwitchGivesTheFullDecodeBitExact) {
  const std::string photo = ReadFile(PhotoPath("nature/Storm.jpg"));
  const cv::Mat full = DecodeLikeServer(photo);
  cv::Mat expected;
  cv::resize(full, expected, {full.cols / 4, full.rows / 4}, 0, 0, cv::INTER_AREA);
  Request request = ResizeRequest(photo, expected.cols, expected.rows).DisableShrinkOnLoad();
  absl::StatusOr<JobResult> exact = RunOnCpu(request);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->decode_shrink_factor, 1);
  auto as_mat = [](const JobResult& r) { return RawToMat(r.image, Depth::kU8); };
  EXPECT_EQ(Compare(as_mat(*exact), expected).max_abs, 0);

  request.disable_shrink_on_load = false;
  absl::StatusOr<JobResult> shrunk = RunOnCpu(request);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(shrunk->decode_shrink_factor, 2);  // 1/4 would leave less than 2x for the area resize
  EXPECT_GT(Compare(as_mat(*shrunk), expected).max_abs, 0) << "the shrunk path is not the same computation";
  EXPECT_GE(Psnr(as_mat(*shrunk), expected), 35);
}

// libjpeg scales every kind of JPEG it decodes: progressive, grayscale, CMYK (tests/data, converted by libjpeg as
// the full decode is). Each shrunk answer is close to the full path's.
TEST(ShrinkOnLoadTest, EveryKindOfJpegShrinks) {
  const cv::Mat photo = DecodeLikeServer(ReadFile(PhotoPath("nature/Storm.jpg")));
  cv::Mat gray;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  const std::pair<std::string, std::string> inputs[] = {
      {"baseline", EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90})},
      {"progressive", EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"grayscale", EncodeAs(gray, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90})},
      {"cmyk", ReadFile(TestDataPath("cmyk_64x48.jpg"))}};
  for (const auto& [kind, jpeg] : inputs) {
    SCOPED_TRACE(kind);
    const cv::Mat full = DecodeLikeServer(jpeg);
    Request request = ResizeRequest(jpeg, full.cols / 4, full.rows / 4);
    absl::StatusOr<JobResult> shrunk = RunOnCpu(request);
    absl::StatusOr<JobResult> exact = RunOnCpu(request.DisableShrinkOnLoad());
    ASSERT_TRUE(shrunk.ok()) << shrunk.status();
    ASSERT_TRUE(exact.ok()) << exact.status();
    EXPECT_EQ(shrunk->decode_shrink_factor, 2);
    auto as_mat = [](const JobResult& r) { return RawToMat(r.image, Depth::kU8); };
    EXPECT_GE(Psnr(as_mat(*shrunk), as_mat(*exact)), 35);
  }
}

// The rule in pipeline/plan.cc claims 35 dB at every AREA ratio from 2 to 40 on every test photo: the sweep. Each
// photo is decoded once per factor with the server's decoder; for each ratio the plan picks the factor and binds
// both first steps, which run here on those decodes (the lane would do the same, minus the re-decoding).
TEST(ShrinkOnLoadTest, AreaRatioSweepStaysOver35DbOnEveryPhoto) {
  std::vector<std::string> photos = NaturePhotos();
  photos.push_back(PhotoPath("abstract/Elephants_3840x2160.jpg"));
  std::map<int, double> lowest;  // by factor
  for (const std::string& path : photos) {
    const std::string jpeg = ReadFile(path);
    absl::StatusOr<ImageHeader> header = ReadImageHeader(jpeg);
    ASSERT_TRUE(header.ok()) << header.status();
    std::map<int, cv::Mat> decoded;
    for (const int factor : {1, 2, 4, 8}) {
      const ImageSpec spec = DecodedSpec(*header, DecodeMode::kColor, factor);
      absl::StatusOr<cv::Mat> image = Decode(jpeg, *header, DecodeMode::kColor, spec, factor);
      ASSERT_TRUE(image.ok()) << image.status();
      decoded[factor] = *image;
    }
    for (double ratio = 2; ratio <= 40; ratio += 0.5) {
      const Request request = ResizeRequest(jpeg, static_cast<int>(std::lround(header->width / ratio)),
                                            static_cast<int>(std::lround(header->height / ratio)))
                                  .IgnoreExifOrientation();
      absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
      ASSERT_TRUE(plan.ok()) << plan.status();
      if (!plan->shrink_on_load) continue;
      cv::Mat full, shrunk;
      ASSERT_TRUE(plan->steps[0].RunCpu(0, decoded[1], full).ok());
      ASSERT_TRUE(plan->shrink_on_load->first_step.RunCpu(0, decoded[plan->shrink_on_load->factor], shrunk).ok());
      const double psnr = Psnr(shrunk, full);
      EXPECT_GE(psnr, 35) << path << " at 1/" << ratio << " (decoded at 1/" << plan->shrink_on_load->factor << ")";
      double& low = lowest.try_emplace(plan->shrink_on_load->factor, 1e9).first->second;
      low = std::min(low, psnr);
    }
  }
  for (const auto& [factor, psnr] : lowest) {
    std::printf("AREA ratios 2-40, decoded at 1/%d: lowest %.2f dB over %zu photos\n", factor, psnr, photos.size());
  }
  EXPECT_EQ(lowest.size(), 3u) << "every factor should occur over these ratios";
}

// A shrunk decode of corrupt data fails its request as the full decode does.
TEST(ShrinkOnLoadTest, CorruptDataIsInvalidArgument) {
  for (const char* extension : {".jpg", ".webp"}) {
    std::string bytes = EncodeAs(GeneratedImage(kWidth, kHeight), extension);
    bytes.resize(bytes.size() / 3);
    absl::StatusOr<JobResult> result = RunOnCpu(ResizeRequest(bytes, 126, 95));
    if (result.ok()) {
      EXPECT_EQ(result->image.spec.width, 126) << extension << ": libjpeg fills a truncated scan with grey";
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << extension << ": " << result.status();
    }
  }
}

}  // namespace
}  // namespace imgproc::testing
