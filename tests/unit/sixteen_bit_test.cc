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
#include "imgproc_testing/heif_images.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

namespace imgproc::testing {
namespace {

// Hundreds of stripes on the 320x200 test images, as ops_test cuts them: every kind of stripe edge is met.
constexpr double kSmallStripeWork = 1e5;

absl::StatusOr<JobResult> RunOnCpu(const pb::ProcessRequest& request, double stripe_work = 0) {
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request.image();
  return stripe_work > 0 ? MakeCpuLane(stripe_work, 0)->Run(job) : MakeCpuLane()->Run(job);
}

pb::ProcessRequest RawRequest(const std::string& image, pb::SampleDepth depth, pb::Dtype dtype) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.set_decode_depth(depth);
  request.mutable_output()->mutable_raw()->set_dtype(dtype);
  return request;
}

cv::Mat Answer(const JobResult& result, pb::Dtype dtype) {
  const EncodedImage& out = result.image;
  return RawToMat(out.bytes, out.spec.width, out.spec.height, out.spec.channels, dtype);
}

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
    for (pb::DecodeMode mode : {pb::DECODE_MODE_COLOR, pb::DECODE_MODE_GRAYSCALE}) {
      pb::ProcessRequest eight = RawRequest(jpeg, pb::SAMPLE_DEPTH_8, pb::DTYPE_UINT8);
      pb::ProcessRequest sixteen = RawRequest(jpeg, pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
      eight.set_decode_mode(mode);
      sixteen.set_decode_mode(mode);
      absl::StatusOr<JobResult> a = RunOnCpu(eight), b = RunOnCpu(sixteen);
      ASSERT_TRUE(a.ok() && b.ok()) << photos[i] << ": " << a.status() << " / " << b.status();
      EXPECT_EQ(b->image.spec.depth, Depth::kU16);
      cv::Mat expected;
      Answer(*a, pb::DTYPE_UINT8).convertTo(expected, CV_16U, 257.0);
      const PixelDiff diff = Compare(Answer(*b, pb::DTYPE_UINT16), expected);
      EXPECT_EQ(diff.max_abs, 0) << photos[i] << " mode " << mode << ": " << diff.Describe();
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
         {std::pair{photo, pb::DECODE_MODE_COLOR}, std::pair{photo, pb::DECODE_MODE_UNCHANGED},
          std::pair{gray, pb::DECODE_MODE_GRAYSCALE}, std::pair{gray, pb::DECODE_MODE_UNCHANGED}}) {
      pb::ProcessRequest request = RawRequest(EncodeAs(image, extension), pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
      request.set_decode_mode(mode);
      absl::StatusOr<JobResult> result = RunOnCpu(request);
      ASSERT_TRUE(result.ok()) << extension << ": " << result.status();
      const PixelDiff diff = Compare(Answer(*result, pb::DTYPE_UINT16), image);
      EXPECT_EQ(diff.max_abs, 0) << extension << " mode " << mode << ": " << diff.Describe();
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
    absl::StatusOr<JobResult> a = RunOnCpu(RawRequest(file, pb::SAMPLE_DEPTH_8, pb::DTYPE_UINT8));
    absl::StatusOr<JobResult> b = RunOnCpu(RawRequest(file, pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16));
    ASSERT_TRUE(a.ok() && b.ok()) << a.status() << " / " << b.status();
    const cv::Mat sixteen = Answer(*b, pb::DTYPE_UINT16);
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
    const cv::Mat eight = Answer(*a, pb::DTYPE_UINT8);
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
    std::function<void(pb::Operation*)> op;
    std::function<cv::Mat(const cv::Mat&)> reference;
  };
  const std::vector<Case> cases = {
      {"resize linear 0.7",
       [](pb::Operation* op) {
         op->mutable_resize()->set_width(224);
         op->mutable_resize()->set_height(140);
       },
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(224, 140), 0, 0, cv::INTER_LINEAR);
         return out;
       }},
      {"resize area 1/3",
       [](pb::Operation* op) {
         op->mutable_resize()->set_width(107);
         op->mutable_resize()->set_height(67);
         op->mutable_resize()->set_interpolation(pb::INTERPOLATION_AREA);
       },
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(107, 67), 0, 0, cv::INTER_AREA);
         return out;
       }},
      {"resize cubic 1.5x",
       [](pb::Operation* op) {
         op->mutable_resize()->set_width(480);
         op->mutable_resize()->set_height(300);
         op->mutable_resize()->set_interpolation(pb::INTERPOLATION_CUBIC);
       },
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::resize(in, out, cv::Size(480, 300), 0, 0, cv::INTER_CUBIC);
         return out;
       }},
      {"gaussian 5x5 sigma 1.5",
       [](pb::Operation* op) {
         op->mutable_gaussian_blur()->set_kernel_width(5);
         op->mutable_gaussian_blur()->set_sigma_x(1.5);
       },
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::GaussianBlur(in, out, cv::Size(5, 5), 1.5);
         return out;
       }},
      {"gaussian sigma 4 (kernel from sigma)", [](pb::Operation* op) { op->mutable_gaussian_blur()->set_sigma_x(4); },
       [](const cv::Mat& in) {
         cv::Mat out;
         cv::GaussianBlur(in, out, cv::Size(0, 0), 4);
         return out;
       }},
  };
  for (const Case& c : cases) {
    pb::ProcessRequest request = RawRequest(png, pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
    request.set_disable_shrink_on_load(true);
    c.op(request.add_operations());
    for (double stripe_work : {kSmallStripeWork, 0.0}) {
      absl::StatusOr<JobResult> result = RunOnCpu(request, stripe_work);
      ASSERT_TRUE(result.ok()) << c.label << ": " << result.status();
      const PixelDiff diff = Compare(Answer(*result, pb::DTYPE_UINT16), c.reference(photo));
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
  pb::ProcessRequest request = imgproc::testing::RawRequest(EncodeAs(input, ".png"), c, pb::DTYPE_UINT16);
  request.set_decode_depth(pb::SAMPLE_DEPTH_16);
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) {
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(plan.status().message().find("operations["), std::string::npos) << plan.status();
    EXPECT_NE(plan.status().message().find("uint16"), std::string::npos) << plan.status();
    return;
  }
  const cv::Mat expected = c.reference(input);
  const pb::Dtype dtype = expected.depth() == CV_32F ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT16;
  request.mutable_output()->mutable_raw()->set_dtype(dtype);
  absl::StatusOr<JobResult> result = RunOnCpu(request, kSmallStripeWork);
  ASSERT_TRUE(result.ok()) << c.name << ": " << result.status();
  const PixelDiff diff = Compare(Answer(*result, dtype), expected);
  EXPECT_TRUE(diff.same_shape) << c.name;
  EXPECT_LE(diff.max_abs, c.max_abs_diff * (dtype == pb::DTYPE_UINT16 ? 257 : 1)) << c.name << ": " << diff.Describe();
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
  pb::ProcessRequest eight = RawRequest(jpeg, pb::SAMPLE_DEPTH_8, pb::DTYPE_FLOAT32);
  pb::ProcessRequest sixteen = RawRequest(jpeg, pb::SAMPLE_DEPTH_16, pb::DTYPE_FLOAT32);
  for (pb::ProcessRequest* r : {&eight, &sixteen}) {
    pb::Normalize* n = r->add_operations()->mutable_normalize();
    n->add_mean(0.5);
    n->add_std(0.25);
  }
  absl::StatusOr<JobResult> a = RunOnCpu(eight), b = RunOnCpu(sixteen);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << " / " << b.status();
  // v / 255 and (v * 257) / 65535 are the same number; float rounding apart.
  EXPECT_LE(Compare(Answer(*a, pb::DTYPE_FLOAT32), Answer(*b, pb::DTYPE_FLOAT32)).max_abs, 1e-5);
}

TEST(SixteenBitOperationsTest, GammaOnUint16Is65535TimesThePower) {
  const cv::Mat photo = Photo16(2, 64, 40);
  pb::ProcessRequest request = RawRequest(EncodeAs(photo, ".png"), pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
  request.add_operations()->mutable_gamma()->set_gamma(0.45);
  absl::StatusOr<JobResult> result = RunOnCpu(request, kSmallStripeWork);
  ASSERT_TRUE(result.ok()) << result.status();
  cv::Mat expected(photo.size(), photo.type());
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols * 3; ++x) {
      expected.ptr<uint16_t>(y)[x] =
          cv::saturate_cast<uint16_t>(65535.0 * std::pow(photo.ptr<uint16_t>(y)[x] / 65535.0, 0.45));
    }
  }
  EXPECT_EQ(Compare(Answer(*result, pb::DTYPE_UINT16), expected).max_abs, 0);
}

