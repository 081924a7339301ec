// The encoder options (issue 30): JPEG progressive, chroma subsampling and optimized Huffman tables through
// libjpeg-turbo, checked on the bytes (markers parsed here) and against OpenCV's encoder where OpenCV 4.6 has the
// option (progressive, optimize: the same bytes); AVIF answers decoded with libavif's decoder; the plan's bounds
// on an AVIF answer. HEIC answers (libheif with x265) decoded with libheif's decoder, their metadata read back.
#include <avif/avif.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "codec/avif_encode.h"
#include "codec/codec.h"
#include "codec/heic_encode.h"
#include "codec/jpeg_turbo.h"
#include "codec/metadata.h"
#include "imgproc_testing/encode_checks.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/test_support.h"
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
  EXPECT_NE(plan.status().message().find("over the server's AVIF limit of"), std::string::npos) << plan.status();
  EXPECT_NE(plan.status().message().find("1200x1000"), std::string::npos) << plan.status();

  limits.max_avif_pixels = 2000 * 2000;
  plan = BuildPlan(request, limits);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->work, AvifEncodeWork(1200 * 1000, 8));
  // Speed 0 costs ~160 times speed 8: over the default budget at this size.
  request.output.speed = 0;
  plan = BuildPlan(request, limits);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  EXPECT_NE(plan.status().message().find("over the server's budget of"), std::string::npos) << plan.status();

  request.output.speed = 11;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.avif.speed: must be in [0, 10] (got 11)");
  request.output.speed.reset();
  request.output.quality = 0;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.avif.quality: must be in [1, 100] (got 0)");
}

TEST(EncodeOptionsTest, HeicDecodesWithLibheifAtItsSizeCloseToTheSource) {
  for (const char* name : {"nature/Dune.jpg", "nature/Garden.jpg"}) {
    const cv::Mat photo = Photo(name, 320);
    HeicEncodeOptions options;
    absl::StatusOr<std::string> heic = EncodeHeic(photo, options);
    ASSERT_TRUE(heic.ok()) << heic.status();
    const HeicDecoded decoded = DecodeHeic(*heic);
    ASSERT_TRUE(decoded.ok) << decoded.error;
    EXPECT_EQ(decoded.pixels.size(), photo.size());
    EXPECT_EQ(decoded.chroma_format_idc, 1) << "4:2:0 by default";
    EXPECT_EQ(decoded.luma_bits, 8);
    EXPECT_FALSE(decoded.has_alpha);
    const double psnr = Psnr(decoded.pixels, photo);
    // Measured 30.81 dB (Dune, 15,878 bytes) and 35.68 dB (Garden, 6,711) at the defaults, quality 50 and speed 8.
    EXPECT_GT(psnr, 29.0) << name;
    // Measured 0.51 (Dune) and 0.34 (Garden) of the default JPEG answer's (quality 95) bytes.
    const size_t jpeg_bytes = EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}).size();
    EXPECT_LT(heic->size(), jpeg_bytes * 0.6) << name;
    options.chroma = ChromaSubsampling::k444;
    options.quality = 90;
    absl::StatusOr<std::string> full = EncodeHeic(photo, options);
    ASSERT_TRUE(full.ok()) << full.status();
    const HeicDecoded full_decoded = DecodeHeic(*full);
    ASSERT_TRUE(full_decoded.ok) << full_decoded.error;
    EXPECT_EQ(full_decoded.chroma_format_idc, 3) << "4:4:4";
    EXPECT_GT(Psnr(full_decoded.pixels, photo), psnr + 3) << name;
    EXPECT_GT(full->size(), heic->size()) << name;
    std::printf("HEIC %s 320 wide: q50 4:2:0 %zu bytes (%.2f of JPEG q95's) %.2f dB; q90 4:4:4 %zu bytes %.2f dB\n",
                name, heic->size(), static_cast<double>(heic->size()) / jpeg_bytes, psnr, full->size(),
                Psnr(full_decoded.pixels, photo));
  }
}

TEST(EncodeOptionsTest, HeicKeepsOddSizesGrayAndAlpha) {
  // Odd sizes: libheif pads the coded image and writes a clean aperture; the decoded image is the size asked for.
  const cv::Mat odd = Photo("nature/Aqua.jpg", 201);
  absl::StatusOr<std::string> heic = EncodeHeic(odd, HeicEncodeOptions());
  ASSERT_TRUE(heic.ok()) << heic.status();
  HeicDecoded decoded = DecodeHeic(*heic);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_EQ(decoded.pixels.size(), odd.size());
  EXPECT_GT(Psnr(decoded.pixels, odd), 30.0);

  cv::Mat gray;
  cv::cvtColor(Photo("nature/Aqua.jpg", 256), gray, cv::COLOR_BGR2GRAY);
  heic = EncodeHeic(gray, HeicEncodeOptions());
  ASSERT_TRUE(heic.ok()) << heic.status();
  decoded = DecodeHeic(*heic);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  cv::Mat decoded_gray;
  cv::cvtColor(decoded.pixels, decoded_gray, cv::COLOR_BGR2GRAY);
  EXPECT_GT(Psnr(decoded_gray, gray), 32.0);

  cv::Mat bgra = GeneratedImage(200, 120, 4);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int* at) { p[3] = static_cast<uchar>(at[1]); });
  HeicEncodeOptions options;
  options.quality = 90;
  heic = EncodeHeic(bgra, options);
  ASSERT_TRUE(heic.ok()) << heic.status();
  decoded = DecodeHeic(*heic);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  ASSERT_TRUE(decoded.has_alpha);
  std::vector<cv::Mat> got, want;
  cv::split(decoded.pixels, got);
  cv::split(bgra, want);
  EXPECT_GT(Psnr(got[3], want[3]), 40.0);
}

