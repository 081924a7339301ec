// Chain validation and header checks: every error names where it is, and nothing is decoded first. The engine's
// requests as any frontend fills them; what the gRPC frontend's translation adds is request_translation_test.cc's.
#include <gtest/gtest.h>

#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "ops/operation.h"
#include "pipeline/plan.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_kernel.h"
#include "core/kernel_catalog.h"
#endif

namespace imgproc::testing {
namespace {

struct ErrorCase {
  std::string name;
  std::vector<OpSpec> chain;
  std::string message;                           // expected substring
  std::function<void(Request&)> more = nullptr;  // the rest of the request, where it matters
};

class ChainValidationTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ChainValidationTest, NamesStepAndField) {
  Request request(EncodeAs(GeneratedImage(200, 100), ".jpg"));
  for (const OpSpec& op : GetParam().chain) request.Then(op);
  if (GetParam().more) GetParam().more(request);
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find(GetParam().message), std::string::npos) << plan.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ChainValidationTest,
    ::testing::Values(
        ErrorCase{"no_operation", {Op("")}, "operations[0]: no operation set"},
        ErrorCase{"even_kernel",
                  {Op("flip"), Op("gaussian_blur", {{"kernel_width", 4}})},
                  "operations[1].gaussian_blur.kernel_width: must be odd"},
        ErrorCase{"canny_needs_gray",
                  {Op("canny", {{"threshold1", 1}, {"threshold2", 2}})},
                  "operations[0].canny: needs 1 channel(s) (input is 200x100x3 uint8)"},
        ErrorCase{"channels_tracked",
                  {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}),
                   Op("cvt_color", {{"conversion", "CONVERSION_BGR2HSV"}})},
                  "operations[1].cvt_color: CONVERSION_BGR2HSV needs 3 channel(s)"},
        ErrorCase{"depth_tracked", {Op("normalize"), Op("canny")}, "operations[1].canny: takes uint8 pixels"},
        ErrorCase{"size_tracked",
                  {Op("resize", {{"width", 50}, {"height", 50}}),
                   Op("crop", {{"x", 10}, {"y", 10}, {"width", 60}, {"height", 5}})},
                  "operations[1].crop.width: must be in [1, 40]"},
        ErrorCase{"resize_over_limits",
                  {Op("resize", {{"width", 100000}, {"height", 100000}})},
                  "operations[0].resize: output would be 100000x100000, over the server's limits"},
        ErrorCase{"scale_and_size",
                  {Op("resize", {{"width", 10}, {"scale", 2}})},
                  "operations[0].resize.scale: set either scale or width/height"},
        ErrorCase{"singular_warp",
                  {Op("warp_affine", {{"matrix", {1, 2, 0, 2, 4, 0}}})},
                  "operations[0].warp_affine.matrix: is singular"},
        ErrorCase{"warp_matrix_size",
                  {Op("warp_perspective", {{"matrix", {1, 0, 0}}})},
                  "operations[0].warp_perspective.matrix: needs 9 values"},
        ErrorCase{"std_zero", {Op("normalize", {{"std", {0}}})}, "operations[0].normalize.std: values must not be 0"},
        ErrorCase{
            "mean_count", {Op("normalize", {{"mean", {1, 2}}})}, "operations[0].normalize.mean: needs 1 or 3 values"},
        ErrorCase{"pad_value_count",
                  {Op("pad", {{"top", 1}, {"value", {1, 2}}})},
                  "operations[0].pad.value: needs 1 or 3 values"},
        ErrorCase{"median_float",
                  {Op("normalize"), Op("median_blur", {{"kernel_size", 7}})},
                  "operations[1].median_blur.kernel_size: over 5 needs uint8"},
        ErrorCase{
            "otsu_color", {Op("threshold", {{"otsu", true}})}, "operations[0].threshold.otsu: needs a 1-channel uint8"},
        ErrorCase{"morph_iterations",
                  {Op("morphology", {{"iterations", 0}})},
                  "operations[0].morphology.iterations: must be in [1, 100]"},
        ErrorCase{"filter_wrap",
                  {Op("box_filter", {{"kernel_width", 3}, {"border", "BORDER_MODE_WRAP"}})},
                  "operations[0].box_filter.border: BORDER_MODE_WRAP is not supported"},
        ErrorCase{"cvt_unspecified", {Op("cvt_color")}, "operations[0].cvt_color.conversion: is required"},
        ErrorCase{"jpeg_of_float", {Op("normalize")}, "output (default JPEG): needs uint8 or uint16 pixels"},
        ErrorCase{"jpeg_quality",
                  {},
                  "output.jpeg.quality: must be in [1, 100]",
                  [](Request& r) { r.Output(OutputFormat::kJpeg).Quality(0); }},
        ErrorCase{"png_level",
                  {},
                  "output.png.compression_level: must be in [0, 9]",
                  [](Request& r) { r.Output(OutputFormat::kPng).CompressionLevel(10); }}),
    [](const auto& info) { return info.param.name; });

