// 16-bit images (issue 30, item 3) through the real server on loopback: a 16-bit PNG and a 16-bit TIFF made from a
// photo (its low bytes varied) come back value for value through a pixel-neutral chain as 16-bit PNG, as TIFF and as
// raw uint16; the 8-bit answers of a 16-bit chain are round(v / 257); an operation without 16-bit support is
// INVALID_ARGUMENT naming the step; GetServerInfoResponse lists each operation's depths and the TIFF output.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/color_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

class SixteenBitTest : public CpuServerSuite {
 protected:
  static grpc::Status Call(const pb::ProcessRequest& request, pb::ProcessResponse* response) {
    return CallProcess(*server_->NewStub(), request, response);
  }
  static cv::Mat Decoded(const std::string& encoded) {
    return cv::imdecode(cv::Mat(1, static_cast<int>(encoded.size()), CV_8U, const_cast<char*>(encoded.data())),
                        cv::IMREAD_UNCHANGED);
  }
  // A flip there and back: every value must come back where it was.
  static pb::ProcessRequest FlippedTwice(const std::string& image) {
    pb::ProcessRequest request;
    request.set_image(image);
    request.set_decode_depth(pb::SAMPLE_DEPTH_16);
    request.set_decode_mode(pb::DECODE_MODE_UNCHANGED);
    for (int k = 0; k < 2; ++k) request.add_operations()->mutable_flip()->set_axis(pb::Flip::AXIS_BOTH);
    return request;
  }
};

// A nature photo at 16 bits whose low byte matters: v * 256 plus a pattern (at most 65535).
cv::Mat Photo16(int index) {
  const cv::Mat photo = ColorTestPhoto(index, 320, 200);
  cv::Mat out(photo.size(), CV_16UC3);
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        out.at<cv::Vec3w>(y, x)[c] =
            static_cast<uint16_t>(photo.at<cv::Vec3b>(y, x)[c] * 256 + ((x * 7 + y * 3 + c * 29) & 255));
      }
    }
  }
  return out;
}

TEST_F(SixteenBitTest, SixteenBitPngAndTiffRoundTripExactAsPngTiffAndRawUint16) {
  const cv::Mat photo = Photo16(5);
  for (const char* extension : {".png", ".tiff"}) {
    const std::string input = EncodeAs(photo, extension);
    ASSERT_EQ(Decoded(input).depth(), CV_16U) << extension;
    pb::ProcessRequest request = FlippedTwice(input);

    request.mutable_output()->mutable_png();
    pb::ProcessResponse png;
    grpc::Status status = Call(request, &png);
    ASSERT_TRUE(status.ok()) << extension << ": " << status.error_message();
    EXPECT_EQ(png.format(), pb::IMAGE_FORMAT_PNG);
    EXPECT_EQ(png.dtype(), pb::DTYPE_UINT16);
    const cv::Mat png_pixels = Decoded(png.image());
    ASSERT_EQ(png_pixels.type(), CV_16UC3) << extension;
    EXPECT_EQ(Compare(png_pixels, photo).max_abs, 0)
        << extension << " as png: " << Compare(png_pixels, photo).Describe();

    for (pb::TiffOutput::TiffCompression compression :
         {pb::TiffOutput::TIFF_COMPRESSION_DEFLATE, pb::TiffOutput::TIFF_COMPRESSION_NONE}) {
      request.mutable_output()->mutable_tiff()->set_compression(compression);
      pb::ProcessResponse tiff;
      status = Call(request, &tiff);
      ASSERT_TRUE(status.ok()) << extension << ": " << status.error_message();
      EXPECT_EQ(tiff.format(), pb::IMAGE_FORMAT_TIFF);
      EXPECT_EQ(tiff.dtype(), pb::DTYPE_UINT16);
      const cv::Mat tiff_pixels = Decoded(tiff.image());
      ASSERT_EQ(tiff_pixels.type(), CV_16UC3) << extension;
      EXPECT_EQ(Compare(tiff_pixels, photo).max_abs, 0) << extension << " as tiff " << compression;
      // Uncompressed, the answer holds every value: larger than the pixels.
      if (compression == pb::TiffOutput::TIFF_COMPRESSION_NONE) {
        EXPECT_GE(tiff.image().size(), photo.total() * photo.elemSize());
      }
    }

    request.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_UINT16);
    pb::ProcessResponse raw;
    status = Call(request, &raw);
    ASSERT_TRUE(status.ok()) << extension << ": " << status.error_message();
    EXPECT_EQ(raw.dtype(), pb::DTYPE_UINT16);
    const cv::Mat raw_pixels = RawToMat(raw.image(), raw.width(), raw.height(), raw.channels(), pb::DTYPE_UINT16);
    ASSERT_FALSE(raw_pixels.empty());
    EXPECT_EQ(Compare(raw_pixels, photo).max_abs, 0) << extension << " as raw uint16";
  }
}

