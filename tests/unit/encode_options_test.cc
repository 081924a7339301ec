// The encoder options (issue 30): JPEG progressive, chroma subsampling and optimized Huffman tables through
// libjpeg-turbo, checked on the bytes (markers parsed here) and against OpenCV's encoder where OpenCV 4.6 has the
// option (progressive, optimize: the same bytes); AVIF answers decoded with libavif's decoder; the plan's bounds
// on an AVIF answer.
#include <avif/avif.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "codec/avif_encode.h"
#include "codec/codec.h"
#include "codec/jpeg_turbo.h"
#include "common/encode_checks.h"
#include "common/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

cv::Mat Photo(const std::string& name, int width) {
  cv::Mat photo = cv::imread(PhotoPath(name), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::resize(photo, photo, cv::Size(width, width * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
  return photo;
}

cv::Mat Decoded(const std::string& jpeg) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())),
                      cv::IMREAD_UNCHANGED);
}

std::string Jpeg(const cv::Mat& image, JpegEncodeOptions options) {
  absl::StatusOr<std::string> bytes = EncodeJpegBgr(image, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

TEST(EncodeOptionsTest, DefaultJpegOptionsGiveOpenCvsBytes) {
  for (const std::string& path : NaturePhotos()) {
    SCOPED_TRACE(path);
    cv::Mat photo = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_REDUCED_COLOR_4);
    for (const int quality : {60, 95}) {
      JpegEncodeOptions options;
      options.quality = quality;
      EXPECT_TRUE(Jpeg(photo, options) == EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality}));
      options.chroma = ChromaSubsampling::k420;  // named: the same as the default
      EXPECT_TRUE(Jpeg(photo, options) == EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality}));
    }
  }
}

TEST(EncodeOptionsTest, ProgressiveIsSof2WithManyScansAndOpenCvsProgressiveBytes) {
  const cv::Mat photo = Photo("nature/Storm.jpg", 640);
  JpegEncodeOptions options;
  options.quality = 90;
  const JpegStructure baseline = ParseJpegStructure(Jpeg(photo, options));
  options.progressive = true;
  const std::string progressive = Jpeg(photo, options);
  const JpegStructure parsed = ParseJpegStructure(progressive);
  ASSERT_TRUE(parsed.parsed && baseline.parsed);
  EXPECT_EQ(baseline.sof_marker, 0xC0);
  EXPECT_EQ(baseline.scans, 1);
  EXPECT_EQ(parsed.sof_marker, 0xC2);
  EXPECT_EQ(parsed.scans, 10);  // libjpeg's standard script for YCbCr
  EXPECT_TRUE(progressive == EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  // The same quantized coefficients in another order: the same pixels.
  options.progressive = false;
  EXPECT_EQ(cv::norm(Decoded(progressive), Decoded(Jpeg(photo, options)), cv::NORM_INF), 0);
}

TEST(EncodeOptionsTest, ChromaSubsamplingSetsTheLumaSamplingFactors) {
  const cv::Mat photo = Photo("nature/FreshFlower.jpg", 640);
  struct Case {
    ChromaSubsampling chroma;
    int h, v;
  };
  const std::string reference = EncodeAs(photo, ".png");
  double psnr_420 = 0, psnr_444 = 0;
  size_t bytes_420 = 0, bytes_444 = 0;
  for (const Case c : {Case{ChromaSubsampling::kDefault, 2, 2}, Case{ChromaSubsampling::k420, 2, 2},
                       Case{ChromaSubsampling::k422, 2, 1}, Case{ChromaSubsampling::k444, 1, 1}}) {
    SCOPED_TRACE(ChromaSubsamplingName(c.chroma));
    JpegEncodeOptions options;
    options.quality = 90;
    options.chroma = c.chroma;
    const std::string jpeg = Jpeg(photo, options);
    const JpegStructure parsed = ParseJpegStructure(jpeg);
    ASSERT_EQ(parsed.components.size(), 3u);
    EXPECT_EQ(parsed.components[0].h, c.h);
    EXPECT_EQ(parsed.components[0].v, c.v);
    for (int i = 1; i < 3; ++i) EXPECT_TRUE(parsed.components[i].h == 1 && parsed.components[i].v == 1);
    const double psnr = Psnr(Decoded(jpeg), photo);
    EXPECT_GT(psnr, 33.0);
    if (c.chroma == ChromaSubsampling::k420) psnr_420 = psnr, bytes_420 = jpeg.size();
    if (c.chroma == ChromaSubsampling::k444) psnr_444 = psnr, bytes_444 = jpeg.size();
  }
  // Keeping all the chroma costs bytes and brings the pixels closer to the source.
  EXPECT_GT(psnr_444, psnr_420);
  EXPECT_GT(bytes_444, bytes_420);
  // Gray has one component whatever the option says.
  cv::Mat gray;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  JpegEncodeOptions options;
  options.chroma = ChromaSubsampling::k444;
  const JpegStructure parsed = ParseJpegStructure(Jpeg(gray, options));
  ASSERT_EQ(parsed.components.size(), 1u);
  EXPECT_TRUE(parsed.components[0].h == 1 && parsed.components[0].v == 1);
}

TEST(EncodeOptionsTest, OptimizeMakesEveryPhotoSmallerWithTheSamePixelsAndOpenCvsBytes) {
  for (const std::string& path : NaturePhotos()) {
    SCOPED_TRACE(path);
    const cv::Mat photo = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_REDUCED_COLOR_4);
    JpegEncodeOptions options;
    options.quality = 85;
    const std::string standard = Jpeg(photo, options);
    options.optimize = true;
    const std::string optimized = Jpeg(photo, options);
    EXPECT_LT(optimized.size(), standard.size());
    EXPECT_EQ(cv::norm(Decoded(optimized), Decoded(standard), cv::NORM_INF), 0);
    EXPECT_TRUE(optimized == EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 85, cv::IMWRITE_JPEG_OPTIMIZE, 1}));
    const JpegStructure parsed = ParseJpegStructure(optimized);
    EXPECT_EQ(parsed.sof_marker, 0xC0);
  }
}