// Two definitions for one operation end the program at start-up instead of one silently shadowing the other.
TEST(OperationRegistryDeathTest, ASecondDefinitionOfAnOperationEndsTheProgram) {
  const OpDefinition* flip = OpRegistry::Find("flip");
  ASSERT_NE(flip, nullptr);
  EXPECT_DEATH(OpRegistry::Register(*flip), "operation 'flip' is registered twice");
}

#if IMGPROC_WITH_CUDA
// The CUDA backend's kernels are found by operation name and decide per binding; no GPU is needed to check either.
TEST(CudaKernelRegistryTest, EveryKernelNamesAnOperationAndAcceptsTheBindingsItComputes) {
  EXPECT_TRUE(CudaKernelRegistry::CheckEveryKernelHasAnOperation().ok())
      << CudaKernelRegistry::CheckEveryKernelHasAnOperation();
  for (const char* op : {"resize", "gaussian_blur", "gamma", "morphology", "normalize", "rotate"}) {
    EXPECT_NE(CudaKernelRegistry::Find(op), nullptr) << op;
    std::vector<BackendKernelInfo> listed = BackendKernelsFor(op);
    ASSERT_EQ(listed.size(), 1u) << op;
    EXPECT_EQ(listed[0].backend, "cuda");
  }
  // cv::cuda::LookUpTable takes 1 or 3 channels: a 4-channel gamma runs on the CPU.
  for (const auto& [channels, on_gpu] : {std::pair{3, true}, std::pair{4, false}}) {
    absl::StatusOr<Plan> plan = BuildPlan(Request(EncodeAs(GeneratedImage(64, 48, channels), ".png"))
                                              .Decode(DecodeMode::kUnchanged)
                                              .Then("gamma", {{"gamma", 0.5}}),
                                          ImageLimits{});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(CudaKernelRegistry::Find("gamma")->accepts(plan->steps[0]), on_gpu) << channels << " channels";
  }
  // Kernels over 32 taps are beyond OpenCV's separable CUDA filters.
  absl::StatusOr<Plan> wide = BuildPlan(
      Request(EncodeAs(GeneratedImage(64, 48), ".png")).Then("gaussian_blur", {{"kernel_width", 33}}), ImageLimits{});
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_FALSE(CudaKernelRegistry::Find("gaussian_blur")->accepts(wide->steps[0]));
}
#endif

TEST(ChainValidationTest, TooManySteps) {
  ImageLimits limits;
  limits.max_operations = 2;
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(EncodeAs(GeneratedImage(20, 20), ".png")).Then("flip").Then("flip").Then("flip"), limits);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("3 steps, over the limit of 2"), std::string::npos);
}

TEST(ChainValidationTest, ValidChainTracksTheResult) {
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(EncodeAs(GeneratedImage(640, 480), ".jpg"))
                    .Then("resize", {{"width", 224}, {"height", 224}, {"interpolation", "INTERPOLATION_AREA"}})
                    .Then("cvt_color", {{"conversion", "CONVERSION_BGR2RGB"}})
                    .Then("normalize")
                    .Raw(Depth::kF32),
                ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->result, (ImageSpec{224, 224, 3, Depth::kF32}));
  EXPECT_EQ(plan->steps.size(), 3u);
}

