// Every operation, run through validation, the plan and a CPU lane, against OpenCV called directly on the
// same decoded photo. Tolerance is stated per case (0 unless the reference computes differently).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "backend/cpu/cpu_backend.h"
#include "common/test_support.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

namespace imgproc::testing {
namespace {

absl::StatusOr<JobResult> RunOnCpu(const pb::ProcessRequest& request) {
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request.image();
  return MakeCpuLane()->Run(job);
}

class OperationTest : public ::testing::TestWithParam<OpCase> {};

void CheckCase(const OpCase& c, const std::string& image, const std::string& label) {
  const cv::Mat input = DecodeLikeServer(image, c.decode);
  const cv::Mat expected = c.reference(input);
  const pb::DType dtype = expected.depth() == CV_32F ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT8;
  absl::StatusOr<JobResult> result = RunOnCpu(RawRequest(image, c, dtype));
  ASSERT_TRUE(result.ok()) << label << ": " << result.status();
  const auto& out = result->image;
  const cv::Mat actual = RawToMat(out.bytes, out.spec.width, out.spec.height, out.spec.channels, dtype);
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

INSTANTIATE_TEST_SUITE_P(AllOperations, OperationTest, ::testing::ValuesIn(OperationCases()),
                         [](const auto& info) { return info.param.name; });

TEST(OperationCoverage, EveryProtoOperationHasACase) {
  std::set<int> covered;
  for (const OpCase& c : OperationCases()) {
    for (const auto& op : c.chain) covered.insert(op.op_case());
  }
  const auto* oneof = pb::Operation::descriptor()->FindOneofByName("op");
  for (int i = 0; i < oneof->field_count(); ++i) {
    EXPECT_TRUE(covered.count(oneof->field(i)->number())) << "no test case for " << oneof->field(i)->name();
  }
}

TEST(RotateTest, ExpandHoldsTheWholeImage) {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(400, 200), ".png"));
  auto* rotate = request.add_operations()->mutable_rotate();
  rotate->set_angle(45);
  rotate->set_expand(true);
  request.mutable_output()->mutable_png();
  absl::StatusOr<JobResult> result = RunOnCpu(request);
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
    pb::ProcessRequest request;
    request.set_image(jpeg);
    request.mutable_output()->mutable_raw();
    absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->result.width, expected.cols) << "orientation " << orientation;
    EXPECT_EQ(plan->result.height, expected.rows) << "orientation " << orientation;
    absl::StatusOr<JobResult> result = RunOnCpu(request);
    ASSERT_TRUE(result.ok()) << result.status();
    const auto& out = result->image;
    const cv::Mat actual = RawToMat(out.bytes, out.spec.width, out.spec.height, 3, pb::DTYPE_UINT8);
    const PixelDiff diff = Compare(actual, expected);
    EXPECT_TRUE(diff.same_shape) << "orientation " << orientation << ": got " << out.spec.DebugString();
    EXPECT_EQ(diff.max_abs, 0) << "orientation " << orientation << ": " << diff.Describe();

    // Turned off by the request: the pixels as stored.
    request.set_ignore_exif_orientation(true);
    result = RunOnCpu(request);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->image.spec.width, 320);
    EXPECT_EQ(result->image.spec.height, 200);
  }
  // Validation sees the upright size: 200 wide once turned, so a crop 300 wide is refused.
  pb::ProcessRequest crop;
  crop.set_image(WithExifOrientation(stored, 6));
  crop.add_operations()->mutable_crop()->set_width(300);
  absl::StatusOr<Plan> plan = BuildPlan(crop, ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("must be in [1, 200]"), std::string::npos) << plan.status();
}

TEST(ExifOrientationTest, MalformedExifIsIgnoredNotFatal) {
  const std::string stored = EncodeAs(GeneratedImage(64, 48), ".jpg");
  for (int orientation : {0, 9, 255}) {  // out of range: used as stored
    pb::ProcessRequest request;
    request.set_image(WithExifOrientation(stored, orientation));
    absl::StatusOr<JobResult> result = RunOnCpu(request);
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
  pb::ProcessRequest request;
  request.set_image(truncated);
  absl::StatusOr<JobResult> result = RunOnCpu(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->image.spec.width, 64);
}

TEST(OutputTest, JpegOfAnAlphaImageReportsTheThreeChannelsItHolds) {
  pb::ProcessRequest request;
  request.set_image(EncodeAs(GeneratedImage(40, 30, 4), ".png"));
  request.set_decode_mode(pb::DECODE_MODE_UNCHANGED);
  absl::StatusOr<JobResult> result = RunOnCpu(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->image.spec.channels, 3);
  EXPECT_EQ(DecodeLikeServer(result->image.bytes, pb::DECODE_MODE_UNCHANGED).channels(), 3);
}

TEST(OutputTest, RawFloatChwIsPlanar) {
  const cv::Mat image = GeneratedImage(64, 48);
  pb::ProcessRequest request;
  request.set_image(EncodeAs(image, ".png"));
  request.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_FLOAT32);
  request.mutable_output()->mutable_raw()->set_layout(pb::LAYOUT_CHW);
  absl::StatusOr<JobResult> result = RunOnCpu(request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->image.bytes.size(), 64u * 48 * 3 * sizeof(float));
  const float* planes = reinterpret_cast<const float*>(result->image.bytes.data());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(planes[c * 64 * 48 + 5 * 64 + 7], image.at<cv::Vec3b>(5, 7)[c]) << "channel " << c;
  }
}

}  // namespace
}  // namespace imgproc::testing
