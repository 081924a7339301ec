// warp_affine, warp_perspective and rotate by other angles run in stripes of output rows (ops/geometry.cc,
// WarpStripes): cut into many small stripes, each must give the bytes of cv::warpAffine / cv::warpPerspective on
// the whole image, for every interpolation and border the operations accept, 1, 3 and 4 channels, uint8 and
// float32, and outputs of several shapes (OpenCV's warps work in blocks whose width depends on the output's).
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// Stripes of one to twenty output rows, by layout and interpolation (ForEachStripe sizes them from the work).
constexpr double kTinyStripeWork = 2e3;

struct Layout {
  const char* name;
  std::vector<OpSpec> prefix;  // operations that make the warp's input from the decoded BGR photo
};

const Layout kLayouts[] = {
    {"bgr_uint8", {}},
    {"gray_uint8", {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}})}},
    {"bgra_uint8", {Op("cvt_color", {{"conversion", "CONVERSION_BGR2BGRA"}})}},
    {"bgr_float32", {Op("normalize")}},
    {"gray_float32", {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}), Op("normalize")}},
    {"bgra_float32", {Op("cvt_color", {{"conversion", "CONVERSION_BGR2BGRA"}}), Op("normalize")}},
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

Request ChainRequest(const std::string& image, const std::vector<OpSpec>& chain, Depth dtype) {
  Request request(image);
  request.DisableShrinkOnLoad();
  for (const OpSpec& op : chain) request.Then(op);
  return request.Raw(dtype);
}

absl::StatusOr<cv::Mat> RunOnCpu(const ImageRequest& request, double stripe_work) {
  absl::StatusOr<JobResult> result = RunPlanOn(*MakeCpuLane(stripe_work, 0), request);
  if (!result.ok()) return result.status();
  return RawToMat(result->image, request.output.raw_depth).clone();
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
    const Depth dtype = is_float ? Depth::kF32 : Depth::kU8;
    // The warp's input as the service makes it.
    absl::StatusOr<cv::Mat> input = layout.prefix.empty() ? absl::StatusOr<cv::Mat>(DecodeLikeServer(Photo()))
                                                          : RunOnCpu(ChainRequest(Photo(), layout.prefix, dtype), 1e12);
    ASSERT_TRUE(input.ok()) << input.status();
    const double border_value = is_float ? 0.3 : 77;
    for (const Geometry& g : c.perspective ? PerspectiveGeometries() : AffineGeometries()) {
      std::vector<OpSpec> chain = layout.prefix;
      chain.push_back(Op(c.perspective ? "warp_perspective" : "warp_affine", {{"matrix", g.matrix},
                                                                              {"width", g.size.width},
                                                                              {"height", g.size.height},
                                                                              {"interpolation", c.interpolation.name},
                                                                              {"border", c.border.name},
                                                                              {"border_value", {border_value}}}));
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
        absl::StatusOr<cv::Mat> actual = RunOnCpu(ChainRequest(Photo(), chain, dtype), stripe_work);
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
    absl::StatusOr<cv::Mat> actual = RunOnCpu(
        ChainRequest(
            Photo(),
            {Op("rotate", {{"angle", 33.5}, {"border", "BORDER_MODE_REFLECT"}, {"interpolation", interpolation.name}})},
            Depth::kU8),
        kTinyStripeWork);
    ASSERT_TRUE(actual.ok()) << actual.status();
    const PixelDiff diff = Compare(*actual, expected);
    ASSERT_TRUE(diff.same_shape);
    EXPECT_EQ(diff.max_abs, 0) << interpolation.name << ": " << diff.Describe();
  }
}

}  // namespace
}  // namespace imgproc::testing
