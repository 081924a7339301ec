// 16-bit images (issue 30, item 3) through the plan and a CPU lane: the 16-bit decode of 8-bit sources is the 8-bit
// decode times 257, 10-bit HEIC/AVIF keep their extra bits, the operations that take uint16 give OpenCV's own
// 16-bit results (cut into many stripes), colour profiles convert at 16 bits as lcms2 does, and the plan refuses an
// operation without 16-bit support naming the step.
#include <gtest/gtest.h>
#include <lcms2.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/color_images.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/heif_images.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// Hundreds of stripes on the 320x200 test images, as ops_test cuts them: every kind of stripe edge is met.
constexpr double kSmallStripeWork = 1e5;

absl::StatusOr<JobResult> RunOnCpu(const ImageRequest& request, double stripe_work = 0) {
  return RunPlanOn(stripe_work > 0 ? *MakeCpuLane(stripe_work, 0) : *MakeCpuLane(), request);
}

// A request for a raw answer of `dtype`, decoded at `depth` bits.
Request RawRequest(const std::string& image, Depth depth, Depth dtype) {
  return Request(image).DecodeDepth(depth).Raw(dtype);
}

cv::Mat Answer(const JobResult& result, Depth dtype) { return RawToMat(result.image, dtype); }

// A photo at 16 bits whose low byte matters: v * 256 plus a pattern in the low byte (at most 65535).
cv::Mat Photo16(int index, int width = 320, int height = 200) {
  const cv::Mat photo = ColorTestPhoto(index, width, height);
  cv::Mat out(photo.size(), CV_16UC3);
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        out.at<cv::Vec3w>(y, x)[c] =
            static_cast<uint16_t>(photo.at<cv::Vec3b>(y, x)[c] * 256 + ((x * 3 + y * 5 + c * 11) & 255));
      }
    }
  }
  return out;
}

TEST(SixteenBitDecodeTest, AJpegAt16BitsIsThe8BitDecodeTimes257) {
  const std::vector<std::string> photos = NaturePhotos();
  ASSERT_GE(photos.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string jpeg = ReadFile(photos[i]);
    for (DecodeMode mode : {DecodeMode::kColor, DecodeMode::kGrayscale}) {
      const Request eight = RawRequest(jpeg, Depth::kU8, Depth::kU8).Decode(mode);
      const Request sixteen = RawRequest(jpeg, Depth::kU16, Depth::kU16).Decode(mode);
      absl::StatusOr<JobResult> a = RunOnCpu(eight), b = RunOnCpu(sixteen);
      ASSERT_TRUE(a.ok() && b.ok()) << photos[i] << ": " << a.status() << " / " << b.status();
      EXPECT_EQ(b->image.spec.depth, Depth::kU16);
      cv::Mat expected;
      Answer(*a, Depth::kU8).convertTo(expected, CV_16U, 257.0);
      const PixelDiff diff = Compare(Answer(*b, Depth::kU16), expected);
      EXPECT_EQ(diff.max_abs, 0) << photos[i] << " mode " << static_cast<int>(mode) << ": " << diff.Describe();
    }
  }
}

// In every decode mode: colour, unchanged, and gray (a gray file read GRAYSCALE keeps its values too, where the
// 8-bit decode of a gray 16-bit TIFF takes the high byte).
TEST(SixteenBitDecodeTest, SixteenBitPngAndTiffKeepEveryValue) {
  const cv::Mat photo = Photo16(1);
  cv::Mat gray;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  for (const char* extension : {".png", ".tiff"}) {
    for (const auto& [image, mode] :
         {std::pair{photo, DecodeMode::kColor}, std::pair{photo, DecodeMode::kUnchanged},
          std::pair{gray, DecodeMode::kGrayscale}, std::pair{gray, DecodeMode::kUnchanged}}) {
      absl::StatusOr<JobResult> result =
          RunOnCpu(RawRequest(EncodeAs(image, extension), Depth::kU16, Depth::kU16).Decode(mode));
      ASSERT_TRUE(result.ok()) << extension << ": " << result.status();
      const PixelDiff diff = Compare(Answer(*result, Depth::kU16), image);
      EXPECT_EQ(diff.max_abs, 0) << extension << " mode " << static_cast<int>(mode) << ": " << diff.Describe();
    }
  }
}

