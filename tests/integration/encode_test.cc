// The encoder options through the real server (issue 30): JPEG progressive, chroma subsampling and optimized tables
// read back from the answer's bytes; AVIF answers decoded with libavif's decoder at the requested size and compared
// with the same chain's raw pixels; the options in GetServerInfo; an AVIF answer too large to encode refused before
// any work while the server goes on serving.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/encode_checks.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

class EncodeTest : public CpuServerSuite {
 protected:
  // A thumbnail of a test photo: resize to `width` wide, area interpolation (the chain thumbnails use).
  static pb::ProcessRequest Thumbnail(const std::string& photo, int width) {
    pb::ProcessRequest request;
    request.set_image(ReadFile(PhotoPath(photo)));
    pb::Resize* resize = request.add_operations()->mutable_resize();
    resize->set_width(width);
    resize->set_keep_aspect(true);
    resize->set_interpolation(pb::INTERPOLATION_AREA);
    return request;
  }

  static pb::ProcessResponse Call(const pb::ProcessRequest& request) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static cv::Mat Pixels(const std::string& encoded) {
    return cv::imdecode(cv::Mat(1, static_cast<int>(encoded.size()), CV_8U, const_cast<char*>(encoded.data())),
                        cv::IMREAD_UNCHANGED);
  }
};

TEST_F(EncodeTest, JpegOptionsShowInTheAnswersBytes) {
  pb::ProcessRequest request = Thumbnail("nature/Storm.jpg", 640);
  request.mutable_output()->mutable_jpeg()->set_quality(85);
  const pb::ProcessResponse standard = Call(request);
  const JpegStructure standard_parsed = ParseJpegStructure(standard.image());
  EXPECT_EQ(standard.encode_backend(), pb::BACKEND_CPU);
  EXPECT_EQ(standard_parsed.sof_marker, 0xC0);
  EXPECT_EQ(standard_parsed.components.at(0).h, 2);
  EXPECT_EQ(standard_parsed.components.at(0).v, 2);

  pb::JpegOutput* jpeg = request.mutable_output()->mutable_jpeg();
  jpeg->set_progressive(true);
  const JpegStructure progressive = ParseJpegStructure(Call(request).image());
  EXPECT_TRUE(progressive.parsed);
  EXPECT_EQ(progressive.sof_marker, 0xC2);
  EXPECT_GT(progressive.scans, 1);

  jpeg->set_progressive(false);
  jpeg->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_444);
  const pb::ProcessResponse full_chroma = Call(request);
  const JpegStructure full = ParseJpegStructure(full_chroma.image());
  ASSERT_EQ(full.components.size(), 3u);
  for (const auto& c : full.components) EXPECT_TRUE(c.h == 1 && c.v == 1) << c.id << ": " << c.h << "x" << c.v;
  jpeg->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_422);
  const JpegStructure half = ParseJpegStructure(Call(request).image());
  ASSERT_EQ(half.components.size(), 3u);
  EXPECT_TRUE(half.components[0].h == 2 && half.components[0].v == 1);

  jpeg->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_UNSPECIFIED);
  jpeg->set_optimize(true);
  const pb::ProcessResponse optimized = Call(request);
  EXPECT_LT(optimized.image().size(), standard.image().size());
  EXPECT_EQ(cv::norm(Pixels(optimized.image()), Pixels(standard.image()), cv::NORM_INF), 0);
  std::printf("Storm 640 wide, q85: baseline %zu bytes, optimized %zu, 4:4:4 %zu\n", standard.image().size(),
              optimized.image().size(), full_chroma.image().size());
}

