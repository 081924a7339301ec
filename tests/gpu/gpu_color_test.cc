// Issue 29 through the CUDA backend (ctest label gpu). Inputs it decodes on the CPU (PNG, WebP, TIFF, CMYK JPEGs) are
// converted there before the upload, as on the CPU backend: held to lcms2's conversion of the same decoded pixels
// (45 dB). A JPEG that nvJPEG or the JPEG engine decodes is converted on the device (item 3: curves and a 3x3 matrix,
// a 33^3 lattice or a gray curve, codec/color_device_form.h): held to lcms2's conversion of the very pixels the device
// decoded (the same server's answer under COLOR_POLICY_IGNORE) within 45 dB, and to the CPU backend's answer, whose
// libjpeg decode differs from nvJPEG's by a level here and there (40 dB). Skips, saying why, without a usable GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/color_images.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// The bound for the device's conversion against lcms2's of the same pixels.
constexpr double kDeviceAgainstLcms2Db = 45.0;
// Against the CPU backend, which decodes with libjpeg: the decoders' own difference dominates.
constexpr double kAgainstCpuBackendDb = 40.0;

struct Answer {
  cv::Mat pixels;
  pb::ColorReport color;
};

Answer Process(pb::ImageProcessorService::Stub& stub, const std::string& image, pb::ColorPolicy policy,
               pb::DecodeMode mode = pb::DECODE_MODE_COLOR) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.set_color_policy(policy);
  request.set_decode_mode(mode);
  // Upside down on the server, back here: the answer is the decoded (and converted) image itself.
  request.add_operations()->mutable_flip()->set_axis(pb::Flip::AXIS_VERTICAL);
  request.mutable_output()->mutable_raw();
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(stub, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (!status.ok()) return {};
  const cv::Mat answer =
      RawToMat(response.image(), response.width(), response.height(), response.channels(), response.dtype());
  cv::Mat flipped;
  cv::flip(answer, flipped, 0);
  return {flipped, response.color()};
}

double ConvertedOn(int metrics_port, const std::string& device) {
  const std::map<std::string, double> metrics = ParseMetrics(HttpGet(metrics_port, "/metrics"));
  const auto it =
      metrics.find(SeriesKey("imgproc_color_conversions_total", {{"device", device}, {"kind", "converted"}}));
  return it == metrics.end() ? 0 : it->second;
}

TEST(GpuColorTest, EveryInputConvertsAsLcms2Does) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  for (const TestProfile& profile : RgbTestProfiles()) {
    const cv::Mat rendered = RenderFromSrgb(ColorTestPhoto(0, 1280, 800), profile);
    for (const std::string& image :
         {PngWithProfile(rendered, profile.bytes), WebpWithProfile(rendered, profile.bytes)}) {
      const Answer answer = Process(*stub, image, pb::COLOR_POLICY_CONVERT_TO_SRGB);
      std::printf("%-14s cpu decode -> %s: %s\n", profile.name.c_str(), ColorActionName(answer.color.action()).c_str(),
                  answer.color.reason().c_str());
      EXPECT_EQ(answer.color.action(), pb::COLOR_ACTION_CONVERTED) << profile.name << " " << answer.color.reason();
      EXPECT_GE(Psnr(answer.pixels, LcmsToSrgb(DecodeLikeServer(image), profile)), 45.0) << profile.name;
    }
  }
}