TEST(EncodeOptionsTest, LowerHeicQualityAndHigherSpeedMakeSmallerOrFasterFiles) {
  const cv::Mat photo = Photo("nature/Garden.jpg", 320);
  HeicEncodeOptions options;
  options.quality = 90;
  const size_t q90 = EncodeHeic(photo, options)->size();
  options.quality = 30;
  const size_t q30 = EncodeHeic(photo, options)->size();
  EXPECT_LT(q30, q90);
  // Every preset encodes.
  for (int speed = 0; speed <= 9; ++speed) {
    options.speed = speed;
    EXPECT_TRUE(EncodeHeic(photo, options).ok()) << HeicPresetName(speed);
  }
}

// The metadata a HEIC answer keeps, read back by libheif and by the server's own reader (the same reader a HEIC
// input goes through): the profile and XMP byte for byte, EXIF as written.
TEST(EncodeOptionsTest, HeicCarriesTheProfileExifAndXmp) {
  const cv::Mat photo = Photo("nature/Aqua.jpg", 160);
  OutputMetadata metadata;
  metadata.icc_profile = IccProfile("colord/AdobeRGB1998.icc");
  ExifFields fields;
  fields.copyright = "(c) imgproc tests";
  fields.artist = "HEIC";
  metadata.exif = ExifBlock(fields);
  metadata.xmp = XmpPacket("rights of the HEIC test");
  absl::StatusOr<std::string> heic = EncodeHeic(photo, HeicEncodeOptions(), &metadata);
  ASSERT_TRUE(heic.ok()) << heic.status();
  const HeicDecoded decoded = DecodeHeic(*heic);
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_EQ(decoded.icc_profile, *metadata.icc_profile);
  EXPECT_EQ(decoded.xmp, *metadata.xmp);
  const ParsedExif exif = ParseExif(decoded.exif);
  ASSERT_TRUE(exif.loaded);
  EXPECT_EQ(exif.copyright, fields.copyright);
  EXPECT_EQ(exif.artist, fields.artist);

  MetadataPolicy keep_all;
  keep_all.keep_icc_profile = true;
  keep_all.exif = ExifPolicy::kKeep;
  keep_all.keep_xmp = true;
  const InputMetadata read = ExtractMetadata(*heic, ImageFormat::kHeif, keep_all);
  ASSERT_TRUE(read.icc_profile.has_value());
  EXPECT_EQ(*read.icc_profile, *metadata.icc_profile);
  EXPECT_FALSE(read.xmp.has_value()) << "the server reads no HEIF XMP (codec/metadata.cc)";
  ASSERT_TRUE(read.exif.has_value());
  EXPECT_EQ(ParseExif(*read.exif).copyright, fields.copyright);

  // Nothing asked for, nothing written.
  const HeicDecoded bare = DecodeHeic(*EncodeHeic(photo, HeicEncodeOptions()));
  EXPECT_TRUE(bare.icc_profile.empty());
  EXPECT_TRUE(bare.exif.empty());
  EXPECT_TRUE(bare.xmp.empty());
}

TEST(EncodeOptionsTest, ThePlanBoundsAHeicAnswer) {
  ImageLimits limits;
  limits.max_heic_pixels = 1000 * 1000;
  const std::string png = EncodeAs(GeneratedImage(1200, 1000), ".png");
  ImageRequest request;
  request.image = png;
  request.output.format = OutputFormat::kHeic;
  request.output.format_named = true;
  absl::StatusOr<Plan> plan = BuildPlan(request, limits);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  EXPECT_NE(plan.status().message().find("over the server's HEIC limit of"), std::string::npos) << plan.status();
  EXPECT_NE(plan.status().message().find("1200x1000"), std::string::npos) << plan.status();

  limits.max_heic_pixels = 2000 * 2000;
  plan = BuildPlan(request, limits);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->work, HeicEncodeWork(1200 * 1000, 8));
  // Speed 0 (placebo) costs 3.4 times speed 8: over a budget of twice speed 8's encode.
  limits.max_request_work = 2 * HeicEncodeWork(1200 * 1000, 8);
  request.output.speed = 0;
  plan = BuildPlan(request, limits);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();
  EXPECT_NE(plan.status().message().find("over the server's budget of"), std::string::npos) << plan.status();

  request.output.speed = 10;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.heic.speed: must be in [0, 9] (got 10)");
  request.output.speed.reset();
  request.output.quality = 101;
  EXPECT_EQ(BuildPlan(request, limits).status().message(), "output.heic.quality: must be in [1, 100] (got 101)");
}

}  // namespace
}  // namespace imgproc::testing