TEST(SixteenBitOperationsTest, OperationsWithoutUint16AreRefusedNamingTheStep) {
  const std::string png = EncodeAs(Photo16(0, 64, 40), ".png");
  struct Case {
    std::function<void(pb::ProcessRequest&)> add;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](pb::ProcessRequest& r) { r.add_operations()->mutable_equalize_hist(); },
       "operations[1].equalize_hist: takes uint8 pixels (input is 64x40x1 uint16)"},
      {[](pb::ProcessRequest& r) { r.add_operations()->mutable_canny()->set_threshold2(10); },
       "operations[1].canny: takes uint8 pixels (input is 64x40x1 uint16)"},
      {[](pb::ProcessRequest& r) { r.add_operations()->mutable_bilateral_filter()->set_diameter(5); },
       "operations[1].bilateral_filter: takes uint8 or float32 pixels (input is 64x40x1 uint16)"},
      {[](pb::ProcessRequest& r) { r.add_operations()->mutable_median_blur()->set_kernel_size(7); },
       "operations[1].median_blur.kernel_size: over 5 needs uint8 pixels (the input is uint16"},
  };
  for (const Case& c : cases) {
    pb::ProcessRequest request = RawRequest(png, pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
    request.add_operations()->mutable_cvt_color()->set_conversion(pb::CvtColor::CONVERSION_BGR2GRAY);
    c.add(request);
    absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(c.message), std::string::npos) << plan.status();
  }
  pb::ProcessRequest hsv = RawRequest(png, pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
  hsv.add_operations()->mutable_cvt_color()->set_conversion(pb::CvtColor::CONVERSION_BGR2HSV);
  absl::StatusOr<Plan> plan = BuildPlan(hsv, ImageLimits{});
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
  pb::ProcessRequest request = RawRequest(PngWithProfile(pixels, adobe->bytes), pb::SAMPLE_DEPTH_16, pb::DTYPE_UINT16);
  absl::StatusOr<JobResult> result = RunOnCpu(request);
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
  const cv::Mat answer = Answer(*result, pb::DTYPE_UINT16);
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