// Item 3: GPU-decoded JPEGs converted on the device, no round trip through the CPU.
TEST(GpuColorTest, GpuDecodedJpegsConvertOnTheDeviceAsLcms2Does) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ServerProcess cpu_server({"--backend=cpu"});
  ASSERT_TRUE(server.started() && cpu_server.started());
  auto stub = server.NewStub();
  auto cpu_stub = cpu_server.NewStub();
  int converted = 0;
  for (int photo = 0; photo < 2; ++photo) {
    for (const TestProfile& profile : RgbTestProfiles()) {
      SCOPED_TRACE(profile.name);
      const std::string jpeg =
          JpegWithProfile(RenderFromSrgb(ColorTestPhoto(photo, 1280, 800), profile), profile.bytes);
      const Answer device = Process(*stub, jpeg, pb::COLOR_POLICY_CONVERT_TO_SRGB);
      const Answer decoded = Process(*stub, jpeg, pb::COLOR_POLICY_IGNORE);  // the device's decode, unconverted
      const Answer cpu = Process(*cpu_stub, jpeg, pb::COLOR_POLICY_CONVERT_TO_SRGB);
      ASSERT_FALSE(device.pixels.empty() || decoded.pixels.empty() || cpu.pixels.empty());
      EXPECT_EQ(device.color.action(), pb::COLOR_ACTION_CONVERTED);
      EXPECT_NE(device.color.reason().find("to sRGB on cuda:0 ("), std::string::npos) << device.color.reason();
      const bool lattice = device.color.reason().find("lattice") != std::string::npos;
      const bool matrix = device.color.reason().find("curves + 3x3") != std::string::npos;
      EXPECT_TRUE(lattice || matrix) << device.color.reason();
      const double against_lcms2 = Psnr(device.pixels, LcmsToSrgb(decoded.pixels, profile));
      const double against_cpu = Psnr(device.pixels, cpu.pixels);
      std::printf("%-14s photo %d: %s; %.1f dB from lcms2 on the device's decode, %.1f dB from the CPU backend\n",
                  profile.name.c_str(), photo, device.color.reason().c_str(), against_lcms2, against_cpu);
      EXPECT_GE(against_lcms2, kDeviceAgainstLcms2Db);
      EXPECT_GE(against_cpu, kAgainstCpuBackendDb);
      ++converted;
    }
  }
  EXPECT_GE(ConvertedOn(server.metrics_port(), "cuda:0"), converted);
}

// A gray JPEG in a gray profile (the device's curve on the one channel, or on each of three when asked for colour),
// and a gray answer asked of a colour JPEG in Adobe RGB (converted in colour on the device, then made gray).
TEST(GpuColorTest, GrayJpegsAndGrayAnswersConvertOnTheDevice) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const TestProfile gray = GrayTestProfile();
  const std::string gray_jpeg = JpegWithProfile(RenderFromSrgb(ColorTestPhoto(1, 1280, 800), gray), gray.bytes);
  const Answer decoded = Process(*stub, gray_jpeg, pb::COLOR_POLICY_IGNORE, pb::DECODE_MODE_GRAYSCALE);
  ASSERT_EQ(decoded.pixels.channels(), 1);
  const cv::Mat reference = LcmsToSrgb(decoded.pixels, gray);
  for (pb::DecodeMode mode : {pb::DECODE_MODE_GRAYSCALE, pb::DECODE_MODE_COLOR}) {
    const Answer answer = Process(*stub, gray_jpeg, pb::COLOR_POLICY_CONVERT_TO_SRGB, mode);
    ASSERT_FALSE(answer.pixels.empty());
    EXPECT_NE(answer.color.reason().find("on cuda:0 (gray profile, curve)"), std::string::npos)
        << answer.color.reason();
    cv::Mat expected = reference;
    if (mode == pb::DECODE_MODE_COLOR) cv::cvtColor(reference, expected, cv::COLOR_GRAY2BGR);
    EXPECT_GE(Psnr(answer.pixels, expected), kDeviceAgainstLcms2Db) << mode;
  }

  const TestProfile adobe = RgbTestProfiles().front();
  const std::string colour_jpeg = JpegWithProfile(RenderFromSrgb(ColorTestPhoto(2, 1280, 800), adobe), adobe.bytes);
  const Answer in_colour = Process(*stub, colour_jpeg, pb::COLOR_POLICY_CONVERT_TO_SRGB);
  const Answer in_gray = Process(*stub, colour_jpeg, pb::COLOR_POLICY_CONVERT_TO_SRGB, pb::DECODE_MODE_GRAYSCALE);
  ASSERT_FALSE(in_colour.pixels.empty() || in_gray.pixels.empty());
  ASSERT_EQ(in_gray.pixels.channels(), 1);
  EXPECT_NE(in_gray.color.reason().find("on cuda:0"), std::string::npos) << in_gray.color.reason();
  cv::Mat expected_gray;
  cv::cvtColor(in_colour.pixels, expected_gray, cv::COLOR_BGR2GRAY);
  EXPECT_GE(Psnr(in_gray.pixels, expected_gray), kDeviceAgainstLcms2Db);
}

}  // namespace
}  // namespace imgproc::testing