// The 8-bit decoders scale 10 bits to 8 their own way (libavif rounds v * 255 / 1023 after a YUV-to-RGB at 8 bits,
// libheif converts at 10 bits and drops 2), the 16-bit decode widens the 10-bit RGB; round(v / 257) of it is within
// 2 levels of the 8-bit decode at every value (measured: 1 at most on these photos), and the mean difference under
// half a level.
TEST(SixteenBitDecodeTest, TenBitHeicAndAvifAt16BitsMatchThe8BitDecode) {
  const cv::Mat photo = ColorTestPhoto(2, 256, 160);
  for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
    const std::string file = EncodeHeif(photo, {codec, 10, 90});
    absl::StatusOr<JobResult> a = RunOnCpu(RawRequest(file, Depth::kU8, Depth::kU8));
    absl::StatusOr<JobResult> b = RunOnCpu(RawRequest(file, Depth::kU16, Depth::kU16));
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << " / " << b.status();
    const cv::Mat sixteen = Answer(*b, Depth::kU16);
    // The 10-bit values are kept: v << 6 | v >> 4 repeats its top 6 bits (15..10) in its low 6.
    int widened = 0, values = 0;
    for (int y = 0; y < sixteen.rows; ++y) {
      for (int x = 0; x < sixteen.cols * 3; ++x, ++values) {
        const uint16_t v = sixteen.ptr<uint16_t>(y)[x];
        widened += (v & 63) == (v >> 10);
      }
    }
    EXPECT_EQ(widened, values) << "every value is a 10-bit value widened";
    cv::Mat reduced;
    sixteen.convertTo(reduced, CV_8U, 1.0 / 257.0);
    const cv::Mat eight = Answer(*a, Depth::kU8);
    const PixelDiff diff = Compare(reduced, eight);
    EXPECT_LE(diff.max_abs, 2) << (codec == HeifCodec::kAv1 ? "avif" : "heic") << ": " << diff.Describe();
    cv::Mat difference;
    cv::absdiff(reduced, eight, difference);
    EXPECT_LT(cv::mean(difference.reshape(1))[0], 0.5) << (codec == HeifCodec::kAv1 ? "avif" : "heic");
  }
}

// The striped 16-bit kernels against OpenCV's own 16-bit calls on the whole image: exact (OpenCV's resize and its
// bit-exact 16-bit Gaussian compute each output value from the same inputs however the image is cut).
TEST(SixteenBitOperationsTest, ResizeAndGaussianBlurGiveOpenCvs16BitResults) {
  const cv::Mat photo = Photo16(3);
  const std::string png = EncodeAs(photo, ".png");
  struct Case {
    std::string label;
    OpSpec op;
    std::function<cv::Mat(const cv::Mat&)> reference;
  };
  const std::vector<Case> cases = {
      {"resize linear 0.7", Op("resize", {{"width", 224}, {"height", 140}}),
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(224, 140), 0, 0, cv::INTER_LINEAR);
         return out;
       }},
      {"resize area 1/3", Op("resize", {{"width", 107}, {"height", 67}, {"interpolation", "INTERPOLATION_AREA"}}),
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(107, 67), 0, 0, cv::INTER_AREA);
         return out;
       }},
      {"resize cubic 1.5x", Op("resize", {{"width", 480}, {"height", 300}, {"interpolation", "INTERPOLATION_CUBIC"}}),
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(480, 300), 0, 0, cv::INTER_CUBIC);
         return out;
       }},
      {"gaussian 5x5 sigma 1.5", Op("gaussian_blur", {{"kernel_width", 5}, {"sigma_x", 1.5}}),
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::GaussianBlur(in, out, cv::Size(5, 5), 1.5);
         return out;
       }},
      {"gaussian sigma 4 (kernel from sigma)", Op("gaussian_blur", {{"sigma_x", 4}}),
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::GaussianBlur(in, out, cv::Size(0, 0), 4);
         return out;
       }},
  };
  for (const Case& c : cases) {
    const Request request = RawRequest(png, Depth::kU16, Depth::kU16).DisableShrinkOnLoad().Then(c.op);
    for (double stripe_work : {kSmallStripeWork, 0.0}) {
      absl::StatusOr<JobResult> result = RunOnCpu(request, stripe_work);
      ASSERT_TRUE(result.ok()) << c.label << ": " << result.status();
      const PixelDiff diff = Compare(Answer(*result, Depth::kU16), c.reference(photo));
      EXPECT_EQ(diff.max_abs, 0) << c.label << (stripe_work > 0 ? " (small stripes)" : "") << ": " << diff.Describe();
    }
  }
}

