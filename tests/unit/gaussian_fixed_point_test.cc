// 8-bit Gaussian blurs with kernels past 63 taps are computed row by row with OpenCV's fixed-point arithmetic
// (ops/gaussian_fixed_point.h): every byte must equal cv::GaussianBlur's on the whole image, for every border the
// operation accepts, 1, 3 and 4 channels, kernels read from sigma or from the size, images smaller than the kernel,
// and a kernel whose centre tap is above 128/256 (the one the impulse read-back has to correct).
#include "ops/gaussian_fixed_point.h"

#include <gtest/gtest.h>

#include <numeric>
#include <opencv2/imgproc.hpp>
#include <string>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

struct KernelCase {
  cv::Size ksize;
  double sigma_x, sigma_y;  // as the request gives them (0: from the size; sigma_y 0: sigma_x)
};

const KernelCase kKernels[] = {
    {{255, 255}, 0, 0}, {{255, 101}, 0, 0},   {{65, 255}, 30, 0},
    {{99, 77}, 3, 50},  {{255, 255}, 0.5, 0}, {{201, 201}, 1000, 1000},
};

const std::pair<const char*, int> kBorders[] = {{"REFLECT_101", cv::BORDER_REFLECT_101},
                                                {"CONSTANT", cv::BORDER_CONSTANT},
                                                {"REPLICATE", cv::BORDER_REPLICATE},
                                                {"REFLECT", cv::BORDER_REFLECT}};

cv::Mat WithChannels(const cv::Mat& bgr, int channels) {
  cv::Mat out = bgr;
  if (channels == 1) cv::cvtColor(bgr, out, cv::COLOR_BGR2GRAY);
  if (channels == 4) cv::cvtColor(bgr, out, cv::COLOR_BGR2BGRA);
  return out;
}

TEST(GaussianFixedPointTest, EveryByteEqualsOpenCvsOnTheWholeImage) {
  const cv::Mat photo = DecodeLikeServer(ReadFile(PhotoPath("nature/Dune.jpg")));  // 1680x1050
  for (const cv::Size size : {cv::Size(421, 263), cv::Size(100, 80), cv::Size(37, 29)}) {
    cv::Mat scaled;
    cv::resize(photo, scaled, size, 0, 0, cv::INTER_AREA);
    for (const KernelCase& k : kKernels) {
      for (const auto& [border_name, border] : kBorders) {
        for (const int channels : {1, 3, 4}) {
          const cv::Mat input = WithChannels(scaled, channels);
          cv::Mat expected, actual;
          cv::GaussianBlur(input, expected, k.ksize, k.sigma_x, k.sigma_y, border);
          const GaussianBlurParams params{k.ksize, k.sigma_x, k.sigma_y != 0 ? k.sigma_y : k.sigma_x, border};
          CpuPassContext ctx;
          ctx.stripe_work = 1e5;  // a stop check every few rows
          ctx.stripe_seconds = 0;
          ASSERT_TRUE(GaussianBlurFixedPointInRows(ctx, input, actual, params).ok());
          EXPECT_EQ(cv::norm(expected, actual, cv::NORM_INF), 0)
              << k.ksize << " sigma " << k.sigma_x << "/" << k.sigma_y << " " << border_name << " on " << size << "x"
              << channels;
        }
      }
    }
  }
}

TEST(GaussianFixedPointTest, KernelsSumToOneAndAreSymmetric) {
  for (const KernelCase& k : kKernels) {
    const std::vector<uint16_t> taps = FixedPointGaussianKernel(k.ksize.width, k.sigma_x);
    ASSERT_EQ(taps.size(), static_cast<size_t>(k.ksize.width));
    EXPECT_EQ(std::accumulate(taps.begin(), taps.end(), 0), 256) << k.ksize.width << " sigma " << k.sigma_x;
    for (size_t i = 0; i < taps.size(); ++i) EXPECT_EQ(taps[i], taps[taps.size() - 1 - i]);
  }
  // sigma 0.5: almost all of the weight in the centre tap, above the 128 the read-back sees directly.
  EXPECT_GT(FixedPointGaussianKernel(255, 0.5)[127], 128);
}

TEST(GaussianFixedPointTest, StopsBetweenRowsWithTheLanesStatus) {
  const cv::Mat input = DecodeLikeServer(ReadFile(PhotoPath("nature/Dune.jpg")));
  int asked = 0;
  CpuPassContext ctx;
  ctx.stripe_work = 1e5;
  ctx.stripe_seconds = 0;
  ctx.stop = [&asked] { return ++asked < 4 ? absl::OkStatus() : absl::DeadlineExceededError("deadline passed"); };
  cv::Mat out;
  const absl::Status status = GaussianBlurFixedPointInRows(ctx, input, out, {{255, 255}, 0, 0, cv::BORDER_REFLECT_101});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(asked, 4);
}

}  // namespace
}  // namespace imgproc::testing
