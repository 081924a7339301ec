// The metadata policy through the real server: the test photos, with EXIF (libexif), XMP and ICC profiles (Debian's
// colord-data and icc-profiles-free) written into them by libjpeg, libpng and libwebpmux, sent as JPEG, PNG and
// WebP; the answers read back with the same libraries. Stripped by default; each kept block round-trips; hostile
// blocks are answered within the deadline and the server keeps serving.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/color_images.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

#ifndef IMGPROC_CLI_BINARY
#error "IMGPROC_CLI_BINARY must name the CLI executable"
#endif

namespace imgproc::testing {
namespace {

const char* const kRights = "(c) 2026 The Photographer";

class MetadataTest : public CpuServerSuite {
 protected:
  // A test photo as the camera stored it, at 960 wide so that the requests stay quick.
  static cv::Mat Photo(int index) {
    const std::vector<std::string> photos = NaturePhotos();
    cv::Mat photo = cv::imread(photos.at(index % photos.size()), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    cv::resize(photo, photo, cv::Size(960, 960 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
    return photo;
  }

  static ExifFields Camera(const cv::Mat& photo) {
    ExifFields fields;
    fields.orientation = 6;  // stored turned: the answer is upright, taller than wide
    fields.make = "TestCam";
    fields.copyright = kRights;
    fields.artist = "The Photographer";
    fields.gps = true;
    fields.pixel_width = photo.cols;
    fields.pixel_height = photo.rows;
    fields.thumbnail = EncodeAs(GeneratedImage(160, 120), ".jpg");
    return fields;
  }

  static Metadata Everything(const cv::Mat& photo, const std::string& profile = "colord/AdobeRGB1998.icc") {
    Metadata metadata;
    metadata.exif = ExifBlock(Camera(photo));
    metadata.xmp = XmpPacket(kRights, 6);
    metadata.icc_profile = IccProfile(profile);
    return metadata;
  }

  static std::string Encoded(const cv::Mat& photo, const Metadata& metadata, const std::string& format) {
    if (format == "png") return PngWith(photo, metadata);
    if (format == "webp") return WebpWith(photo, metadata);
    return JpegWith(photo, metadata);
  }

  // A resize to 480 wide (upright), answered as `format`, with `policy`.
  // Under color_policy KEEP the pixels stay in the input's profile, so a kept profile is the input's byte for byte;
  // by default they are converted to sRGB, and a kept profile is then lcms2's sRGB
  // (AKeptProfileIsThePixelsProfileUnderEachColorPolicy).
  static pb::ProcessRequest Request(const std::string& image, const std::string& format,
                                    const pb::MetadataPolicy& policy = pb::MetadataPolicy(),
                                    pb::ColorPolicy color_policy = pb::COLOR_POLICY_CONVERT_TO_SRGB) {
    pb::ProcessRequest request;
    request.set_image(image);
    request.set_color_policy(color_policy);
    pb::Resize* resize = request.add_operations()->mutable_resize();
    resize->set_width(480);
    resize->set_interpolation(pb::INTERPOLATION_AREA);
    if (format == "png") request.mutable_output()->mutable_png();
    if (format == "webp") request.mutable_output()->mutable_webp();
    if (format == "jpeg") request.mutable_output()->mutable_jpeg();
    *request.mutable_output()->mutable_metadata() = policy;
    return request;
  }

  static pb::MetadataPolicy KeepEverything() {
    pb::MetadataPolicy policy;
    policy.set_keep_icc_profile(true);
    policy.set_exif(pb::EXIF_POLICY_KEEP);
    policy.set_keep_xmp(true);
    return policy;
  }

  static pb::ProcessResponse Process(const pb::ProcessRequest& request) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*server_->NewStub(), request, &response, std::chrono::seconds(60));
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
};

const std::vector<std::string> kFormats = {"jpeg", "png", "webp"};

TEST_F(MetadataTest, TheDefaultStripsEveryBlockFromEveryAnswer) {
  for (int p = 0; p < 2; ++p) {
    const cv::Mat photo = Photo(p);
    for (const std::string& in : kFormats) {
      const std::string image = Encoded(photo, Everything(photo), in);
      for (const std::string& out : kFormats) {
        SCOPED_TRACE("photo " + std::to_string(p) + ", " + in + " -> " + out);
        const pb::ProcessResponse response = Process(Request(image, out));
        EXPECT_FALSE(response.has_metadata());
        const ReadMetadata read = ReadAnswerMetadata(response.image(), FormatName(response.format()));
        EXPECT_TRUE(read.decodes);
        // JPEG: JFIF's APP0 alone; PNG and WebP: no text, EXIF or colour chunk at all.
        EXPECT_EQ(read.blocks, out == "jpeg" ? std::vector<std::string>{"APP0:JFIF"} : std::vector<std::string>{});
        EXPECT_FALSE(read.metadata.exif || read.metadata.xmp || read.metadata.icc_profile);
        // The orientation was applied: upright, taller than wide.
        EXPECT_EQ(response.width(), 480);
        EXPECT_GT(response.height(), 480);
      }
    }
  }
}

TEST_F(MetadataTest, KeptBlocksRoundTripFromEveryInputFormatIntoEveryAnswerFormat) {
  const cv::Mat photo = Photo(2);
  const Metadata written = Everything(photo);
  for (const std::string& in : kFormats) {
    const std::string image = Encoded(photo, written, in);
    for (const std::string& out : kFormats) {
      SCOPED_TRACE(in + " -> " + out);
      const pb::ProcessResponse response = Process(Request(image, out, KeepEverything(), pb::COLOR_POLICY_KEEP));
      EXPECT_TRUE(response.metadata().icc_profile());
      EXPECT_TRUE(response.metadata().exif());
      EXPECT_TRUE(response.metadata().xmp());
      EXPECT_EQ(response.metadata().not_kept_size(), 0);
      const ReadMetadata read = ReadAnswerMetadata(response.image(), FormatName(response.format()));
      EXPECT_TRUE(read.decodes);
      EXPECT_EQ(read.metadata.icc_profile, written.icc_profile);  // byte for byte
      EXPECT_EQ(read.metadata.xmp, XmpPacket(kRights, 1));        // byte for byte but tiff:Orientation
      ASSERT_TRUE(read.metadata.exif.has_value());
      const ParsedExif exif = ParseExif(*read.metadata.exif);
      EXPECT_EQ(exif.orientation, 1);
      EXPECT_EQ(exif.thumbnail_bytes, 0u);
      EXPECT_EQ(exif.make, "TestCam");
      EXPECT_EQ(exif.copyright, kRights);
      EXPECT_EQ(exif.pixel_width, response.width());
      EXPECT_EQ(exif.pixel_height, response.height());
      EXPECT_NE(std::find(exif.tags.begin(), exif.tags.end(), "gps:0x0001"), exif.tags.end());
      EXPECT_EQ(response.width(), 480);
      EXPECT_GT(response.height(), 480);
    }
  }
}

// The profile an answer keeps is the one its pixels are in: after the default conversion, lcms2's sRGB (the input's
// Adobe RGB on converted pixels would undo the conversion in every viewer); as stored under KEEP and IGNORE, the
// input's.
TEST_F(MetadataTest, AKeptProfileIsThePixelsProfileUnderEachColorPolicy) {
  const cv::Mat photo = Photo(4);
  const Metadata written = Everything(photo);  // colord's Adobe RGB (1998)
  pb::MetadataPolicy icc_only;
  icc_only.set_keep_icc_profile(true);
  for (const std::string& out : kFormats) {
    SCOPED_TRACE(out);
    const std::string image = JpegWith(photo, written);
    pb::ProcessResponse converted = Process(Request(image, out, icc_only, pb::COLOR_POLICY_CONVERT_TO_SRGB));
    EXPECT_EQ(converted.color().action(), pb::COLOR_ACTION_CONVERTED);
    const ReadMetadata read = ReadAnswerMetadata(converted.image(), FormatName(converted.format()));
    ASSERT_TRUE(read.metadata.icc_profile.has_value());
    EXPECT_NE(read.metadata.icc_profile, written.icc_profile);
    EXPECT_NE(IccDescription(*read.metadata.icc_profile).find("sRGB"), std::string::npos)
        << IccDescription(*read.metadata.icc_profile);
    for (const pb::ColorPolicy policy : {pb::COLOR_POLICY_KEEP, pb::COLOR_POLICY_IGNORE}) {
      pb::ProcessResponse kept = Process(Request(image, out, icc_only, policy));
      EXPECT_EQ(ReadAnswerMetadata(kept.image(), FormatName(kept.format())).metadata.icc_profile, written.icc_profile);
    }
  }
  // COLOR_POLICY_KEEP embeds the input's profile without a metadata policy too.
  pb::ProcessResponse kept =
      Process(Request(JpegWith(photo, written), "png", pb::MetadataPolicy(), pb::COLOR_POLICY_KEEP));
  EXPECT_EQ(ReadAnswerMetadata(kept.image(), FormatName(kept.format())).metadata.icc_profile, written.icc_profile);
}

TEST_F(MetadataTest, ALargeProfileGoesBackInSevenSegmentsAndEachBlockIsKeptOnlyWhenAsked) {
  const cv::Mat photo = Photo(3);
  const Metadata written = Everything(photo, "ITULab.icc");  // 431756 bytes
  pb::MetadataPolicy icc_only;
  icc_only.set_keep_icc_profile(true);
  // ITULab.icc is a Lab input profile, which no RGB photo is in: IGNORE keeps it unparsed, byte for byte.
  pb::ProcessResponse response = Process(Request(JpegWith(photo, written), "jpeg", icc_only, pb::COLOR_POLICY_IGNORE));
  ReadMetadata read = ReadJpegMetadata(response.image());
  EXPECT_EQ(read.metadata.icc_profile, written.icc_profile);
  EXPECT_EQ(std::count(read.blocks.begin(), read.blocks.end(), "APP2:ICC_PROFILE"), 7);
  EXPECT_FALSE(read.metadata.exif || read.metadata.xmp);

  pb::MetadataPolicy copyright_only;
  copyright_only.set_exif(pb::EXIF_POLICY_COPYRIGHT_ONLY);
  for (const std::string& out : kFormats) {
    SCOPED_TRACE(out);
    response = Process(Request(JpegWith(photo, written), out, copyright_only));
    read = ReadAnswerMetadata(response.image(), FormatName(response.format()));
    EXPECT_FALSE(read.metadata.icc_profile || read.metadata.xmp);
    ASSERT_TRUE(read.metadata.exif.has_value());
    const ParsedExif exif = ParseExif(*read.metadata.exif);
    EXPECT_EQ(exif.tags, (std::vector<std::string>{"0:0x013b", "0:0x8298"}));
    EXPECT_EQ(exif.copyright, kRights);
    EXPECT_EQ(exif.artist, "The Photographer");
  }
}

TEST_F(MetadataTest, OrientationIsKeptWhenTheRequestKeepsThePixelsAsStored) {
  const cv::Mat photo = Photo(4);
  pb::ProcessRequest request = Request(JpegWith(photo, Everything(photo)), "jpeg", KeepEverything());
  request.set_ignore_exif_orientation(true);
  const pb::ProcessResponse response = Process(request);
  EXPECT_LT(response.height(), 480);  // as stored: wider than tall
  const ReadMetadata read = ReadJpegMetadata(response.image());
  ASSERT_TRUE(read.metadata.exif.has_value());
  EXPECT_EQ(ParseExif(*read.metadata.exif).orientation, 6);
  EXPECT_EQ(read.metadata.xmp, XmpPacket(kRights, 6));
}

std::string Segment(unsigned char marker, const std::string& payload) {
  const size_t length = payload.size() + 2;
  return std::string{'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8),
                     static_cast<char>(length & 0xFF)} +
         payload;
}

TEST_F(MetadataTest, HostileBlocksAreAnsweredWithoutThemAndTheServerKeepsServing) {
  const cv::Mat photo = Photo(5);
  const std::string jpeg = JpegWith(photo, Metadata());
  auto with = [&](const std::string& segments) { return jpeg.substr(0, 2) + segments + jpeg.substr(2); };
  std::string thousand_app2;
  for (int i = 0; i < 1000; ++i) {
    thousand_app2 += Segment(
        0xE2, std::string("ICC_PROFILE\0", 12) + static_cast<char>(i % 255 + 1) + '\xFF' + std::string(1000, 'p'));
  }
  // IFD0 whose EXIF IFD pointer points back at IFD0, and an entry whose value lies past the block.
  const std::string loop(
      "II*\0\x08\0\0\0\x02\0\x69\x87\x04\0\x01\0\0\0\x08\0\0\0\x0f\x01\x02\0\xff\0\0\0\0\x10\0\0\0\0\0\0", 38);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"an APP1 Exif of 65533 bytes of garbage",
       with(Segment(0xE1, std::string("Exif\0\0", 6) + std::string(65527, 'g'))),
       "exif: no TIFF byte order mark (II or MM)"},
      {"1,000 APP2 ICC_PROFILE segments", with(thousand_app2), "icc profile: ICC_PROFILE segment 1 comes twice"},
      {"an EXIF IFD loop", with(Segment(0xE1, std::string("Exif\0\0", 6) + loop)), ""},
  };
  for (const auto& [what, image, why] : cases) {
    SCOPED_TRACE(what);
    for (const std::string& out : kFormats) {
      const pb::ProcessResponse stripped = Process(Request(image, out));
      EXPECT_TRUE(ReadAnswerMetadata(stripped.image(), FormatName(stripped.format())).decodes);
      const pb::ProcessResponse kept = Process(Request(image, out, KeepEverything()));
      EXPECT_TRUE(ReadAnswerMetadata(kept.image(), FormatName(kept.format())).decodes);
      EXPECT_FALSE(kept.metadata().icc_profile());
      if (!why.empty()) {
        ASSERT_EQ(kept.metadata().not_kept_size(), 1);
        EXPECT_EQ(kept.metadata().not_kept(0), why);
      }
    }
  }
  // The loop's IFD0 is read once: kept without the EXIF IFD pointer, the entry past the block dropped.
  const pb::ProcessResponse loop_answer =
      Process(Request(with(Segment(0xE1, std::string("Exif\0\0", 6) + loop)), "jpeg", KeepEverything()));
  EXPECT_FALSE(loop_answer.metadata().exif());  // nothing left to keep
  EXPECT_EQ(Process(Request(jpeg, "jpeg")).width(), 480);
}

TEST_F(MetadataTest, RawAnswersRefuseAPolicyThatKeepsAnythingAndServerInfoSaysWhatEachFormatCarries) {
  pb::ProcessRequest request = Request(EncodeAs(GeneratedImage(64, 48), ".png"), "png", KeepEverything());
  request.mutable_output()->mutable_raw();
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(*server_->NewStub(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("output.metadata: raw pixels carry no metadata"), std::string::npos)
      << status.error_message();

  grpc::ClientContext context;
  pb::GetServerInfoResponse info;
  ASSERT_TRUE(server_->NewStub()->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  std::vector<std::string> carried;
  for (const pb::FormatMetadata& format : info.output_format_metadata()) {
    carried.push_back(FormatName(format.format()) + ":" + (format.icc_profile() ? "icc," : "") +
                      (format.exif() ? "exif," : "") + (format.xmp() ? "xmp" : ""));
  }
  EXPECT_EQ(carried, (std::vector<std::string>{"jpeg:icc,exif,xmp", "png:icc,exif,xmp", "webp:icc,exif,xmp",
                                               "avif:icc,xmp", "heic:icc,exif,xmp", "tiff:", "raw:"}));
}

// --max_output_bytes bounds the answer with its metadata: a 431,756-byte profile does not fit in 1,400,000 bytes
// beside a 480x768 image's 1,105,920 bytes of pixels, and the error says the metadata is what to drop.
TEST_F(MetadataTest, KeptMetadataCountsTowardsTheAnswersSizeBound) {
  ServerProcess small({"--max_output_bytes=1400000"});
  ASSERT_TRUE(small.started());
  const cv::Mat photo = Photo(7);
  pb::MetadataPolicy icc_only;
  icc_only.set_keep_icc_profile(true);
  const std::string image = JpegWith(photo, Everything(photo, "ITULab.icc"));
  pb::ProcessResponse response;
  grpc::Status status = CallProcess(*small.NewStub(), Request(image, "jpeg", icc_only), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("431756 bytes of it metadata"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("output.metadata makes it that large"), std::string::npos)
      << status.error_message();
  status = CallProcess(*small.NewStub(), Request(image, "jpeg"), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(MetadataTest, TheCliKeepsWhatItsFlagNames) {
  const cv::Mat photo = Photo(6);
  const std::string in = ::testing::TempDir() + "metadata_cli_in.jpg", out = ::testing::TempDir() + "metadata_cli.png";
  {
    std::ofstream file(in, std::ios::binary);
    file << JpegWith(photo, Everything(photo));
  }
  const std::string command = std::string(IMGPROC_CLI_BINARY) + " --target=" + server_->address() + " --in=" + in +
                              " --out=" + out +
                              " --format=png --keep_metadata=icc,copyright --color_policy=keep process 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char chunk[512];
  while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) output.append(chunk, n);
  ASSERT_EQ(pclose(pipe), 0) << output;
  EXPECT_NE(output.find("metadata kept: icc profile, exif"), std::string::npos) << output;
  const ReadMetadata read = ReadPngMetadata(ReadFile(out));
  EXPECT_EQ(read.metadata.icc_profile, IccProfile("colord/AdobeRGB1998.icc"));
  ASSERT_TRUE(read.metadata.exif.has_value());
  EXPECT_EQ(ParseExif(*read.metadata.exif).tags, (std::vector<std::string>{"0:0x013b", "0:0x8298"}));
  EXPECT_FALSE(read.metadata.xmp.has_value());
  std::remove(in.c_str());
  std::remove(out.c_str());
}

}  // namespace
}  // namespace imgproc::testing
