// The colour conversion the CUDA backend runs on the device (issue 29 item 3), on the CPU: ColorDeviceForm::ApplyOnCpu
// runs the kernel's own arithmetic (codec/color_device_math.h, the same functions the .cu calls, both compiled
// without multiply-add contraction) on the same tables, held here to lcms2's 8-bit conversion of the same pixels on
// every test profile. gpu.GpuColorTest holds the device's answers to lcms2 too.
#include "codec/color_device_form.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/color_images.h"
#include "imgproc_testing/test_support.h"

namespace imgproc {
namespace {

using testing::ColorTestPhoto;
using testing::Psnr;
using testing::RenderFromSrgb;
using testing::TestProfile;

// The bound the issue sets for the GPU's parity with lcms2.
constexpr double kMinPsnrDb = 45.0;

cv::Mat Lcms2(const ColorTransform& transform, const cv::Mat& stored) {
  cv::Mat out(stored.size(), stored.type());
  for (int y = 0; y < stored.rows; ++y) transform.TransformPixels(stored.ptr(y), out.ptr(y), stored.cols);
  return out;
}

TEST(ColorDeviceKernelReferenceTest, EveryRgbProfileConvertsWithin45DbOfLcms2) {
  double lowest[3] = {INFINITY, INFINITY, INFINITY};  // by ColorDeviceKind
  for (int photo_index = 0; photo_index < 3; ++photo_index) {
    for (const TestProfile& profile : testing::RgbTestProfiles()) {
      SCOPED_TRACE(profile.name);
      absl::StatusOr<std::shared_ptr<const ColorTransform>> transform = ColorTransform::FromIcc(profile.bytes);
      ASSERT_TRUE(transform.ok()) << transform.status();
      const std::optional<ColorDeviceForm> form = ColorDeviceForm::For(**transform);
      ASSERT_TRUE(form.has_value());
      EXPECT_EQ(form->kind(),
                (*transform)->matrix_shaper() ? ColorDeviceKind::kCurvesAndMatrix : ColorDeviceKind::kLattice);
      const cv::Mat stored = RenderFromSrgb(ColorTestPhoto(photo_index, 640, 400), profile);
      cv::Mat device = stored.clone();
      ASSERT_TRUE(form->ApplyOnCpu(device).ok());
      const double psnr = Psnr(device, Lcms2(**transform, stored));
      EXPECT_GE(psnr, kMinPsnrDb);
      double& low = lowest[static_cast<int>(form->kind())];
      low = std::min(low, psnr);

      // BGRA: the same colours, the alpha as it was.
      cv::Mat bgra;
      cv::cvtColor(stored, bgra, cv::COLOR_BGR2BGRA);
      cv::Mat alpha(stored.size(), CV_8U);
      cv::randu(alpha, 0, 256);
      cv::insertChannel(alpha, bgra, 3);
      ASSERT_TRUE(form->ApplyOnCpu(bgra).ok());
      cv::Mat colours, kept_alpha;
      cv::cvtColor(bgra, colours, cv::COLOR_BGRA2BGR);
      cv::extractChannel(bgra, kept_alpha, 3);
      EXPECT_EQ(cv::norm(colours, device, cv::NORM_INF), 0);
      EXPECT_EQ(cv::norm(kept_alpha, alpha, cv::NORM_INF), 0);
    }
  }
  std::printf(
      "device form against lcms2, 3 photos x 6 profiles: curves + 3x3 matrix %.1f dB at worst (5 matrix/TRC "
      "profiles), 33^3 lattice, tetrahedral %.1f dB (LUT profile)\n",
      lowest[0], lowest[1]);
}

// Why the lattice is interpolated tetrahedrally, and why matrix/TRC profiles take the curves instead: both
// interpolations of the same 33^3 lattice, measured against lcms2.
TEST(ColorDeviceKernelReferenceTest, TetrahedralLatticeIsCloserToLcms2ThanTrilinear) {
  double lut_tetrahedral = INFINITY, lut_trilinear = INFINITY, matrix_tetrahedral = INFINITY,
         matrix_trilinear = INFINITY;
  for (int photo_index = 0; photo_index < 2; ++photo_index) {
    for (const TestProfile& profile : testing::RgbTestProfiles()) {
      SCOPED_TRACE(profile.name);
      absl::StatusOr<std::shared_ptr<const ColorTransform>> transform = ColorTransform::FromIcc(profile.bytes);
      ASSERT_TRUE(transform.ok()) << transform.status();
      const std::optional<ColorDeviceForm> lattice = ColorDeviceForm::LatticeFor(**transform);
      ASSERT_TRUE(lattice.has_value());
      const cv::Mat stored = RenderFromSrgb(ColorTestPhoto(photo_index, 640, 400), profile);
      const cv::Mat lcms = Lcms2(**transform, stored);
      cv::Mat tetrahedral = stored.clone(), trilinear = stored.clone();
      ASSERT_TRUE(lattice->ApplyOnCpu(tetrahedral).ok());
      ApplyLatticeTrilinearOnCpu(*lattice, trilinear);
      const bool matrix = (*transform)->matrix_shaper();
      double& tet = matrix ? matrix_tetrahedral : lut_tetrahedral;
      double& tri = matrix ? matrix_trilinear : lut_trilinear;
      tet = std::min(tet, Psnr(tetrahedral, lcms));
      tri = std::min(tri, Psnr(trilinear, lcms));
    }
  }
  std::printf(
      "33^3 lattice against lcms2, worst over 2 photos: LUT profile tetrahedral %.1f dB, trilinear %.1f dB; "
      "matrix/TRC profiles tetrahedral %.1f dB, trilinear %.1f dB\n",
      lut_tetrahedral, lut_trilinear, matrix_tetrahedral, matrix_trilinear);
  EXPECT_GE(lut_tetrahedral, kMinPsnrDb);
  EXPECT_GE(lut_tetrahedral, lut_trilinear);
}

TEST(ColorDeviceKernelReferenceTest, GrayProfileIsLcms2sOwnCurveOnEveryColourChannel) {
  const TestProfile profile = testing::GrayTestProfile();
  absl::StatusOr<std::shared_ptr<const ColorTransform>> transform = ColorTransform::FromIcc(profile.bytes);
  ASSERT_TRUE(transform.ok()) << transform.status();
  const std::optional<ColorDeviceForm> form = ColorDeviceForm::For(**transform);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->kind(), ColorDeviceKind::kGrayCurve);
  const cv::Mat stored = RenderFromSrgb(ColorTestPhoto(0, 640, 400), profile);
  ASSERT_EQ(stored.channels(), 1);
  const cv::Mat lcms = Lcms2(**transform, stored);
  cv::Mat gray = stored.clone();
  ASSERT_TRUE(form->ApplyOnCpu(gray).ok());
  EXPECT_EQ(cv::norm(gray, lcms, cv::NORM_INF), 0);
  // A gray JPEG decoded as colour: each of B, G and R through the curve; BGRA's alpha untouched.
  cv::Mat bgra;
  cv::cvtColor(stored, bgra, cv::COLOR_GRAY2BGRA);
  ASSERT_TRUE(form->ApplyOnCpu(bgra).ok());
  std::vector<cv::Mat> planes;
  cv::split(bgra, planes);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(cv::norm(planes[c], lcms, cv::NORM_INF), 0) << c;
  EXPECT_EQ(cv::norm(planes[3], cv::Mat(stored.size(), CV_8U, cv::Scalar(255)), cv::NORM_INF), 0);
}

TEST(ColorDeviceKernelReferenceTest, CmykHasNoDeviceFormAndRgbFormsRefuseGray) {
  absl::StatusOr<std::shared_ptr<const ColorTransform>> cmyk =
      ColorTransform::FromIcc(testing::CmykTestProfile().bytes);
  ASSERT_TRUE(cmyk.ok()) << cmyk.status();
  EXPECT_FALSE(ColorDeviceForm::For(**cmyk).has_value());
  absl::StatusOr<std::shared_ptr<const ColorTransform>> rgb =
      ColorTransform::FromIcc(testing::RgbTestProfiles().front().bytes);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  const std::optional<ColorDeviceForm> form = ColorDeviceForm::For(**rgb);
  ASSERT_TRUE(form.has_value());
  EXPECT_FALSE(form->Accepts(1));
  cv::Mat gray(4, 4, CV_8U, cv::Scalar(7));
  EXPECT_EQ(form->ApplyOnCpu(gray).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace imgproc
