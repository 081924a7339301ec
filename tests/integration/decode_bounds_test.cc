// Issue 28, items 2 and 8, through the real server on loopback: chunk bombs refused with the server's peak memory
// flat, partial decodes said in the response and the metric (or refused under strict_decode), 12-bit JPEGs named,
// and EXIF orientation applied to PNG and WebP.
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/bounds_images.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

constexpr long long kMiB = 1 << 20;

pb::ProcessRequest RawRequest(const std::string& image) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.mutable_output()->mutable_raw();
  return request;
}

cv::Mat Pixels(const pb::ProcessResponse& r) {
  return RawToMat(r.image(), r.width(), r.height(), r.channels(), r.dtype());
}

// The server's peak resident memory after a warm-up request (a PNG decode, so that the decoder's own first
// allocations are in the baseline).
long long WarmedUpPeak(const ServerProcess& server) {
  auto stub = server.NewStub();
  const grpc::Status status = CallProcess(*stub, RawRequest(EncodeAs(GeneratedImage(64, 48), ".png")));
  EXPECT_TRUE(status.ok()) << status.error_message();
  return PeakResidentBytes(server.pid());
}

TEST(DecodeBoundsTest, PngChunksDeclaringAGibibyteAreRefusedAndThePeakMemoryStaysFlat) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  const long long before = WarmedUpPeak(server);
  ASSERT_GT(before, 0);
  auto stub = server.NewStub();
  for (const std::string& type : AncillaryChunkTypes()) {
    const grpc::Status status = CallProcess(*stub, RawRequest(ChunkBombPng(type)));
    EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT) << type;
    EXPECT_NE(status.error_message().find("chunk '" + type + "' at offset 33 declares 1073741824 bytes"),
              std::string::npos)
        << status.error_message();
  }
  const long long after = PeakResidentBytes(server.pid());
  std::printf("chunk bombs (6 types, 57 bytes each): server peak RSS %.1f -> %.1f MiB (+%.1f)\n",
              static_cast<double>(before) / kMiB, static_cast<double>(after) / kMiB,
              static_cast<double>(after - before) / kMiB);
  EXPECT_LT(after - before, 16 * kMiB);
  EXPECT_TRUE(CallProcess(*stub, SmallFlipRequest()).ok());  // still serving
}

TEST(DecodeBoundsTest, CompressedZtxtAndIccpBombsDecodeWithThePeakMemoryFlat) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  const long long before = WarmedUpPeak(server);
  ASSERT_GT(before, 0);
  auto stub = server.NewStub();
  // 40 zTXt chunks that inflate to 7.5 MB each (under libpng's default limit of 8 MB a chunk, which OpenCV's
  // decoder kept: 300 MB of text held at once), and an iCCP profile of 7.5 MB, a few hundred kilobytes on the wire.
  const std::string ztxt = ZtxtBombPng(40, 7'500'000);
  const std::string iccp = IccpBombPng(7'500'000);
  std::printf("compressed bombs on the wire: zTXt x40 %zu bytes, iCCP %zu bytes\n", ztxt.size(), iccp.size());
  const cv::Mat want = GeneratedImage(64, 48);
  for (const std::string& png : {ztxt, iccp}) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, RawRequest(png), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Compare(Pixels(response), want).max_abs, 0);
  }
  const long long after = PeakResidentBytes(server.pid());
  std::printf("compressed bombs: server peak RSS %.1f -> %.1f MiB (+%.1f)\n", static_cast<double>(before) / kMiB,
              static_cast<double>(after) / kMiB, static_cast<double>(after - before) / kMiB);
  EXPECT_LT(after - before, 16 * kMiB);
}

class PartialDecodeTest : public CpuServerSuite {};