// JPEG, WebP and AVIF answers of a uint16 chain are encoded from round(v / 257): a JPEG input's 16-bit chain (v * 257)
// gives the very bytes of its 8-bit chain; raw uint8 of a 16-bit PNG is round(v / 257) of its values.
TEST_F(SixteenBitTest, EightBitAnswersOfA16BitChainAreRoundVOver257) {
  const std::string jpeg = ReadFile(PhotoPath("nature/Dune.jpg"));
  for (const char* format : {"jpeg", "webp", "png"}) {
    pb::ProcessRequest eight;
    eight.set_image(jpeg);
    pb::Resize* resize = eight.add_operations()->mutable_resize();
    resize->set_width(320);
    resize->set_keep_aspect(true);
    resize->set_interpolation(pb::INTERPOLATION_NEAREST);  // the same source pixels at both depths
    if (std::string(format) == "jpeg") eight.mutable_output()->mutable_jpeg();
    if (std::string(format) == "webp") eight.mutable_output()->mutable_webp();
    if (std::string(format) == "png") eight.mutable_output()->mutable_png();
    pb::ProcessRequest sixteen = eight;
    sixteen.set_decode_depth(pb::SAMPLE_DEPTH_16);
    pb::ProcessResponse a, b;
    ASSERT_TRUE(Call(eight, &a).ok());
    ASSERT_TRUE(Call(sixteen, &b).ok());
    if (std::string(format) == "png") {  // a 16-bit PNG of v * 257
      EXPECT_EQ(b.dtype(), pb::DTYPE_UINT16);
      cv::Mat expected;
      Decoded(a.image()).convertTo(expected, CV_16U, 257.0);
      EXPECT_EQ(Compare(Decoded(b.image()), expected).max_abs, 0);
    } else {
      EXPECT_EQ(b.dtype(), pb::DTYPE_UINT8) << format;
      EXPECT_EQ(a.image(), b.image()) << format << ": the same bytes";
    }
  }
  const cv::Mat photo = Photo16(6);
  pb::ProcessRequest raw = FlippedTwice(EncodeAs(photo, ".png"));
  raw.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_UINT8);
  pb::ProcessResponse answer;
  ASSERT_TRUE(Call(raw, &answer).ok());
  cv::Mat expected;
  photo.convertTo(expected, CV_8U, 1.0 / 257.0);
  EXPECT_EQ(
      Compare(RawToMat(answer.image(), answer.width(), answer.height(), answer.channels(), pb::DTYPE_UINT8), expected)
          .max_abs,
      0);
}

TEST_F(SixteenBitTest, AnOperationWithoutUint16IsInvalidArgumentNamingTheStep) {
  pb::ProcessRequest request = FlippedTwice(EncodeAs(Photo16(7), ".png"));
  request.add_operations()->mutable_cvt_color()->set_conversion(pb::CvtColor::CONVERSION_BGR2GRAY);
  request.add_operations()->mutable_canny()->set_threshold2(100);
  request.mutable_output()->mutable_png();
  pb::ProcessResponse response;
  const grpc::Status status = Call(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("operations[3].canny: takes uint8 pixels (input is 320x200x1 uint16)"),
            std::string::npos)
      << status.error_message();
  // The same chain at 8 bits is served.
  request.set_decode_depth(pb::SAMPLE_DEPTH_8);
  EXPECT_TRUE(Call(request, &response).ok());
}

TEST_F(SixteenBitTest, ServerInfoListsEachOperationsDepthsAndTheTiffOutput) {
  pb::GetServerInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  std::map<std::string, std::vector<std::string>> depths;
  for (const pb::OperationInfo& op : info.operations()) {
    for (const int dtype : op.depths()) depths[op.name()].push_back(DtypeName(static_cast<pb::Dtype>(dtype)));
  }
  EXPECT_EQ(depths["resize"], (std::vector<std::string>{"uint8", "uint16", "float32"}));
  EXPECT_EQ(depths["gaussian_blur"], (std::vector<std::string>{"uint8", "uint16", "float32"}));
  EXPECT_EQ(depths["canny"], (std::vector<std::string>{"uint8"}));
  EXPECT_EQ(depths["bilateral_filter"], (std::vector<std::string>{"uint8", "float32"}));
  EXPECT_EQ(depths.size(), static_cast<size_t>(info.operations_size()));
  for (const auto& [name, list] : depths) EXPECT_FALSE(list.empty()) << name;
  const auto& formats = info.output_formats();
  EXPECT_NE(std::find(formats.begin(), formats.end(), pb::IMAGE_FORMAT_TIFF), formats.end());
  bool tiff_options = false;
  for (const pb::OutputFormatInfo& f : info.output_format_options())
    tiff_options |= f.format() == pb::IMAGE_FORMAT_TIFF;
  EXPECT_TRUE(tiff_options);
}

}  // namespace
}  // namespace imgproc::testing
