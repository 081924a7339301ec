// Every operation, run through validation, the plan and a CPU lane, against OpenCV called directly on the
// same decoded photo. Tolerance is stated per case (0 unless the reference computes differently).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "ops/interruptible_call.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// Work per stripe that cuts the test images into hundreds of stripes (thousands for the filters with kernels
// wide enough to be cut into column tiles too): the striped kernels then meet every kind of stripe edge.
constexpr double kSmallStripeWork = 1e5;

absl::StatusOr<JobResult> RunOnCpu(const ImageRequest& request, double stripe_work = CpuPassContext().stripe_work) {
  // Stripes of the given work, or, at the default, the server's stripes sized by their duration.
  const bool fixed = stripe_work != CpuPassContext().stripe_work;
  return RunPlanOn(*MakeCpuLane(stripe_work, fixed ? 0 : CpuPassContext().stripe_seconds), request);
}

class OperationTest : public ::testing::TestWithParam<OpCase> {};

void CheckCase(const OpCase& c, const std::string& image, const std::string& label,
               double stripe_work = CpuPassContext().stripe_work) {
  const cv::Mat input = DecodeLikeServer(image, c.decode);
  const cv::Mat expected = c.reference(input);
  const Depth depth = expected.depth() == CV_32F ? Depth::kF32 : Depth::kU8;
  absl::StatusOr<JobResult> result = RunOnCpu(CaseRequest(image, c, depth), stripe_work);
  ASSERT_TRUE(result.ok()) << label << ": " << result.status();
  const auto& out = result->image;
  const cv::Mat actual = RawToMat(out, depth);
  const PixelDiff diff = Compare(actual, expected);
  EXPECT_TRUE(diff.same_shape) << label << ": got " << out.spec.DebugString() << ", expected " << expected.cols << "x"
                               << expected.rows << "x" << expected.channels();
  EXPECT_LE(diff.max_abs, c.max_abs_diff) << label << ": " << diff.Describe();
}

TEST_P(OperationTest, MatchesOpenCvOnRealPhotos) {
  for (const char* photo : {"nature/Dune.jpg", "nature/GreenMeadow.jpg"}) {
    CheckCase(GetParam(), ReadFile(PhotoPath(photo)), photo);
  }
}

TEST_P(OperationTest, MatchesOpenCvOnGeneratedPng) {
  CheckCase(GetParam(), EncodeAs(GeneratedImage(321, 243), ".png"), "generated 321x243 png");
}

// The same cases with every pass cut into many small stripes: the same values as OpenCV on the whole image (the
// cases' tolerance is 0 but for normalize, whose reference is computed in double).
TEST_P(OperationTest, InManyStripesMatchesOpenCvOnTheWholeImage) {
  for (const char* photo : {"nature/Dune.jpg", "nature/GreenMeadow.jpg"}) {
    CheckCase(GetParam(), ReadFile(PhotoPath(photo)), std::string(photo) + " in small stripes", kSmallStripeWork);
  }
  CheckCase(GetParam(), EncodeAs(GeneratedImage(321, 243), ".png"), "generated 321x243 png in small stripes",
            kSmallStripeWork);
}

INSTANTIATE_TEST_SUITE_P(AllOperations, OperationTest, ::testing::ValuesIn(OperationCases()),
                         [](const auto& info) { return info.param.name; });

// Stripes' edges where the parameters make them hardest: large kernels (halos wider than a stripe), every border,
// float32 inputs (after normalize), the morphology operations built from several erosions and dilations, each
// in small stripes bit for bit equal to OpenCV on the whole image.
struct StripeCase {
  std::string name;
  std::vector<OpSpec> chain;
  std::function<cv::Mat(const cv::Mat&)> reference;  // of the decoded BGR image
};

// normalize { scale: 1/255 }: what the float32 cases start from, as the service computes it.
cv::Mat AsFloat(const cv::Mat& bgr) {
  cv::Mat f;
  bgr.convertTo(f, CV_32F);
  cv::Mat out;
  cv::transform(f, out, cv::Matx34d(1 / 255.0, 0, 0, 0, 0, 1 / 255.0, 0, 0, 0, 0, 1 / 255.0, 0));
  return out;
}

