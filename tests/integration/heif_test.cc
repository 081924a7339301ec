// HEIC and AVIF through the real server on loopback (issue 30): an iPhone-style HEIC (a grid of 512x512 tiles,
// turned by irot, its EXIF repeating the turn) becomes a JPEG thumbnail turned once with its EXIF Orientation 1; an
// AVIF with alpha answers its four channels; GetServerInfoResponse lists the formats; hostile files are
// INVALID_ARGUMENT naming the limit, and the server keeps serving.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/heif_images.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

class HeifServerTest : public CpuServerSuite {};

// Lossy HEVC at quality 90, then a resize and a JPEG at 95 on both paths: measured about 36 dB; a wrong turn or
// mirror is under 15.
constexpr double kMinPsnr = 30.0;

cv::Mat Photo(double scale) {
  cv::Mat photo = cv::imread(PhotoPath("nature/TwoWings.jpg"), cv::IMREAD_COLOR);
  cv::resize(photo, photo, cv::Size(), scale, scale, cv::INTER_AREA);
  return photo;
}

TEST_F(HeifServerTest, AnIphoneStyleHeicBecomesAJpegThumbnailTurnedOnce) {
  const cv::Mat photo = Photo(0.5);  // 1280x800: 3x2 tiles of 512
  const std::string heic = EncodeHeifGrid(photo, 512, {HeifCodec::kHevc, 8, 90}, /*irot_quarters=*/3);
  pb::ProcessRequest request;
  request.set_image(heic);
  pb::Resize* resize = request.add_operations()->mutable_resize();
  resize->set_width(200);
  resize->set_height(320);
  resize->set_interpolation(pb::INTERPOLATION_AREA);
  request.mutable_output()->mutable_jpeg()->set_quality(95);
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.format(), pb::IMAGE_FORMAT_JPEG);
  EXPECT_EQ(response.width(), 200);
  EXPECT_EQ(response.height(), 320);
  cv::Mat expected;
  cv::rotate(photo, expected, cv::ROTATE_90_CLOCKWISE);  // irot 3: three quarter turns anticlockwise
  cv::resize(expected, expected, cv::Size(200, 320), 0, 0, cv::INTER_AREA);
  const cv::Mat answer = cv::imdecode(
      cv::Mat(1, static_cast<int>(response.image().size()), CV_8U, const_cast<char*>(response.image().data())),
      cv::IMREAD_COLOR);
  ASSERT_FALSE(answer.empty());
  EXPECT_GE(Psnr(answer, expected), kMinPsnr);
}

TEST_F(HeifServerTest, TheKeptExifOfAHeicSaysOrientationOne) {
  HeifEncodeOptions options;
  ExifFields fields;
  fields.orientation = 6;
  fields.make = "Apple";
  options.exif = ExifBlock(fields);
  const std::string heic = EncodeHeifRotated(Photo(0.1), options, /*irot_quarters=*/3);
  pb::ProcessRequest request;
  request.set_image(heic);
  request.mutable_output()->mutable_jpeg();
  request.mutable_output()->mutable_metadata()->set_exif(pb::EXIF_POLICY_KEEP);
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.metadata().exif());
  const ReadMetadata read = ReadAnswerMetadata(response.image(), "jpeg");
  ASSERT_TRUE(read.metadata.exif.has_value());
  const ParsedExif exif = ParseExif(*read.metadata.exif);
  EXPECT_EQ(exif.orientation, 1);
  EXPECT_EQ(exif.make, "Apple");
  EXPECT_EQ(response.width(), Photo(0.1).rows);
}

TEST_F(HeifServerTest, AnAvifWithAlphaAnswersFourChannels) {
  const cv::Mat photo = Photo(0.1);
  cv::Mat bgra;
  cv::cvtColor(photo, bgra, cv::COLOR_BGR2BGRA);
  bgra(cv::Rect(0, 0, bgra.cols / 2, bgra.rows)).forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 0; });
  pb::ProcessRequest request;
  request.set_image(EncodeHeif(bgra, {HeifCodec::kAv1, 10, 90}));
  request.set_decode_mode(pb::DECODE_MODE_UNCHANGED);
  request.mutable_output()->mutable_png();
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.channels(), 4);
  const cv::Mat answer = cv::imdecode(
      cv::Mat(1, static_cast<int>(response.image().size()), CV_8U, const_cast<char*>(response.image().data())),
      cv::IMREAD_UNCHANGED);
  ASSERT_EQ(answer.channels(), 4);
  EXPECT_GE(Psnr(answer, bgra), kMinPsnr);
}

TEST_F(HeifServerTest, ServerInfoListsHeicAndAvif) {
  pb::GetServerInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  const auto& formats = info.input_formats();
  for (const pb::ImageFormat format : {pb::IMAGE_FORMAT_HEIC, pb::IMAGE_FORMAT_HEIF, pb::IMAGE_FORMAT_AVIF}) {
    EXPECT_NE(std::find(formats.begin(), formats.end(), format), formats.end()) << FormatName(format);
  }
  ASSERT_GT(info.devices_size(), 0);
  EXPECT_NE(info.devices(0).codecs().find("libheif"), std::string::npos) << info.devices(0).codecs();
}

TEST_F(HeifServerTest, HostileFilesAreInvalidArgumentAndTheServerKeepsServing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {HostileHeifGrid(65536, 65536, 2, 2, 32768, 32768), "over the limits (16384x16384"},
      {HostileHeifGrid(4080, 4080, 255, 255, 16, 16), "65025 tiles, over the limit of 4096"},
      {HostileHeifGrid(32, 32, 2, 2, 16, 16, /*self_reference=*/true), "nested or recursive grids are refused"},
      {HostileHeifGrid(32, 32, 2, 2, 16, 16), "could not decode heif data"},
      {EncodeHeif(Photo(0.05), {}).substr(0, 300), "heif"},
  };
  for (const auto& [file, message] : cases) {
    pb::ProcessRequest request;
    request.set_image(file);
    const grpc::Status status = CallProcess(*server_->NewStub(), request, nullptr, std::chrono::seconds(20));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find(message), std::string::npos) << status.error_message();
  }
  pb::ProcessRequest good;
  good.set_image(EncodeHeif(Photo(0.05), {}));
  EXPECT_TRUE(CallProcess(*server_->NewStub(), good).ok());
}

}  // namespace
}  // namespace imgproc::testing