// Every case of ops_test on a 16-bit PNG, in many small stripes: a step that takes uint16 (OperationInfo.depths,
// and its parameters: HSV/Lab conversions and medians over 5 do not) gives its OpenCV reference applied to the same
// 16-bit pixels, within the 8-bit case's tolerance times 257; the rest are refused by the plan, INVALID_ARGUMENT
// naming the step and uint16. gamma's and normalize's references are 8-bit formulas (a 256-entry table, 1/255):
// their 16-bit forms are checked below.
class SixteenBitCaseTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(SixteenBitCaseTest, MatchesOpenCvOn16BitPixelsOrIsRefusedNamingTheStep) {
  const OpCase& c = GetParam();
  const cv::Mat photo = Photo16(5, 480, 320);
  cv::Mat input = photo;
  if (c.decode == pb::DECODE_MODE_GRAYSCALE) cv::cvtColor(photo, input, cv::COLOR_BGR2GRAY);
  Request request = CaseRequest(EncodeAs(input, ".png"), c, Depth::kU16).DecodeDepth(Depth::kU16);
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) {
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(plan.status().message().find("operations["), std::string::npos) << plan.status();
    EXPECT_NE(plan.status().message().find("uint16"), std::string::npos) << plan.status();
    return;
  }
  const cv::Mat expected = c.reference(input);
  const Depth dtype = expected.depth() == CV_32F ? Depth::kF32 : Depth::kU16;
  request.Raw(dtype);
  absl::StatusOr<JobResult> result = RunOnCpu(request, kSmallStripeWork);
  ASSERT_TRUE(result.ok()) << c.name << ": " << result.status();
  const PixelDiff diff = Compare(Answer(*result, dtype), expected);
  EXPECT_TRUE(diff.same_shape) << c.name;
  EXPECT_LE(diff.max_abs, c.max_abs_diff * (dtype == Depth::kU16 ? 257 : 1)) << c.name << ": " << diff.Describe();
}

std::vector<OpCase> CasesWithDepthFreeReferences() {
  std::vector<OpCase> cases;
  for (OpCase& c : OperationCases()) {
    if (c.name.rfind("gamma", 0) != 0 && c.name.rfind("normalize", 0) != 0) cases.push_back(std::move(c));
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllOperations, SixteenBitCaseTest, ::testing::ValuesIn(CasesWithDepthFreeReferences()),
                         [](const auto& info) { return info.param.name; });

TEST(SixteenBitOperationsTest, NormalizeDividesUint16By65535) {
  const std::string jpeg = EncodeAs(ColorTestPhoto(0, 64, 40), ".png");
  const OpSpec normalize = Op("normalize", {{"mean", {0.5}}, {"std", {0.25}}});
  const Request eight = RawRequest(jpeg, Depth::kU8, Depth::kF32).Then(normalize);
  const Request sixteen = RawRequest(jpeg, Depth::kU16, Depth::kF32).Then(normalize);
  absl::StatusOr<JobResult> a = RunOnCpu(eight), b = RunOnCpu(sixteen);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << " / " << b.status();
  // v / 255 and (v * 257) / 65535 are the same number; float rounding apart.
  EXPECT_LE(Compare(Answer(*a, Depth::kF32), Answer(*b, Depth::kF32)).max_abs, 1e-5);
}

TEST(SixteenBitOperationsTest, GammaOnUint16Is65535TimesThePower) {
  const cv::Mat photo = Photo16(2, 64, 40);
  absl::StatusOr<JobResult> result = RunOnCpu(
      RawRequest(EncodeAs(photo, ".png"), Depth::kU16, Depth::kU16).Then("gamma", {{"gamma", 0.45}}), kSmallStripeWork);
  ASSERT_TRUE(result.ok()) << result.status();
  cv::Mat expected(photo.size(), photo.type());
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols * 3; ++x) {
      expected.ptr<uint16_t>(y)[x] =
          cv::saturate_cast<uint16_t>(65535.0 * std::pow(photo.ptr<uint16_t>(y)[x] / 65535.0, 0.45));
    }
  }
  EXPECT_EQ(Compare(Answer(*result, Depth::kU16), expected).max_abs, 0);
}

