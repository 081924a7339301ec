// Every operation, run through validation, the plan and a CPU lane, against OpenCV called directly on the
// same decoded photo. Tolerance is stated per case (0 unless the reference computes differently).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "backend/cpu/cpu_backend.h"
#include "common/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

absl::StatusOr<JobResult> RunOnCpu(const pb::ProcessRequest& request) {
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request.image();
  return CpuLaneFactory()(0)->Run(job);
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
