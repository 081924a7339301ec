// warp_affine, warp_perspective and rotate by other angles run in stripes of output rows (ops/geometry.cc,
// WarpStripes): cut into many small stripes, each must give the bytes of cv::warpAffine / cv::warpPerspective on
// the whole image, for every interpolation and border the operations accept, 1, 3 and 4 channels, uint8 and
// float32, and outputs of several shapes (OpenCV's warps work in blocks whose width depends on the output's).
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"

namespace imgproc::testing {
namespace {

// Stripes of one to twenty output rows, by layout and interpolation (ForEachStripe sizes them from the work).
constexpr double kTinyStripeWork = 2e3;

struct Layout {
  const char* name;
  std::vector<std::string> prefix;  // operations that make the warp's input from the decoded BGR photo
};

const Layout kLayouts[] = {
    {"bgr_uint8", {}},
    {"gray_uint8", {"cvt_color { conversion: CONVERSION_BGR2GRAY }"}},
    {"bgra_uint8", {"cvt_color { conversion: CONVERSION_BGR2BGRA }"}},
    {"bgr_float32", {"normalize {}"}},
    {"gray_float32", {"cvt_color { conversion: CONVERSION_BGR2GRAY }", "normalize {}"}},
    {"bgra_float32", {"cvt_color { conversion: CONVERSION_BGR2BGRA }", "normalize {}"}},
};

struct Border {
  const char* name;
  int code;
};
const Border kBorders[] = {{"BORDER_MODE_REFLECT_101", cv::BORDER_REFLECT_101},
                           {"BORDER_MODE_CONSTANT", cv::BORDER_CONSTANT},
                           {"BORDER_MODE_REPLICATE", cv::BORDER_REPLICATE},
                           {"BORDER_MODE_REFLECT", cv::BORDER_REFLECT},
                           {"BORDER_MODE_WRAP", cv::BORDER_WRAP}};

struct Interpolation {
  const char* name;
  int code;
};
const Interpolation kInterpolations[] = {{"INTERPOLATION_LINEAR", cv::INTER_LINEAR},
                                         {"INTERPOLATION_NEAREST", cv::INTER_NEAREST},
                                         {"INTERPOLATION_CUBIC", cv::INTER_CUBIC}};

// Forward matrices (source to destination) and output sizes: parts of the output map outside the source, so
// that the border is read; a wide, low output (OpenCV's blocks are then wider than 128 columns) and a narrow one.
struct Geometry {
  std::vector<double> matrix;
  cv::Size size;
};

std::vector<Geometry> AffineGeometries() {
  cv::Mat rotation = cv::getRotationMatrix2D({150.5f, 120.25f}, 17.3, 1.31);
  rotation.at<double>(0, 2) += 21.7;
  std::vector<double> rotate(rotation.begin<double>(), rotation.end<double>());
  return {{rotate, {333, 251}},
          {{0.45, 0.2, 30.3, -0.15, 0.55, 40.1}, {701, 19}},
          {{2.7, -0.31, -80.2, 0.12, 1.9, -33.3}, {97, 260}}};
}

std::vector<Geometry> PerspectiveGeometries() {
  return {{{0.9, 0.2, 10.5, -0.1, 1.1, 5.25, 0.0008, -0.0005, 1}, {333, 251}},
          {{1.4, -0.35, 3.1, 0.22, 0.8, -12.7, -0.0011, 0.0021, 0.97}, {701, 19}},
          {{0.6, 0.05, 60, -0.03, 0.7, 20, 0.0004, 0.0009, 1.2}, {97, 260}}};
}

std::string Values(const std::vector<double>& values) {
  std::string text;
  char number[32];
  for (const double v : values) {
    std::snprintf(number, sizeof number, "%.17g", v);  // every bit of the reference's matrix
    text += std::string("matrix: ") + number + " ";
  }
  return text;
}

pb::ProcessRequest Request(const std::string& image, const std::vector<std::string>& chain, pb::Dtype dtype) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.set_disable_shrink_on_load(true);
  for (const std::string& text : chain) {
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, request.add_operations())) << text;
  }
  request.mutable_output()->mutable_raw()->set_dtype(dtype);
  return request;
}

absl::StatusOr<cv::Mat> RunOnCpu(const pb::ProcessRequest& request, double stripe_work) {
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request.image();
  absl::StatusOr<JobResult> result = MakeCpuLane(stripe_work, 0)->Run(job);
  if (!result.ok()) return result.status();
  const auto& out = result->image;
  return RawToMat(out.bytes, out.spec.width, out.spec.height, out.spec.channels, request.output().raw().dtype())
      .clone();
}