TEST_F(EncodeTest, AvifAnswersDecodeWithLibavifAtTheRequestedSize) {
  for (const std::string photo : {"nature/Dune.jpg", "nature/LadyBird.jpg", "abstract/Elephants_3840x2160.jpg"}) {
    SCOPED_TRACE(photo);
    pb::ProcessRequest request = Thumbnail(photo, 320);
    request.mutable_output()->mutable_raw();
    const pb::ProcessResponse raw = Call(request);
    request.mutable_output()->mutable_avif();
    const pb::ProcessResponse avif = Call(request);
    EXPECT_EQ(avif.format(), pb::IMAGE_FORMAT_AVIF);
    EXPECT_EQ(avif.encode_backend(), pb::BACKEND_CPU);
    EXPECT_EQ(avif.width(), 320);
    EXPECT_EQ(avif.height(), raw.height());
    const AvifDecoded decoded = DecodeAvif(avif.image());
    ASSERT_TRUE(decoded.ok) << decoded.error;
    EXPECT_EQ(decoded.pixels.cols, 320);
    EXPECT_EQ(decoded.pixels.rows, raw.height());
    EXPECT_EQ(decoded.yuv_format, 3);  // AVIF_PIXEL_FORMAT_YUV420
    const cv::Mat pixels = RawToMat(raw.image(), raw.width(), raw.height(), raw.channels(), pb::DTYPE_UINT8);
    const double psnr = Psnr(decoded.pixels, pixels);
    EXPECT_GT(psnr, 28.0) << "quality 60 (the default) against the chain's own pixels";
    std::printf("%s 320 wide: avif %zu bytes, %.2f dB against the raw answer\n", photo.c_str(), avif.image().size(),
                psnr);

    request.mutable_output()->mutable_avif()->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_444);
    request.mutable_output()->mutable_avif()->set_quality(90);
    request.mutable_output()->mutable_avif()->set_speed(6);
    const AvifDecoded full = DecodeAvif(Call(request).image());
    ASSERT_TRUE(full.ok) << full.error;
    EXPECT_EQ(full.yuv_format, 1);  // AVIF_PIXEL_FORMAT_YUV444
    EXPECT_GT(Psnr(full.pixels, pixels), psnr);
  }
}