// The work budget: a request's steps are estimated from the plan (pixel-channel taps) and refused before any
// work when over it, since work queued on a CUDA stream cannot be cancelled.
TEST(CostBudgetTest, ARequestOverTheWorkBudgetIsRefusedNamingTheStepAndItsEstimate) {
  // The case: an elliptic 255x255 morphology, 100 iterations, on a 1080p image (2.5 s per iteration on
  // one CPU worker, so over four minutes).
  const OpSpec elliptic = Op("morphology", {{"shape", "SHAPE_ELLIPSE"}, {"kernel_width", 255}, {"iterations", 100}});
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(EncodeAs(GeneratedImage(1920, 1080), ".jpg")).Then("flip").Then(elliptic), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string message(plan.status().message());
  EXPECT_NE(message.find("operations[1].morphology: estimated work 4.04508e+13"), std::string::npos) << message;
  EXPECT_NE(message.find("1920x1080x3 uint8 in, 100 pass(es)"), std::string::npos) << message;
  EXPECT_NE(message.find("over the server's budget of 5e+10 pixel-channel taps"), std::string::npos) << message;

  // A repeated rectangle counts as OpenCV's CUDA filter runs it: one rectangle as wide as all iterations together.
  plan = BuildPlan(Request(EncodeAs(GeneratedImage(3840, 2160), ".jpg"))
                       .Then("morphology", {{"op", "OP_GRADIENT"}, {"kernel_width", 101}, {"iterations", 50}}),
                   ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();

  // The budget is the server's to set.
  ImageLimits generous;
  generous.max_request_work = 1e14;
  EXPECT_TRUE(BuildPlan(Request(EncodeAs(GeneratedImage(1920, 1080), ".jpg")).Then(elliptic), generous).ok());
}

TEST(CostBudgetTest, BenchWorkloadsAndRealisticChainsFitTheDefaultBudget) {
  const std::string uhd = EncodeAs(GeneratedImage(3840, 2160), ".jpg");
  const std::string photo = EncodeAs(GeneratedImage(4000, 3000), ".jpg");  // a 12 MP phone photo
  const std::vector<Request> chains = {
      Request(uhd).Then("bilateral_filter", {{"diameter", 9}, {"sigma_color", 75}, {"sigma_space", 75}}),  // W2
      Request(photo).Then("resize", {{"scale", 0.5}}).Then("gaussian_blur", {{"kernel_width", 5}, {"sigma_x", 1.5}}),
      Request(photo)
          .Then("resize", {{"width", 224}, {"height", 224}, {"interpolation", "INTERPOLATION_AREA"}})
          .Then("cvt_color", {{"conversion", "CONVERSION_BGR2RGB"}})
          .Then("normalize")
          .Raw(Depth::kF32, Layout::kChw),
      Request(photo).Then("bilateral_filter", {{"diameter", 15}, {"sigma_color", 40}, {"sigma_space", 40}}),
      Request(photo).Then("morphology",
                          {{"op", "OP_OPEN"}, {"shape", "SHAPE_ELLIPSE"}, {"kernel_width", 15}, {"iterations", 3}}),
      Request(photo).Then("gaussian_blur", {{"kernel_width", 101}}).Then("median_blur", {{"kernel_size", 31}}),
      Request(uhd)
          .Then("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}})  // for canny
          .Then("warp_perspective",
                {{"matrix", {1, 0.1, 0, 0, 1, 0, 0, 0, 1}}, {"interpolation", "INTERPOLATION_CUBIC"}})
          .Then("clahe")
          .Then("canny", {{"threshold1", 50}, {"threshold2", 150}, {"aperture_size", 7}}),
  };
  for (size_t i = 0; i < chains.size(); ++i) {
    absl::StatusOr<Plan> plan = BuildPlan(chains[i], ImageLimits{});
    EXPECT_TRUE(plan.ok()) << "chain " << i << ": " << plan.status();
  }
}

TEST(AnswerSizeTest, AnAnswerOverTheLimitIsRefusedFromThePlanNamingTheStepThatGrowsIt) {
  // The case: a small PNG resized to the 100 MP limit with a float32 answer (1.2 GB).
  const std::string png = EncodeAs(GeneratedImage(64, 64), ".png");
  absl::StatusOr<Plan> plan = BuildPlan(
      Request(png).Then("flip").Then("resize", {{"width", 10000}, {"height", 10000}}).Then("flip").Raw(Depth::kF32),
      ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string message(plan.status().message());
  EXPECT_NE(message.find("the answer would be up to 1.2e+09 bytes (10000x10000x3 uint8 as raw float32)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("operations[1].resize (64x64x3 uint8 to 10000x10000x3 uint8) makes it that large"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("bytes for an answer"), std::string::npos) << message;
  // As uint8 PNG the same image is a quarter of that: within the default limit.
  EXPECT_TRUE(BuildPlan(Request(png).Then("resize", {{"width", 8000}, {"height", 8000}}).Output(OutputFormat::kPng),
                        ImageLimits{})
                  .ok());
}

TEST(ImageHeaderTest, ReadsEveryFormatWithoutDecoding) {
  const cv::Mat color = GeneratedImage(123, 45), rgba = GeneratedImage(31, 17, 4), gray = GeneratedImage(50, 60, 1);
  struct Case {
    std::string bytes;
    ImageFormat format;
    int w, h, c;
  };
  for (const Case& c : {Case{EncodeAs(color, ".jpg"), ImageFormat::kJpeg, 123, 45, 3},
                        Case{EncodeAs(gray, ".jpg"), ImageFormat::kJpeg, 50, 60, 1},
                        Case{EncodeAs(color, ".png"), ImageFormat::kPng, 123, 45, 3},
                        Case{EncodeAs(rgba, ".png"), ImageFormat::kPng, 31, 17, 4},
                        Case{EncodeAs(color, ".webp"), ImageFormat::kWebp, 123, 45, 3},
                        Case{EncodeAs(color, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), ImageFormat::kWebp, 123, 45, 3},
                        Case{EncodeAs(color, ".tiff"), ImageFormat::kTiff, 123, 45, 3},
                        Case{EncodeAs(color, ".bmp"), ImageFormat::kBmp, 123, 45, 3}}) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(c.bytes);
    ASSERT_TRUE(header.ok()) << ImageFormatName(c.format) << ": " << header.status();
    EXPECT_EQ(header->format, c.format);
    EXPECT_EQ(header->width, c.w) << ImageFormatName(c.format);
    EXPECT_EQ(header->height, c.h) << ImageFormatName(c.format);
    EXPECT_EQ(header->channels, c.c) << ImageFormatName(c.format);
  }
}

// A 4x2 palette PNG with a tRNS chunk, written by hand (OpenCV cannot write palette PNGs): entry 0 opaque red,
// entry 1 half-transparent green, entry 2 fully transparent blue; rows alternate 0,1,2,0 and 2,1,0,1.
std::string PalettePngWithTransparency() {
  auto crc32 = [](const std::string& bytes) {
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char c : bytes) {
      crc ^= c;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
  };
  const std::string rows = std::string("\0\0\1\2\0", 5) + std::string("\0\2\1\0\1", 5);  // filter 0 + 4 indices
  uint32_t a = 1, b = 0;  // Adler-32 of the uncompressed rows
  for (unsigned char c : rows) a = (a + c) % 65521, b = (b + a) % 65521;
  const uint16_t len = static_cast<uint16_t>(rows.size());
  // zlib stream with one stored (uncompressed) deflate block.
  const std::string idat = std::string("\x78\x01\x01", 3) + static_cast<char>(len & 0xFF) +
                           static_cast<char>(len >> 8) + static_cast<char>(~len & 0xFF) +
                           static_cast<char>((~len >> 8) & 0xFF) + rows + be32((b << 16) | a);
  const std::string ihdr = be32(4) + be32(2) + std::string("\x08\x03\0\0\0", 5);  // 8-bit palette
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
         chunk("PLTE", std::string("\xFF\0\0\0\xFF\0\0\0\xFF", 9)) + chunk("tRNS", std::string("\xFF\x80\0", 3)) +
         chunk("IDAT", idat) + chunk("IEND", "");
}

TEST(ImageHeaderTest, PalettePngTransparencyIsKeptAsAlpha) {
  const std::string png = PalettePngWithTransparency();
  absl::StatusOr<ImageHeader> header = ReadImageHeader(png);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->channels, 4);
  const ImageSpec unchanged = DecodedSpec(*header, DecodeMode::kUnchanged);
  EXPECT_EQ(unchanged.channels, 4);
  absl::StatusOr<cv::Mat> decoded = Decode(png, *header, DecodeMode::kUnchanged, unchanged);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->type(), CV_8UC4);
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 0), cv::Vec4b(0, 0, 255, 255));  // red, opaque (BGRA)
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 1), cv::Vec4b(0, 255, 0, 128));  // green, half
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 2)[3], 0);                       // blue, transparent
  // In colour mode the same image is 3 channels, as before.
  EXPECT_EQ(DecodedSpec(*header, DecodeMode::kColor).channels, 3);
}

