// Colour management through the real server (issue 29): photos rendered into wide-gamut profiles, the profile
// embedded, answered in sRGB by default (held to lcms2's conversion of the same decoded pixels), as stored under
// KEEP and IGNORE, hostile profiles answered at once with the reason, and the metric counting each outcome.
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/color_images.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// flip twice: a chain that leaves the pixels alone, as in the measurement.
pb::ProcessRequest TwoFlips(const std::string& image, pb::ColorPolicy policy = pb::COLOR_POLICY_CONVERT_TO_SRGB) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.add_operations()->mutable_flip();
  request.add_operations()->mutable_flip();
  request.mutable_output()->mutable_raw();
  request.set_color_policy(policy);
  return request;
}

cv::Mat Pixels(const pb::ProcessResponse& response) {
  return RawToMat(response.image(), response.width(), response.height(), response.channels(), response.dtype());
}

class ColorServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--backend=cpu", "--cpu_workers=2"});
    ASSERT_TRUE(server_->started());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static double Conversions(const std::string& kind) {
    const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server_->metrics_port(), "/metrics"));
    const auto it = metrics.find(SeriesKey("imgproc_color_conversions_total", {{"device", "cpu"}, {"kind", kind}}));
    return it == metrics.end() ? 0 : it->second;
  }
  static ServerProcess* server_;
};
ServerProcess* ColorServerTest::server_ = nullptr;

TEST_F(ColorServerTest, WideGamutPhotosAnswerInSrgbAsLcms2ConvertsThem) {
  auto stub = server_->NewStub();
  const double converted_before = Conversions("converted");
  int sent = 0;
  double lowest = INFINITY;
  const std::vector<TestProfile> profiles = RgbTestProfiles();
  for (size_t k = 0; k < profiles.size(); ++k) {
    const TestProfile& profile = profiles[k];
    const cv::Mat photo = ColorTestPhoto(static_cast<int>(k), 640, 400);
    const cv::Mat rendered = RenderFromSrgb(photo, profile);
    for (const std::string& image :
         {JpegWithProfile(rendered, profile.bytes), PngWithProfile(rendered, profile.bytes)}) {
      SCOPED_TRACE(profile.name);
      pb::ProcessResponse response;
      const grpc::Status status = CallProcess(*stub, TwoFlips(image), &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ++sent;
      EXPECT_EQ(response.color().action(), pb::COLOR_ACTION_CONVERTED) << response.color().reason();
      EXPECT_EQ(response.color().profile_sha256().size(), 64u);
      EXPECT_NE(response.color().profile_description(), "");
      const double psnr = Psnr(Pixels(response), LcmsToSrgb(DecodeLikeServer(image), profile));
      EXPECT_GE(psnr, 45.0);
      lowest = std::min(lowest, psnr);
    }
  }
  std::printf("lowest PSNR against lcms2 through the server: %.1f dB (%d answers)\n", lowest, sent);
  EXPECT_EQ(Conversions("converted") - converted_before, sent);
}

TEST_F(ColorServerTest, DescriptionAndHashNameTheProfile) {
  auto stub = server_->NewStub();
  const TestProfile adobe = RgbTestProfiles()[0];
  pb::ProcessResponse response;
  ASSERT_TRUE(
      CallProcess(*stub, TwoFlips(JpegWithProfile(RenderFromSrgb(ColorTestPhoto(0), adobe), adobe.bytes)), &response)
          .ok());
  EXPECT_EQ(response.color().source(), "jpeg APP2 ICC_PROFILE");
  EXPECT_EQ(response.color().profile_description(), "Compatible with Adobe RGB (1998)");
  EXPECT_EQ(response.color().reason(), "to sRGB by lcms2 (matrix/TRC profile, perceptual intent)");
}

TEST_F(ColorServerTest, KeepAndIgnoreAnswerThePixelsAsStored) {
  auto stub = server_->NewStub();
  const TestProfile prophoto = RgbTestProfiles()[1];
  const std::string image = PngWithProfile(RenderFromSrgb(ColorTestPhoto(1), prophoto), prophoto.bytes);
  const cv::Mat stored = DecodeLikeServer(image);
  const double kept_before = Conversions("kept"), ignored_before = Conversions("ignored");
  for (const auto& [policy, action] :
       {std::pair{pb::COLOR_POLICY_KEEP, "kept"}, {pb::COLOR_POLICY_IGNORE, "ignored"}}) {
    pb::ProcessResponse response;
    ASSERT_TRUE(CallProcess(*stub, TwoFlips(image, policy), &response).ok());
    EXPECT_EQ(ColorActionName(response.color().action()), action);
    EXPECT_EQ(cv::norm(Pixels(response), stored, cv::NORM_INF), 0) << action;
  }
  EXPECT_EQ(Conversions("kept") - kept_before, 1);
  EXPECT_EQ(Conversions("ignored") - ignored_before, 1);
}

// Each answered at once, as a flag (or INVALID_ARGUMENT under strict_decode); the server goes on serving.
TEST_F(ColorServerTest, HostileProfilesAreAnsweredWithTheReason) {
  auto stub = server_->NewStub();
  const cv::Mat photo = ColorTestPhoto(2, 320, 200);
  const std::string plain = JpegWithProfile(photo, "");
  std::vector<std::string> thousand;
  for (int k = 0; k < 1000; ++k) thousand.push_back(IccSegment(k % 255 + 1, 255, std::string(100, 'x')));
  const std::string adobe = RgbTestProfiles()[0].bytes;
  std::string many_tags = adobe;
  many_tags[128] = '\x7F';  // a tag count of about 2^31
  const std::vector<std::pair<std::string, std::string>> cases = {
      {JpegWithIccSegments(plain, thousand), "ICC_PROFILE segment number 1 appears twice"},
      {JpegWithProfile(photo, many_tags), "Too many tags"},
      {JpegWithProfile(photo, adobe.substr(0, 300)), "no transform from this ICC profile to sRGB"},
  };
  const double invalid_before = Conversions("invalid");
  for (const auto& [image, reason] : cases) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, TwoFlips(image), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.color().action(), pb::COLOR_ACTION_INVALID);
    EXPECT_EQ(response.color().source(), "jpeg APP2 ICC_PROFILE");
    EXPECT_NE(response.color().reason().find(reason), std::string::npos) << response.color().reason();
    EXPECT_EQ(cv::norm(Pixels(response), DecodeLikeServer(image), cv::NORM_INF), 0);
    pb::ProcessRequest strict = TwoFlips(image);
    strict.set_strict_decode(true);
    const grpc::Status refused = CallProcess(*stub, strict);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find(reason), std::string::npos) << refused.error_message();
  }
  EXPECT_EQ(Conversions("invalid") - invalid_before, cases.size());
  pb::ProcessResponse after;
  EXPECT_TRUE(CallProcess(*stub, TwoFlips(plain), &after).ok());
  EXPECT_EQ(after.color().action(), pb::COLOR_ACTION_NONE);
}

}  // namespace
}  // namespace imgproc::testing