// libavif writes a kept profile (colr 'prof') and XMP into the file; EXIF is reported as not kept.
TEST_F(EncodeTest, AvifAnswersCarryTheKeptProfileAndXmp) {
  cv::Mat photo = cv::imread(PhotoPath("nature/Garden.jpg"), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::resize(photo, photo, cv::Size(640, 640 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
  Metadata written;
  written.icc_profile = IccProfile("colord/AdobeRGB1998.icc");
  written.xmp = XmpPacket("(c) 2026 The Photographer");
  ExifFields fields;
  fields.make = "TestCam";
  written.exif = ExifBlock(fields);
  pb::ProcessRequest request;
  request.set_image(JpegWith(photo, written));
  request.set_color_policy(pb::COLOR_POLICY_KEEP);  // the pixels stay Adobe RGB: the input's profile is theirs
  request.add_operations()->mutable_resize()->set_width(320);
  request.mutable_output()->mutable_avif();
  pb::MetadataPolicy* policy = request.mutable_output()->mutable_metadata();
  policy->set_keep_icc_profile(true);
  policy->set_keep_xmp(true);
  policy->set_exif(pb::EXIF_POLICY_KEEP);
  const pb::ProcessResponse response = Call(request);
  const AvifDecoded decoded = DecodeAvif(response.image());
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_TRUE(decoded.icc_profile == *written.icc_profile);
  EXPECT_TRUE(decoded.xmp == *written.xmp);
  EXPECT_TRUE(response.metadata().icc_profile());
  EXPECT_TRUE(response.metadata().xmp());
  EXPECT_FALSE(response.metadata().exif());
  ASSERT_EQ(response.metadata().not_kept_size(), 1);
  EXPECT_EQ(response.metadata().not_kept(0), "exif: the answer's format carries none");
}

TEST_F(EncodeTest, HeicAnswersDecodeWithLibheifAtTheRequestedSizeAndCarryTheKeptMetadata) {
  for (const std::string photo : {"nature/Dune.jpg", "abstract/Elephants_3840x2160.jpg"}) {
    SCOPED_TRACE(photo);
    pb::ProcessRequest request = Thumbnail(photo, 320);
    request.mutable_output()->mutable_raw();
    const pb::ProcessResponse raw = Call(request);
    request.mutable_output()->mutable_heic();
    const pb::ProcessResponse heic = Call(request);
    EXPECT_EQ(heic.format(), pb::IMAGE_FORMAT_HEIC);
    EXPECT_EQ(heic.encode_backend(), pb::BACKEND_CPU);
    EXPECT_EQ(heic.width(), 320);
    EXPECT_EQ(heic.height(), raw.height());
    const HeicDecoded decoded = DecodeHeic(heic.image());
    ASSERT_TRUE(decoded.ok) << decoded.error;
    EXPECT_EQ(decoded.pixels.cols, 320);
    EXPECT_EQ(decoded.pixels.rows, raw.height());
    EXPECT_EQ(decoded.chroma_format_idc, 1);  // 4:2:0
    const cv::Mat pixels = RawToMat(raw.image(), raw.width(), raw.height(), raw.channels(), pb::DTYPE_UINT8);
    const double psnr = Psnr(decoded.pixels, pixels);
    EXPECT_GT(psnr, 29.0) << "quality 50 (the default) against the chain's own pixels";
    std::printf("%s 320 wide: heic %zu bytes, %.2f dB against the raw answer\n", photo.c_str(), heic.image().size(),
                psnr);
    request.mutable_output()->mutable_heic()->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_444);
    request.mutable_output()->mutable_heic()->set_quality(90);
    request.mutable_output()->mutable_heic()->set_speed(5);
    const HeicDecoded full = DecodeHeic(Call(request).image());
    ASSERT_TRUE(full.ok) << full.error;
    EXPECT_EQ(full.chroma_format_idc, 3);  // 4:4:4
    EXPECT_GT(Psnr(full.pixels, pixels), psnr);
  }

  cv::Mat photo = cv::imread(PhotoPath("nature/Garden.jpg"), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::resize(photo, photo, cv::Size(640, 640 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
  Metadata written;
  written.icc_profile = IccProfile("colord/AdobeRGB1998.icc");
  written.xmp = XmpPacket("(c) 2026 The Photographer");
  ExifFields fields;
  fields.copyright = "(c) 2026 The Photographer";
  fields.gps = true;
  written.exif = ExifBlock(fields);
  pb::ProcessRequest request;
  request.set_image(JpegWith(photo, written));
  request.set_color_policy(pb::COLOR_POLICY_KEEP);
  request.add_operations()->mutable_resize()->set_width(320);
  request.mutable_output()->mutable_heic();
  pb::MetadataPolicy* policy = request.mutable_output()->mutable_metadata();
  policy->set_keep_icc_profile(true);
  policy->set_keep_xmp(true);
  policy->set_exif(pb::EXIF_POLICY_COPYRIGHT_ONLY);
  const pb::ProcessResponse response = Call(request);
  const HeicDecoded decoded = DecodeHeic(response.image());
  ASSERT_TRUE(decoded.ok) << decoded.error;
  EXPECT_TRUE(decoded.icc_profile == *written.icc_profile);
  EXPECT_TRUE(decoded.xmp == *written.xmp);
  const ParsedExif exif = ParseExif(decoded.exif);
  ASSERT_TRUE(exif.loaded);
  EXPECT_EQ(exif.copyright, fields.copyright);
  for (const std::string& tag : exif.tags) EXPECT_NE(tag.rfind("gps:", 0), 0u) << tag;
  EXPECT_TRUE(response.metadata().icc_profile());
  EXPECT_TRUE(response.metadata().exif());
  EXPECT_TRUE(response.metadata().xmp());
  EXPECT_EQ(response.metadata().not_kept_size(), 0);
  // The defaults (convert to sRGB, strip the metadata) leave nothing.
  request.mutable_output()->clear_metadata();
  request.clear_color_policy();
  const HeicDecoded bare = DecodeHeic(Call(request).image());
  ASSERT_TRUE(bare.ok) << bare.error;
  EXPECT_TRUE(bare.icc_profile.empty() && bare.exif.empty() && bare.xmp.empty());
}

TEST_F(EncodeTest, ServerInfoListsEveryOutputFormatWithItsOptions) {
  pb::GetServerInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  for (const pb::ImageFormat format : {pb::IMAGE_FORMAT_AVIF, pb::IMAGE_FORMAT_HEIC}) {
    EXPECT_NE(std::find(info.output_formats().begin(), info.output_formats().end(), format),
              info.output_formats().end())
        << FormatName(format);
  }
  std::map<std::string, std::vector<std::string>> options;
  for (const auto& f : info.output_format_options()) {
    EXPECT_FALSE(f.encoder().empty()) << FormatName(f.format());
    for (const auto& p : f.options()) options[FormatName(f.format())].push_back(p.name());
  }
  // Every field of each format's message in OutputSpec, named as in the proto.
  for (const auto& [format, message] :
       {std::pair<std::string, const google::protobuf::Descriptor*>{"jpeg", pb::JpegOutput::descriptor()},
        {"png", pb::PngOutput::descriptor()},
        {"webp", pb::WebpOutput::descriptor()},
        {"avif", pb::AvifOutput::descriptor()},
        {"heic", pb::HeicOutput::descriptor()},
        {"raw", pb::RawOutput::descriptor()}}) {
    std::vector<std::string> fields;
    for (int i = 0; i < message->field_count(); ++i) fields.push_back(message->field(i)->name());
    EXPECT_EQ(options[format], fields) << format;
  }
  EXPECT_GT(info.limits().max_avif_pixels(), 0);
  EXPECT_GT(info.limits().max_heic_pixels(), 0);
}

TEST_F(EncodeTest, AnAvifAnswerTooLargeToEncodeIsRefusedBeforeAnyWork) {
  pb::ProcessRequest request = Thumbnail("nature/Dune.jpg", 8000);  // 8000x5000: 40 MP
  request.mutable_output()->mutable_avif();
  grpc::Status status = CallProcess(*server_->NewStub(), request, nullptr, std::chrono::seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("over the server's AVIF limit of"), std::string::npos)
      << status.error_message();
  // At speed 0 a 1600x1000 answer is over the work budget.
  request = Thumbnail("nature/Dune.jpg", 1600);
  request.mutable_output()->mutable_avif()->set_speed(0);
  status = CallProcess(*server_->NewStub(), request, nullptr, std::chrono::seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("output.avif: encoding 1600x1000 at speed 0"), std::string::npos)
      << status.error_message();
  // Options a format does not take, and undeclared values, name the field.
  request = Thumbnail("nature/Dune.jpg", 320);
  request.mutable_output()->mutable_avif()->set_speed(11);
  status = CallProcess(*server_->NewStub(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "output.avif.speed: must be in [0, 10] (got 11)");
  request.set_decode_mode(pb::DECODE_MODE_GRAYSCALE);
  request.mutable_output()->mutable_jpeg()->set_chroma_subsampling(pb::CHROMA_SUBSAMPLING_444);
  status = CallProcess(*server_->NewStub(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("output.jpeg.chroma_subsampling"), std::string::npos) << status.error_message();
  request.mutable_output()->mutable_jpeg()->set_chroma_subsampling(static_cast<pb::ChromaSubsampling>(9));
  status = CallProcess(*server_->NewStub(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  // HEIC likewise.
  request = Thumbnail("nature/Dune.jpg", 8000);
  request.mutable_output()->mutable_heic();
  status = CallProcess(*server_->NewStub(), request, nullptr, std::chrono::seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("over the server's HEIC limit of"), std::string::npos)
      << status.error_message();
  request = Thumbnail("nature/Dune.jpg", 320);
  request.mutable_output()->mutable_heic()->set_speed(10);
  status = CallProcess(*server_->NewStub(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "output.heic.speed: must be in [0, 9] (got 10)");
  // And it goes on serving.
  request = Thumbnail("nature/Dune.jpg", 160);
  request.mutable_output()->mutable_avif();
  EXPECT_EQ(Call(request).format(), pb::IMAGE_FORMAT_AVIF);
  request.mutable_output()->mutable_heic();
  EXPECT_EQ(Call(request).format(), pb::IMAGE_FORMAT_HEIC);
}

}  // namespace
}  // namespace imgproc::testing