TEST_F(PartialDecodeTest, TruncatedJpegsAnswerWithPartialDecodeAndStrictDecodeRefusesThem) {
  auto stub = server_->NewStub();
  const double partial_before = MetricSum(server_->metrics_port(), "imgproc_partial_decodes_total");
  int partial = 0;
  for (const std::string& path : NaturePhotos()) {
    const std::string jpeg = ReadFile(path);
    for (const double cut : {1.0, 0.9, 0.5}) {
      SCOPED_TRACE(::testing::Message() << path << " cut at " << cut);
      pb::ProcessRequest request = RawRequest(jpeg.substr(0, static_cast<size_t>(jpeg.size() * cut)));
      auto* resize = request.add_operations()->mutable_resize();  // small answers; the decoder still meets the cut
      resize->set_width(64);
      resize->set_height(40);
      pb::ProcessResponse response;
      grpc::Status status = CallProcess(*stub, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      if (cut == 1.0) {
        EXPECT_FALSE(response.partial_decode());
        EXPECT_EQ(response.partial_decode_reason(), "");
        continue;
      }
      ++partial;
      EXPECT_TRUE(response.partial_decode());
      EXPECT_NE(response.partial_decode_reason().find("the jpeg data ends"), std::string::npos)
          << response.partial_decode_reason();
      request.set_strict_decode(true);
      status = CallProcess(*stub, request);
      EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
      EXPECT_NE(status.error_message().find("strict_decode: the jpeg data ends"), std::string::npos)
          << status.error_message();
    }
  }
  EXPECT_EQ(partial, 24);
  EXPECT_EQ(MetricSum(server_->metrics_port(), "imgproc_partial_decodes_total") - partial_before, partial);
}

TEST_F(PartialDecodeTest, DamagedScanDataBeforeAnEndMarkerIsFoundByTheCpuDecoder) {
  // Half the scan, then the end-of-image marker: whole as a structure, so only libjpeg sees the damage.
  const std::string whole = ReadFile(PhotoPath("nature/Storm.jpg"));
  pb::ProcessRequest request = RawRequest(whole.substr(0, whole.size() / 2) + "\xFF\xD9");
  pb::ProcessResponse response;
  grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.partial_decode());
  EXPECT_NE(response.partial_decode_reason().find("jpeg decoder: Corrupt JPEG data"), std::string::npos)
      << response.partial_decode_reason();
  request.set_strict_decode(true);
  status = CallProcess(*server_->NewStub(), request);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("strict_decode: jpeg decoder: Corrupt JPEG data"), std::string::npos)
      << status.error_message();
}

TEST_F(PartialDecodeTest, A12BitJpegIsRefusedAsUnsupportedPrecision) {
  // Re-encoded: the photo's EXIF thumbnail has a frame header of its own.
  std::string jpeg = EncodeAs(DecodeLikeServer(ReadFile(PhotoPath("nature/Storm.jpg"))), ".jpg");
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 4] = 12;  // the frame header's sample precision
  const grpc::Status status = CallProcess(*server_->NewStub(), RawRequest(jpeg));
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("12-bit JPEG not supported"), std::string::npos) << status.error_message();
}

// The EXIF turn written with cv::rotate and cv::flip, independently of codec/orientation.cc.
cv::Mat Turned(const cv::Mat& stored, int orientation) {
  cv::Mat out = stored.clone();
  switch (orientation) {
    case 2: cv::flip(stored, out, 1); break;
    case 3: cv::rotate(stored, out, cv::ROTATE_180); break;
    case 4: cv::flip(stored, out, 0); break;
    case 5:  // mirrored, then rotated 270 clockwise: the transpose
      cv::rotate(stored, out, cv::ROTATE_90_CLOCKWISE);
      cv::flip(out, out, 1);
      break;
    case 6: cv::rotate(stored, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7:
      cv::rotate(stored, out, cv::ROTATE_90_CLOCKWISE);
      cv::flip(out, out, 0);
      break;
    case 8: cv::rotate(stored, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: break;
  }
  return out;
}

TEST_F(PartialDecodeTest, PngExifAndWebpExifOrientationAreAppliedLikeJpegs) {
  const std::string photo = ReadFile(PhotoPath("nature/LadyBird.jpg"));
  cv::Mat stored;
  cv::resize(DecodeLikeServer(photo), stored, cv::Size(96, 64), 0, 0, cv::INTER_AREA);
  const std::string png = EncodeAs(stored, ".png");
  const std::string webp = EncodeAs(stored, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});  // lossless
  const cv::Mat webp_stored = DecodeLikeServer(webp);
  ASSERT_EQ(Compare(DecodeLikeServer(png), stored).max_abs, 0);
  auto stub = server_->NewStub();
  for (int orientation = 1; orientation <= 8; ++orientation) {
    for (const auto& [name, file, reference] :
         {std::tuple{"png", PngWithExifOrientation(png, orientation), stored},
          std::tuple{"webp", WebpWithExifOrientation(webp, 96, 64, orientation), webp_stored}}) {
      SCOPED_TRACE(::testing::Message() << name << " orientation " << orientation);
      pb::ProcessRequest request = RawRequest(file);
      pb::ProcessResponse response;
      grpc::Status status = CallProcess(*stub, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      PixelDiff diff = Compare(Pixels(response), Turned(reference, orientation));
      EXPECT_TRUE(diff.same_shape) << response.width() << "x" << response.height();
      EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
      request.set_ignore_exif_orientation(true);
      status = CallProcess(*stub, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      diff = Compare(Pixels(response), reference);
      EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
    }
  }
}

}  // namespace
}  // namespace imgproc::testing