// A part of a real photo, losslessly encoded: the warp reads its detail, and decoding it is exact.
const std::string& Photo() {
  static const std::string* png = [] {
    const cv::Mat photo = DecodeLikeServer(ReadFile(PhotoPath("nature/Dune.jpg")));
    return new std::string(EncodeAs(photo(cv::Rect(photo.cols / 3, photo.rows / 3, 300, 240)).clone(), ".png"));
  }();
  return *png;
}

struct WarpCase {
  std::string name;
  bool perspective;
  Interpolation interpolation;
  Border border;
};

class WarpStripesTest : public ::testing::TestWithParam<WarpCase> {};

TEST_P(WarpStripesTest, InManyStripesIsBitExactAgainstTheWholeImageWarp) {
  const WarpCase& c = GetParam();
  for (const Layout& layout : kLayouts) {
    const bool is_float = std::string(layout.name).find("float") != std::string::npos;
    const pb::Dtype dtype = is_float ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT8;
    // The warp's input as the service makes it.
    absl::StatusOr<cv::Mat> input = layout.prefix.empty() ? absl::StatusOr<cv::Mat>(DecodeLikeServer(Photo()))
                                                          : RunOnCpu(Request(Photo(), layout.prefix, dtype), 1e12);
    ASSERT_TRUE(input.ok()) << input.status();
    const double border_value = is_float ? 0.3 : 77;
    for (const Geometry& g : c.perspective ? PerspectiveGeometries() : AffineGeometries()) {
      std::vector<std::string> chain = layout.prefix;
      chain.push_back(std::string(c.perspective ? "warp_perspective" : "warp_affine") + " { " + Values(g.matrix) +
                      "width: " + std::to_string(g.size.width) + " height: " + std::to_string(g.size.height) +
                      " interpolation: " + c.interpolation.name + " border: " + c.border.name +
                      " border_value: " + std::to_string(border_value) + " }");
      const cv::Mat matrix = cv::Mat(g.matrix, true).reshape(1, c.perspective ? 3 : 2);
      cv::Mat expected;
      if (c.perspective) {
        cv::warpPerspective(*input, expected, matrix, g.size, c.interpolation.code, c.border.code,
                            cv::Scalar::all(border_value));
      } else {
        cv::warpAffine(*input, expected, matrix, g.size, c.interpolation.code, c.border.code,
                       cv::Scalar::all(border_value));
      }
      for (const double stripe_work : {kTinyStripeWork, 1e12}) {
        absl::StatusOr<cv::Mat> actual = RunOnCpu(Request(Photo(), chain, dtype), stripe_work);
        ASSERT_TRUE(actual.ok()) << actual.status();
        const PixelDiff diff = Compare(*actual, expected);
        ASSERT_TRUE(diff.same_shape) << layout.name << " " << g.size;
        EXPECT_EQ(diff.max_abs, 0) << layout.name << ", " << g.size << " output, stripe work " << stripe_work << ": "
                                   << diff.Describe();
      }
    }
  }
}

std::vector<WarpCase> WarpCases() {
  std::vector<WarpCase> cases;
  for (const bool perspective : {false, true}) {
    for (const Interpolation& interpolation : kInterpolations) {
      for (const Border& border : kBorders) {
        cases.push_back({std::string(perspective ? "perspective_" : "affine_") + interpolation.name + "_" + border.name,
                         perspective, interpolation, border});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllModes, WarpStripesTest, ::testing::ValuesIn(WarpCases()),
                         [](const auto& info) { return info.param.name; });

// rotate by an angle that is no quarter turn is a warp_affine of getRotationMatrix2D's matrix: in stripes too.
TEST(WarpStripesTest, RotateByAnyAngleInManyStripesIsBitExact) {
  const cv::Mat input = DecodeLikeServer(Photo());
  for (const Interpolation& interpolation : kInterpolations) {
    const cv::Point2f center((input.cols - 1) / 2.0f, (input.rows - 1) / 2.0f);
    cv::Mat expected;
    cv::warpAffine(input, expected, cv::getRotationMatrix2D(center, 33.5, 1.0), input.size(), interpolation.code,
                   cv::BORDER_REFLECT);
    absl::StatusOr<cv::Mat> actual =
        RunOnCpu(Request(Photo(),
                         {std::string("rotate { angle: 33.5 border: BORDER_MODE_REFLECT interpolation: ") +
                          interpolation.name + " }"},
                         pb::DTYPE_UINT8),
                 kTinyStripeWork);
    ASSERT_TRUE(actual.ok()) << actual.status();
    const PixelDiff diff = Compare(*actual, expected);
    ASSERT_TRUE(diff.same_shape);
    EXPECT_EQ(diff.max_abs, 0) << interpolation.name << ": " << diff.Describe();
  }
}

}  // namespace
}  // namespace imgproc::testing