cv::Mat Gray(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

std::vector<StripeCase> StripeCases() {
  using M = const cv::Mat&;
  const OpSpec to_float = Op("normalize", {{"scale", 0.00392156862745098}});
  std::vector<StripeCase> cases;
  const std::pair<const char*, int> borders[] = {{"BORDER_MODE_REFLECT_101", cv::BORDER_REFLECT_101},
                                                 {"BORDER_MODE_CONSTANT", cv::BORDER_CONSTANT},
                                                 {"BORDER_MODE_REPLICATE", cv::BORDER_REPLICATE},
                                                 {"BORDER_MODE_REFLECT", cv::BORDER_REFLECT}};
  for (const auto& [name, border] : borders) {
    // The operation with this border.
    auto b = [border_name = std::string(name)](OpSpec op) {
      op.args.emplace_back("border", border_name);
      return op;
    };
    const int cv_border = border;
    cases.push_back({std::string("gaussian_61x31_") + name,
                     {b(Op("gaussian_blur", {{"kernel_width", 61}, {"kernel_height", 31}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::GaussianBlur(s, o, {61, 31}, 0, 0, cv_border);
                       return o;
                     }});
    cases.push_back({std::string("gaussian_float_25_") + name,
                     {to_float, b(Op("gaussian_blur", {{"kernel_width", 25}, {"sigma_x", 4}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::GaussianBlur(AsFloat(s), o, {25, 25}, 4, 4, cv_border);
                       return o;
                     }});
    cases.push_back({std::string("box_41x17_") + name,
                     {b(Op("box_filter", {{"kernel_width", 41}, {"kernel_height", 17}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::boxFilter(s, o, -1, {41, 17}, {-1, -1}, true, cv_border);
                       return o;
                     }});
    cases.push_back({std::string("box_float_unnormalized_15_") + name,
                     {to_float, b(Op("box_filter", {{"kernel_width", 15}, {"unnormalized", true}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::boxFilter(AsFloat(s), o, -1, {15, 15}, {-1, -1}, false, cv_border);
                       return o;
                     }});
    cases.push_back({std::string("bilateral_31_") + name,
                     {b(Op("bilateral_filter", {{"diameter", 31}, {"sigma_color", 50}, {"sigma_space", 20}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::bilateralFilter(s, o, 31, 50, 20, cv_border);
                       return o;
                     }});
    cases.push_back({std::string("bilateral_gray_15_") + name,
                     {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}),
                      b(Op("bilateral_filter", {{"diameter", 15}, {"sigma_color", 30}, {"sigma_space", 9}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::bilateralFilter(Gray(s), o, 15, 30, 9, cv_border);
                       return o;
                     }});
    cases.push_back(
        {std::string("bilateral_float_21_") + name,
         {to_float, b(Op("bilateral_filter", {{"diameter", 21}, {"sigma_color", 0.2}, {"sigma_space", 8}}))},
         [=](M s) {
           cv::Mat o;
           cv::bilateralFilter(AsFloat(s), o, 21, 0.2, 8, cv_border);
           return o;
         }});
    // Values in [0.25, 0.75]. Not with a constant border: OpenCV 4.6's float filter then reads past its weight
    // table (0 lies outside the image's range), with undefined results; it crashed a test program.
    if (cv_border != cv::BORDER_CONSTANT)
      cases.push_back({std::string("bilateral_float_positive_") + name,
                       {to_float, Op("brightness_contrast", {{"alpha", 0.5}, {"beta", 0.25}}),
                        b(Op("bilateral_filter", {{"diameter", 9}, {"sigma_color", 0.1}, {"sigma_space", 3}}))},
                       [=](M s) {
                         cv::Mat f, o;
                         AsFloat(s).convertTo(f, -1, 0.5, 0.25);
                         cv::bilateralFilter(f, o, 9, 0.1, 3, cv_border);
                         return o;
                       }});
    cases.push_back({std::string("sobel_float_k7_") + name,
                     {to_float, b(Op("sobel", {{"dx", 2}, {"dy", 1}, {"kernel_size", 7}}))},
                     [=](M s) {
                       cv::Mat o;
                       cv::Sobel(AsFloat(s), o, CV_32F, 2, 1, 7, 1, 0, cv_border);
                       return o;
                     }});
    cases.push_back(
        {std::string("laplacian_k5_") + name, {b(Op("laplacian", {{"kernel_size", 5}, {"delta", 10}}))}, [=](M s) {
           cv::Mat f, o;
           cv::Laplacian(s, f, CV_32F, 5, 1, 10, cv_border);
           cv::convertScaleAbs(f, o);
           return o;
         }});
  }
  for (int k : {3, 5, 31}) {
    cases.push_back({"median_" + std::to_string(k), {Op("median_blur", {{"kernel_size", k}})}, [k](M s) {
                       cv::Mat o;
                       cv::medianBlur(s, o, k);
                       return o;
                     }});
  }
  cases.push_back({"median_float_5", {to_float, Op("median_blur", {{"kernel_size", 5}})}, [](M s) {
                     cv::Mat o;
                     cv::medianBlur(AsFloat(s), o, 5);
                     return o;
                   }});
  struct Morph {
    const char* op;
    int code;
  };
  for (const Morph& m : {Morph{"OP_ERODE", cv::MORPH_ERODE},
                         {"OP_DILATE", cv::MORPH_DILATE},
                         {"OP_OPEN", cv::MORPH_OPEN},
                         {"OP_CLOSE", cv::MORPH_CLOSE},
                         {"OP_GRADIENT", cv::MORPH_GRADIENT},
                         {"OP_TOPHAT", cv::MORPH_TOPHAT},
                         {"OP_BLACKHAT", cv::MORPH_BLACKHAT}}) {
    for (const auto& [shape, cv_shape] :
         {std::pair{"SHAPE_RECT", cv::MORPH_RECT}, {"SHAPE_ELLIPSE", cv::MORPH_ELLIPSE}}) {
      const int code = m.code, element_shape = cv_shape;
      cases.push_back(
          {std::string("morphology_") + m.op + "_" + shape + "_21x9_x3",
           {Op("morphology",
               {{"op", m.op}, {"shape", shape}, {"kernel_width", 21}, {"kernel_height", 9}, {"iterations", 3}})},
           [=](M s) {
             cv::Mat o;
             cv::morphologyEx(s, o, code, cv::getStructuringElement(element_shape, {21, 9}), {-1, -1}, 3);
             return o;
           }});
    }
  }
  cases.push_back({"morphology_float_gradient",
                   {to_float, Op("morphology", {{"op", "OP_GRADIENT"}, {"kernel_width", 7}, {"iterations", 2}})},
                   [](M s) {
                     cv::Mat o;
                     cv::morphologyEx(AsFloat(s), o, cv::MORPH_GRADIENT,
                                      cv::getStructuringElement(cv::MORPH_RECT, {7, 7}), {-1, -1}, 2);
                     return o;
                   }});
  // Past 63 taps: OpenCV's fixed-point arithmetic computed here row by row (ops/gaussian_fixed_point.h).
  cases.push_back({"gaussian_255x101_BORDER_REFLECT_101",
                   {Op("gaussian_blur", {{"kernel_width", 255}, {"kernel_height", 101}})},
                   [](M s) {
                     cv::Mat o;
                     cv::GaussianBlur(s, o, {255, 101}, 0, 0, cv::BORDER_REFLECT_101);
                     return o;
                   }});
  cases.push_back(
      {"gaussian_65x255_BORDER_CONSTANT",
       {Op("gaussian_blur",
           {{"kernel_width", 65}, {"kernel_height", 255}, {"sigma_x", 30}, {"border", "BORDER_MODE_CONSTANT"}})},
       [](M s) {
         cv::Mat o;
         cv::GaussianBlur(s, o, {65, 255}, 30, 0, cv::BORDER_CONSTANT);
         return o;
       }});
  // A constant border (0) outside a float image's values, [0.25, 0.75] here: OpenCV's one call would index past its
  // weight table; the server's weights span the image and the border, as OpenCV's filter does for the image with
  // a row of its extremes and 0 added far from it (radius + 1 rows of zeros between, the border above the image).
  for (const int diameter : {9, 15}) {
    cases.push_back(
        {absl::StrCat("bilateral_float_constant_border_outside_values_d", diameter),
         {to_float, Op("brightness_contrast", {{"alpha", 0.5}, {"beta", 0.25}}),
          Op("bilateral_filter",
             {{"diameter", diameter}, {"sigma_color", 0.1}, {"sigma_space", 5}, {"border", "BORDER_MODE_CONSTANT"}})},
         [=](M s) {
           cv::Mat image;
           AsFloat(s).convertTo(image, -1, 0.5, 0.25);
           const int radius = diameter / 2;
           double lo = 0, hi = 0;
           cv::minMaxLoc(image.reshape(1), &lo, &hi);
           cv::Mat padded(1 + radius + image.rows, image.cols, image.type(), cv::Scalar::all(0));
           padded.row(0).setTo(cv::Scalar::all(std::min(lo, 0.0)));
           padded.ptr<float>(0)[0] = static_cast<float>(std::max(hi, 0.0));
           image.copyTo(padded.rowRange(1 + radius, padded.rows));
           cv::Mat filtered;
           cv::bilateralFilter(padded, filtered, diameter, 0.1, 5, cv::BORDER_CONSTANT);
           return cv::Mat(filtered.rowRange(1 + radius, filtered.rows).clone());
         }});
  }
  // The steps stopped inside OpenCV's loops (ops/interruptible_call.h) rather than cut by their inputs.
  const std::pair<const char*, int> interpolations[] = {{"INTERPOLATION_LINEAR", cv::INTER_LINEAR},
                                                        {"INTERPOLATION_NEAREST", cv::INTER_NEAREST},
                                                        {"INTERPOLATION_CUBIC", cv::INTER_CUBIC},
                                                        {"INTERPOLATION_AREA", cv::INTER_AREA}};
  for (const auto& [name, interpolation] : interpolations) {
    const int cv_interpolation = interpolation;
    for (const cv::Size size : {cv::Size(301, 187), cv::Size(1031, 777), cv::Size(160, 100)}) {
      cases.push_back({absl::StrCat("resize_", size.width, "x", size.height, "_", name),
                       {Op("resize", {{"width", size.width}, {"height", size.height}, {"interpolation", name}})},
                       [=](M s) {
                         cv::Mat o;
                         cv::resize(s, o, size, 0, 0, cv_interpolation);
                         return o;
                       }});
    }
  }
  for (const int aperture : {3, 7}) {
    for (const bool l2 : {false, true}) {
      cases.push_back(
          {absl::StrCat("canny_", aperture, l2 ? "_l2" : "_l1"),
           {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}),
            Op("canny", {{"threshold1", 40}, {"threshold2", 120}, {"aperture_size", aperture}, {"l2_gradient", l2}})},
           [=](M s) {
             cv::Mat gray, o;
             cv::cvtColor(s, gray, cv::COLOR_BGR2GRAY);
             cv::Canny(gray, o, 40, 120, aperture, l2);
             return o;
           }});
    }
  }
  for (const cv::Size grid : {cv::Size(8, 8), cv::Size(13, 5)}) {
    cases.push_back({absl::StrCat("clahe_", grid.width, "x", grid.height),
                     {Op("clahe", {{"clip_limit", 3}, {"tiles_x", grid.width}, {"tiles_y", grid.height}})},
                     [=](M s) {
                       cv::Mat ycrcb, o;
                       cv::cvtColor(s, ycrcb, cv::COLOR_BGR2YCrCb);
                       std::vector<cv::Mat> planes;
                       cv::split(ycrcb, planes);
                       cv::createCLAHE(3, grid)->apply(planes[0], planes[0]);
                       cv::merge(planes, ycrcb);
                       cv::cvtColor(ycrcb, o, cv::COLOR_YCrCb2BGR);
                       return o;
                     }});
  }
  cases.push_back(
      {"equalize_hist_gray", {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}), Op("equalize_hist")}, [](M s) {
         cv::Mat gray, o;
         cv::cvtColor(s, gray, cv::COLOR_BGR2GRAY);
         cv::equalizeHist(gray, o);
         return o;
       }});
  cases.push_back({"threshold_otsu_inv",
                   {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}),
                    Op("threshold", {{"otsu", true}, {"type", "TYPE_BINARY_INV"}})},
                   [](M s) {
                     cv::Mat gray, o;
                     cv::cvtColor(s, gray, cv::COLOR_BGR2GRAY);
                     cv::threshold(gray, o, 0, 255, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
                     return o;
                   }});
  cases.push_back({"crop_inner", {Op("crop", {{"x", 17}, {"y", 9}, {"width", 255}, {"height", 201}})}, [](M s) {
                     return s(cv::Rect(17, 9, 255, 201)).clone();
                   }});
  cases.push_back({"threshold_float",
                   {to_float, Op("threshold", {{"threshold", 0.5}, {"max_value", 0.75}, {"type", "TYPE_BINARY_INV"}})},
                   [](M s) {
                     cv::Mat o;
                     cv::threshold(AsFloat(s), o, 0.5, 0.75, cv::THRESH_BINARY_INV);
                     return o;
                   }});
  cases.push_back({"cvt_color_float_lab", {to_float, Op("cvt_color", {{"conversion", "CONVERSION_BGR2LAB"}})}, [](M s) {
                     cv::Mat o;
                     cv::cvtColor(AsFloat(s), o, cv::COLOR_BGR2Lab);
                     return o;
                   }});
  cases.push_back(
      {"brightness_contrast_float", {to_float, Op("brightness_contrast", {{"alpha", -2.5}, {"beta", 0.3}})}, [](M s) {
         cv::Mat o;
         AsFloat(s).convertTo(o, -1, -2.5, 0.3);
         return o;
       }});
  return cases;
}

class StripeTest : public ::testing::TestWithParam<StripeCase> {};

TEST_P(StripeTest, InManyStripesIsBitExactAgainstOpenCvOnTheWholeImage) {
  const StripeCase& c = GetParam();
  for (const std::string& image :
       {ReadFile(PhotoPath("nature/Dune.jpg")), EncodeAs(GeneratedImage(321, 243), ".png")}) {
    Request request(image);
    request.DisableShrinkOnLoad();
    for (const OpSpec& op : c.chain) request.Then(op);
    const cv::Mat expected = c.reference(DecodeLikeServer(image));
    const Depth depth = expected.depth() == CV_32F ? Depth::kF32 : Depth::kU8;
    request.Raw(depth);
    for (const double stripe_work : {kSmallStripeWork, CpuPassContext().stripe_work}) {
      absl::StatusOr<JobResult> result = RunOnCpu(request, stripe_work);
      ASSERT_TRUE(result.ok()) << result.status();
      const auto& out = result->image;
      const cv::Mat actual = RawToMat(out, depth);
      const PixelDiff diff = Compare(actual, expected);
      ASSERT_TRUE(diff.same_shape) << out.spec.DebugString();
      EXPECT_EQ(diff.max_abs, 0) << expected.cols << "x" << expected.rows << ", stripe work " << stripe_work << ": "
                                 << diff.Describe();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HardStripes, StripeTest, ::testing::ValuesIn(StripeCases()),
                         [](const auto& info) { return info.param.name; });

// A pass stops between its stripes once the lane says so, with the lane's status, after the first stripe.
TEST(StripeTest, APassStopsBetweenStripesWithTheLanesStatus) {
  const cv::Mat image = GeneratedImage(400, 300);
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(EncodeAs(image, ".png"))
                    .Then("bilateral_filter", {{"diameter", 15}, {"sigma_color", 30}, {"sigma_space", 9}})
                    .Raw(),
                ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  int asked = 0;
  CpuPassContext ctx;
  ctx.stripe_work = kSmallStripeWork;
  ctx.stripe_seconds = 0;
  ctx.stop = [&asked] {
    return ++asked < 3 ? absl::OkStatus() : absl::DeadlineExceededError("deadline passed while the request ran");
  };
  cv::Mat out;
  const absl::Status status = plan->steps[0].RunCpu(0, image, out, ctx);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(asked, 3);  // two stripes ran, the third was not started
}

// OpenCV's loops reach this executable's cv::parallel_for_ (ops/interruptible_call.h), on this build's OpenCV.
TEST(InterruptibleCallTest, OpenCvLoopsReachTheHook) { EXPECT_TRUE(OpenCvLoopsAreInterruptible()); }

// Each step stopped inside OpenCV's loops stops there with the lane's status: after its first chunks, not at the
// end of the call. The image is large enough for every loop to be cut into many chunks.
TEST(InterruptibleCallTest, EachOneCallStepStopsInsideWithTheLanesStatus) {
  const std::string photo = ReadFile(PhotoPath("nature/Dune.jpg"));
  const cv::Mat color = DecodeLikeServer(photo);
  cv::Mat gray;
  cv::cvtColor(color, gray, cv::COLOR_BGR2GRAY);
  const std::pair<OpSpec, bool> steps[] = {
      {Op("resize", {{"width", 1700}, {"height", 1100}, {"interpolation", "INTERPOLATION_AREA"}}), false},
      {Op("resize", {{"width", 3000}, {"height", 2000}, {"interpolation", "INTERPOLATION_CUBIC"}}), false},
      {Op("canny", {{"threshold1", 40}, {"threshold2", 120}, {"aperture_size", 7}, {"l2_gradient", true}}), true},
      {Op("clahe", {{"clip_limit", 3}}), true},
      {Op("clahe", {{"clip_limit", 3}}), false},
      {Op("equalize_hist"), true},
      {Op("equalize_hist"), false},
      {Op("threshold", {{"otsu", true}}), true},
      {Op("gaussian_blur", {{"kernel_width", 255}}), false}};
  for (const auto& [op, on_gray] : steps) {
    const std::string text = ToString(op);
    const cv::Mat& input = on_gray ? gray : color;
    Request request(EncodeAs(input, ".png"));
    if (on_gray) request.Decode(DecodeMode::kGrayscale);
    absl::StatusOr<Plan> plan = BuildPlan(request.Then(op).Raw(), ImageLimits{});
    ASSERT_TRUE(plan.ok()) << text << ": " << plan.status();
    int asked = 0;
    CpuPassContext ctx;
    ctx.stripe_work = kSmallStripeWork;
    ctx.stripe_seconds = 0;
    ctx.stop = [&asked] {
      return ++asked < 5 ? absl::OkStatus() : absl::CancelledError("the client cancelled the request");
    };
    cv::Mat out;
    const absl::Status status = plan->steps[0].RunCpu(0, input, out, ctx);
    EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << text << (on_gray ? " (gray)" : "") << ": " << status;
    EXPECT_EQ(asked, 5) << text;  // four chunks or stripes ran, the fifth was not started
  }
}

TEST(OperationCoverage, EveryProtoOperationHasACase) {
  std::set<std::string> covered;
  for (const OpCase& c : OperationCases()) {
    for (const OpSpec& op : c.chain) covered.insert(op.name);
  }
  const auto* oneof = pb::Operation::descriptor()->FindOneofByName("op");
  for (int i = 0; i < oneof->field_count(); ++i) {
    EXPECT_TRUE(covered.count(oneof->field(i)->name())) << "no test case for " << oneof->field(i)->name();
  }
}

TEST(RotateTest, ExpandHoldsTheWholeImage) {
  absl::StatusOr<JobResult> result = RunOnCpu(Request(EncodeAs(GeneratedImage(400, 200), ".png"))
                                                  .Then("rotate", {{"angle", 45}, {"expand", true}})
                                                  .Output(OutputFormat::kPng));
  ASSERT_TRUE(result.ok()) << result.status();
  const double side = (400 + 200) / std::sqrt(2.0);  // w*cos45 + h*sin45
  EXPECT_NEAR(result->image.spec.width, side, 1.0);
  EXPECT_NEAR(result->image.spec.height, side, 1.0);
}

// Each EXIF orientation against OpenCV's imdecode, which applies the tag, and the plan's prediction.
TEST(ExifOrientationTest, EveryTagTurnsThePhotoAsOpenCvDoesAndThePlanPredictsTheSize) {
  const std::string stored = EncodeAs(GeneratedImage(320, 200), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const std::string jpeg = WithExifOrientation(stored, orientation);
    const cv::Mat expected = cv::imdecode(
        cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())), cv::IMREAD_COLOR);
    Request request(jpeg);
    request.Raw();
    absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->result.width, expected.cols) << "orientation " << orientation;
    EXPECT_EQ(plan->result.height, expected.rows) << "orientation " << orientation;
    absl::StatusOr<JobResult> result = RunOnCpu(request);
    ASSERT_TRUE(result.ok()) << result.status();
    const auto& out = result->image;
    const cv::Mat actual = RawToMat(out, Depth::kU8);
    const PixelDiff diff = Compare(actual, expected);
    EXPECT_TRUE(diff.same_shape) << "orientation " << orientation << ": got " << out.spec.DebugString();
    EXPECT_EQ(diff.max_abs, 0) << "orientation " << orientation << ": " << diff.Describe();

    // Turned off by the request: the pixels as stored.
    request.IgnoreExifOrientation();
    result = RunOnCpu(request);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->image.spec.width, 320);
    EXPECT_EQ(result->image.spec.height, 200);
  }
  // Validation sees the upright size: 200 wide once turned, so a crop 300 wide is refused.
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(WithExifOrientation(stored, 6)).Then("crop", {{"width", 300}}), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("must be in [1, 200]"), std::string::npos) << plan.status();
}

TEST(ExifOrientationTest, MalformedExifIsIgnoredNotFatal) {
  const std::string stored = EncodeAs(GeneratedImage(64, 48), ".jpg");
  for (int orientation : {0, 9, 255}) {  // out of range: used as stored
    absl::StatusOr<JobResult> result = RunOnCpu(Request(WithExifOrientation(stored, orientation)));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->image.spec.width, 64);
  }
  // An APP1 segment that says Exif but is cut short.
  std::string truncated = stored.substr(0, 2) +
                          std::string(
                              "\xFF\xE1\x00\x0A"
                              "Exif\0\0MM",
                              12) +
                          stored.substr(2);
  absl::StatusOr<JobResult> result = RunOnCpu(Request(truncated));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->image.spec.width, 64);
}

TEST(OutputTest, JpegOfAnAlphaImageReportsTheThreeChannelsItHolds) {
  absl::StatusOr<JobResult> result =
      RunOnCpu(Request(EncodeAs(GeneratedImage(40, 30, 4), ".png")).Decode(DecodeMode::kUnchanged));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->image.spec.channels, 3);
  EXPECT_EQ(DecodeLikeServer(result->image.bytes, DecodeMode::kUnchanged).channels(), 3);
}

TEST(OutputTest, RawFloatChwIsPlanar) {
  const cv::Mat image = GeneratedImage(64, 48);
  absl::StatusOr<JobResult> result = RunOnCpu(Request(EncodeAs(image, ".png")).Raw(Depth::kF32, Layout::kChw));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->image.bytes.size(), 64u * 48 * 3 * sizeof(float));
  const float* planes = reinterpret_cast<const float*>(result->image.bytes.data());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(planes[c * 64 * 48 + 5 * 64 + 7], image.at<cv::Vec3b>(5, 7)[c]) << "channel " << c;
  }
}

// float16 for models that take it: the float32 answer rounded to half precision, value for value (the photo's
// normalized values are all well inside float16's range), in both layouts.
TEST(OutputTest, RawFloat16IsTheFloat32AnswerInHalfPrecision) {
  const std::string photo = ReadFile(PhotoPath("nature/Garden.jpg"));
  const OpSpec normalize = Op("normalize", {{"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}}});
  const OpSpec resize = Op("resize", {{"width", 224}, {"height", 224}});
  for (Layout layout : {Layout::kHwc, Layout::kChw}) {
    absl::StatusOr<JobResult> full = RunOnCpu(Request(photo).Then(resize).Then(normalize).Raw(Depth::kF32, layout));
    absl::StatusOr<JobResult> half = RunOnCpu(Request(photo).Then(resize).Then(normalize).Raw(Depth::kF16, layout));
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_TRUE(half.ok()) << half.status();
    EXPECT_EQ(half->image.spec, (ImageSpec{224, 224, 3, Depth::kF16}));
    ASSERT_EQ(half->image.bytes.size(), full->image.bytes.size() / 2);
    EXPECT_TRUE(half->image.bytes == HalfPrecisionOf(full->image.bytes)) << (layout == Layout::kChw ? "CHW" : "HWC");
  }
}

}  // namespace
}  // namespace imgproc::testing