TEST(SixteenBitOperationsTest, OperationsWithoutUint16AreRefusedNamingTheStep) {
  const std::string png = EncodeAs(Photo16(0, 64, 40), ".png");
  struct Case {
    OpSpec op;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Op("equalize_hist"), "operations[1].equalize_hist: takes uint8 pixels (input is 64x40x1 uint16)"},
      {Op("canny", {{"threshold2", 10}}), "operations[1].canny: takes uint8 pixels (input is 64x40x1 uint16)"},
      {Op("bilateral_filter", {{"diameter", 5}}),
       "operations[1].bilateral_filter: takes uint8 or float32 pixels (input is 64x40x1 uint16)"},
      {Op("median_blur", {{"kernel_size", 7}}),
       "operations[1].median_blur.kernel_size: over 5 needs uint8 pixels (the input is uint16"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Plan> plan = BuildPlan(
        RawRequest(png, Depth::kU16, Depth::kU16).Then("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}).Then(c.op),
        ImageLimits{});
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(c.message), std::string::npos) << plan.status();
  }
  absl::StatusOr<Plan> plan =
      BuildPlan(RawRequest(png, Depth::kU16, Depth::kU16).Then("cvt_color", {{"conversion", "CONVERSION_BGR2HSV"}}),
                ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("operations[0].cvt_color: CONVERSION_BGR2HSV takes uint8 or float32"),
            std::string::npos)
      << plan.status();
}

// A 16-bit PNG in Adobe RGB converted at 16 bits: the server's answer against lcms2's 16-bit transform of the same
// pixels (perceptual intent, no cache, as color_transform.cc builds it): exact.
TEST(SixteenBitColorTest, AdobeRgbPngConvertsAsLcms2s16BitTransform) {
  const std::vector<TestProfile> profiles = RgbTestProfiles();
  const auto adobe = std::find_if(profiles.begin(), profiles.end(),
                                  [](const TestProfile& p) { return p.name.find("Adobe") != std::string::npos; });
  ASSERT_NE(adobe, profiles.end());
  const cv::Mat pixels = Photo16(4);
  absl::StatusOr<JobResult> result =
      RunOnCpu(RawRequest(PngWithProfile(pixels, adobe->bytes), Depth::kU16, Depth::kU16));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->color.action, ColorAction::kConverted);

  cmsHPROFILE source = cmsOpenProfileFromMem(adobe->bytes.data(), static_cast<cmsUInt32Number>(adobe->bytes.size()));
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHTRANSFORM transform =
      cmsCreateTransform(source, TYPE_BGR_16, srgb, TYPE_BGR_16, INTENT_PERCEPTUAL, cmsFLAGS_NOCACHE);
  ASSERT_NE(transform, nullptr);
  cv::Mat expected(pixels.size(), CV_16UC3);
  for (int y = 0; y < pixels.rows; ++y) cmsDoTransform(transform, pixels.ptr(y), expected.ptr(y), pixels.cols);
  cmsDeleteTransform(transform);
  cmsCloseProfile(srgb);
  cmsCloseProfile(source);
  const cv::Mat answer = Answer(*result, Depth::kU16);
  const PixelDiff diff = Compare(answer, expected);
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
  // And the 16-bit conversion is finer than the 8-bit one: the low byte varies (the 8-bit path would leave v * 257).
  int not_multiples = 0;
  for (int y = 0; y < answer.rows; ++y) {
    for (int x = 0; x < answer.cols * 3; ++x) not_multiples += answer.ptr<uint16_t>(y)[x] % 257 != 0;
  }
  EXPECT_GT(not_multiples, static_cast<int>(answer.total()));
}

}  // namespace
}  // namespace imgproc::testing