TEST(ImageHeaderTest, CmykJpegUnchangedIsConvertedToThreeChannels) {
  const std::string jpeg = ReadFile(TestDataPath("cmyk_64x48.jpg"));
  absl::StatusOr<ImageHeader> header = ReadImageHeader(jpeg);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->channels, 4);
  const ImageSpec unchanged = DecodedSpec(*header, DecodeMode::kUnchanged);
  EXPECT_EQ(unchanged.channels, 3);
  absl::StatusOr<cv::Mat> decoded = Decode(jpeg, *header, DecodeMode::kUnchanged, unchanged);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->type(), CV_8UC3);
  // The same pixels as libjpeg's colour conversion in OpenCV's colour mode.
  const cv::Mat want =
      cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())), cv::IMREAD_COLOR);
  EXPECT_EQ(cv::norm(*decoded, want, cv::NORM_INF), 0);
}

TEST(ImageHeaderTest, ProgressiveJpegScanBombIsRefusedBeforeDecoding) {
  std::vector<unsigned char> encoded;
  cv::imencode(".jpg", GeneratedImage(320, 200), encoded, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const std::string progressive(encoded.begin(), encoded.end());
  absl::StatusOr<ImageHeader> header = ReadImageHeader(progressive);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_FALSE(header->jpeg_sequential);
  EXPECT_GE(header->jpeg_scans, 2);  // libjpeg's progression writes about 10
  EXPECT_LE(header->jpeg_scans, 20);
  EXPECT_TRUE(BuildPlan(Request(progressive), ImageLimits{}).ok());

  // The last scan repeated 3,000 times before the end of the image: small, and hours of decoding at this rate.
  const size_t last_scan = progressive.rfind("\xFF\xDA");
  const size_t end = progressive.rfind("\xFF\xD9");
  ASSERT_NE(last_scan, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::string bomb = progressive.substr(0, end);
  const std::string scan = progressive.substr(last_scan, end - last_scan);
  for (int i = 0; i < 3000; ++i) bomb += scan;
  bomb += "\xFF\xD9";
  header = ReadImageHeader(bomb);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->jpeg_scans, 3000 + ReadImageHeader(progressive)->jpeg_scans);
  absl::StatusOr<Plan> plan = BuildPlan(Request(bomb), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("scans, over the limit of 100"), std::string::npos) << plan.status().message();
}

TEST(ImageHeaderTest, RealPhotoHeader) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg")));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->width, 3840);
  EXPECT_EQ(header->height, 2160);
}

TEST(ImageHeaderTest, RejectsGarbage) {
  for (const std::string& bytes : {std::string(), std::string("hello world"), std::string("\xFF\xD8\xFF\x00\x01", 5),
                                   std::string("\x89PNG\r\n\x1a\n", 8), std::string("RIFF\0\0\0\0WEBPVP8 ", 16)}) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
    EXPECT_FALSE(header.ok());
    EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ImageHeaderTest, HugeDimensionsAreRefusedBeforeDecoding) {
  // A valid PNG header claiming 100000 x 100000 pixels, and nothing else: decoding would need 30 GB.
  std::string png = EncodeAs(GeneratedImage(8, 8), ".png");
  const unsigned char big[4] = {0x00, 0x01, 0x86, 0xA0};
  png.replace(16, 4, reinterpret_cast<const char*>(big), 4);
  png.replace(20, 4, reinterpret_cast<const char*>(big), 4);
  absl::StatusOr<Plan> plan = BuildPlan(Request(png), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("100000x100000, over the limits"), std::string::npos) << plan.status();
}

}  // namespace
}  // namespace imgproc::testing