TEST(EncodeOptionsTest, AvifDecodesWithLibavifAtItsSizeCloseToTheSource) {
  const cv::Mat photo = Photo("nature/Dune.jpg", 320);
  AvifEncodeOptions options;
  absl::StatusOr<std::string> avif = EncodeAvif(photo, options);
  ASSERT_TRUE(avif.ok()) << avif.status();
  const AvifDecoded decoded = DecodeAvif(*avif);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_EQ(decoded.pixels.size(), photo.size());
  EXPECT_EQ(decoded.yuv_format, AVIF_PIXEL_FORMAT_YUV420);
  EXPECT_EQ(decoded.depth, 8);
  const double psnr = Psnr(decoded.pixels, photo);
  // Measured 30.07 dB (10,211 bytes) at the defaults, quality 60 and speed 8: Dune's sand is the hardest texture.
  EXPECT_GT(psnr, 29.0) << "default quality 60, speed 8";
  // Smaller than the default JPEG answer (quality 95) of the same pixels.
  EXPECT_LT(avif->size(), EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}).size() / 2);
  options.chroma = ChromaSubsampling::k444;
  options.quality = 90;
  absl::StatusOr<std::string> full = EncodeAvif(photo, options);
  ASSERT_TRUE(full.ok()) << full.status();
  const AvifDecoded full_decoded = DecodeAvif(*full);
  ASSERT_TRUE(full_decoded.ok) << full_decoded.error;
  EXPECT_EQ(full_decoded.yuv_format, AVIF_PIXEL_FORMAT_YUV444);
  EXPECT_GT(Psnr(full_decoded.pixels, photo), psnr + 3);
  EXPECT_GT(full->size(), avif->size());
  std::printf("AVIF 320 wide: q60 4:2:0 %zu bytes %.2f dB; q90 4:4:4 %zu bytes %.2f dB\n", avif->size(), psnr,
              full->size(), Psnr(full_decoded.pixels, photo));
}

TEST(EncodeOptionsTest, AvifKeepsGrayAsMonochromeAndAlphaAsAPlane) {
  cv::Mat gray;
  cv::cvtColor(Photo("nature/Aqua.jpg", 256), gray, cv::COLOR_BGR2GRAY);
  absl::StatusOr<std::string> avif = EncodeAvif(gray, AvifEncodeOptions());
  ASSERT_TRUE(avif.ok()) << avif.status();
  AvifDecoded decoded = DecodeAvif(*avif);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_EQ(decoded.yuv_format, AVIF_PIXEL_FORMAT_YUV400);
  ASSERT_EQ(decoded.pixels.type(), CV_8UC1);
  EXPECT_GT(Psnr(decoded.pixels, gray), 32.0);

  cv::Mat bgra = GeneratedImage(200, 120, 4);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int* at) { p[3] = static_cast<uchar>(at[1]); });
  AvifEncodeOptions options;
  options.quality = 95;
  avif = EncodeAvif(bgra, options);
  ASSERT_TRUE(avif.ok()) << avif.status();
  decoded = DecodeAvif(*avif);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  ASSERT_TRUE(decoded.has_alpha);
  std::vector<cv::Mat> got, want;
  cv::split(decoded.pixels, got);
  cv::split(bgra, want);
  EXPECT_GT(Psnr(got[3], want[3]), 40.0);
}

TEST(EncodeOptionsTest, LowerAvifQualityAndHigherSpeedMakeSmallerFiles) {
  const cv::Mat photo = Photo("nature/Garden.jpg", 320);
  AvifEncodeOptions options;
  options.quality = 90;
  const size_t q90 = EncodeAvif(photo, options)->size();
  options.quality = 30;
  const size_t q30 = EncodeAvif(photo, options)->size();
  EXPECT_LT(q30, q90);
}

// Through the plan: the AVIF answer's size and its encode's cost are checked before any work.
TEST(EncodeOptionsTest, ThePlanBoundsAnAvifAnswer) {
  ImageLimits limits;
  limits.max_avif_pixels = 1000 * 1000;
  const std::string png = EncodeAs(GeneratedImage(1200, 1000), ".png");
  ImageRequest request;
  request.image = png;
  request.output.format = OutputFormat::kAvif;
  request.output.format_named = true;
  absl::StatusOr<Plan> plan = BuildPlan(request, limits);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  EXPECT_NE(plan.status().message().find("--max_avif_pixels"), std::string::npos) << plan.status();
  EXPECT_NE(plan.status().message().find("1200x1000"), std::string::npos) << plan.status();

  limits.max_avif_pixels = 2000 * 2000;
  plan = BuildPlan(request, limits);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->work, AvifEncodeWork(1200 * 1000, 8));
  // Speed 0 costs ~160 times speed 8: over the default budget at this size.
  request.output.speed = 0;
  plan = BuildPlan(request, limits);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  EXPECT_NE(plan.status().message().find("--max_request_work"), std::string::npos) << plan.status();

  request.output.speed = 11;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.avif.speed: must be in [0, 10] (got 11)");
  request.output.speed.reset();
  request.output.quality = 0;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.avif.quality: must be in [1, 100] (got 0)");
}

}  // namespace
}  // namespace imgproc::testing
