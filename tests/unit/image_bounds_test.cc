// The header stage's bounds (issue 28, items 2 and 8): every chunk, segment and block is walked against the bytes
// there are, so a declared length beyond them is refused before a decoder allocates by it; a JPEG or GIF cut after
// its first pixels says so in ImageHeader::truncation; 12-bit JPEGs are named; eXIf and WebP EXIF give the
// orientation.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "imgproc_testing/animation_images.h"
#include "imgproc_testing/bounds_images.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

void ExpectRefused(const std::string& bytes, const std::string& message) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_FALSE(header.ok()) << "accepted; wanted: " << message;
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(header.status().message().find(message), std::string::npos) << header.status();
}

std::string Photo(const char* name = "nature/Dune.jpg") { return ReadFile(PhotoPath(name)); }

TEST(ImageBoundsTest, APngChunkDeclaringMoreThanTheFileIsRefusedWithItsLength) {
  for (const std::string& type : AncillaryChunkTypes()) {
    SCOPED_TRACE(type);
    const std::string png = ChunkBombPng(type);
    EXPECT_EQ(png.size(), 57u);
    ExpectRefused(png, "chunk '" + type + "' at offset 33 declares 1073741824 bytes; 16 remain");
  }
}

TEST(ImageBoundsTest, APngCutShortOrWithoutIendIsRefused) {
  const std::string png = EncodeAs(GeneratedImage(64, 48), ".png");
  ASSERT_TRUE(ReadImageHeader(png).ok());
  ExpectRefused(png.substr(0, png.size() - 12), "could not decode png data (truncated): the data ends before the IEND");
  ExpectRefused(png.substr(0, png.size() / 2), "could not decode png data (truncated): chunk 'IDAT'");
  ExpectRefused(png.substr(0, 37), "a chunk header at offset 33 is cut short");
  // A PNG of only a signature and an IEND has no image.
  ExpectRefused(png.substr(0, 33) + PngChunk("IEND", ""), "no IDAT chunk");
}

TEST(ImageBoundsTest, AWebpRiffOrChunkBeyondTheDataIsRefused) {
  const std::string webp = EncodeAs(GeneratedImage(64, 48), ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  ASSERT_TRUE(ReadImageHeader(webp).ok());
  ExpectRefused(webp.substr(0, webp.size() - 5), "could not decode webp data (truncated): the RIFF container");
  // The RIFF size made to match a cut file: the image chunk itself then declares more than remains.
  std::string cut = webp.substr(0, webp.size() - 5);
  const uint32_t riff = static_cast<uint32_t>(cut.size() - 8);
  cut.replace(4, 4,
              std::string{static_cast<char>(riff), static_cast<char>(riff >> 8), static_cast<char>(riff >> 16),
                          static_cast<char>(riff >> 24)});
  ExpectRefused(cut, "chunk 'VP8L' at offset 12 declares");
}

TEST(ImageBoundsTest, AGifCutInItsFirstFrameIsRefusedAndAfterItSaysSo) {
  const std::vector<cv::Vec3b> palette = {{200, 10, 20}, {30, 180, 60}, {90, 40, 250}, {255, 255, 0}};
  cv::Mat indices(27, 48, CV_8UC1);
  for (int y = 0; y < indices.rows; ++y) {
    for (int x = 0; x < indices.cols; ++x) indices.at<uchar>(y, x) = static_cast<uchar>((x * 7 + y * 3) % 4);
  }
  const std::string gif = EncodeGif(48, 27, palette, {GifFrame{0, 0, indices}, GifFrame{0, 0, indices}});
  absl::StatusOr<ImageHeader> whole = ReadImageHeader(gif);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->truncation, "");
  ExpectRefused(gif.substr(0, 60),
                "could not decode gif data (truncated): the data ends in a frame's image data, "
                "inside the first frame");
  absl::StatusOr<ImageHeader> cut = ReadImageHeader(gif.substr(0, gif.size() - 5));
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->frames, 2);
  EXPECT_NE(cut->truncation.find("the gif data ends in a frame's image data; 2 frame(s) begun"), std::string::npos)
      << cut->truncation;
}

TEST(ImageBoundsTest, AJpegCutInItsScansSaysSoAndBeforeThemIsRefused) {
  const std::string jpeg = Photo();
  absl::StatusOr<ImageHeader> whole = ReadImageHeader(jpeg);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->truncation, "");
  absl::StatusOr<ImageHeader> half = ReadImageHeader(jpeg.substr(0, jpeg.size() / 2));
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->truncation, "the jpeg data ends inside scan 1 (after 1 scan(s), no end-of-image marker)");
  // Without only its end-of-image marker the image is whole, but the file is not.
  absl::StatusOr<ImageHeader> no_eoi = ReadImageHeader(jpeg.substr(0, jpeg.size() - 2));
  ASSERT_TRUE(no_eoi.ok()) << no_eoi.status();
  EXPECT_NE(no_eoi->truncation, "");
  // Cut in the start-of-scan header (of a JPEG without EXIF, whose thumbnail has markers of its own).
  const std::string plain = EncodeAs(GeneratedImage(64, 48), ".jpg");
  const size_t scan = plain.find("\xFF\xDA");
  ASSERT_NE(scan, std::string::npos);
  ExpectRefused(plain.substr(0, scan + 3), "could not decode jpeg data (truncated): the jpeg data ends");
  // A segment before the frame header declaring more than the file has.
  ExpectRefused(
      jpeg.substr(0, 2) + std::string("\xFF\xE1\xFF\xF0", 4) + std::string("Exif\0\0", 6) + std::string(100, 'x'),
      "segment 0xFFE1 at offset 2 declares 65520 bytes; 108 remain");
}

TEST(ImageBoundsTest, AProgressiveJpegCutBetweenScansSaysSo) {
  std::vector<unsigned char> encoded;
  cv::imencode(".jpg", GeneratedImage(320, 200), encoded, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const std::string jpeg(encoded.begin(), encoded.end());
  const size_t third_scan = jpeg.find("\xFF\xDA", jpeg.find("\xFF\xDA", jpeg.find("\xFF\xDA") + 2) + 2);
  ASSERT_NE(third_scan, std::string::npos);
  absl::StatusOr<ImageHeader> cut = ReadImageHeader(jpeg.substr(0, third_scan));
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->jpeg_scans, 2);
  EXPECT_NE(cut->truncation.find("after 2 scan(s)"), std::string::npos) << cut->truncation;
}

TEST(ImageBoundsTest, A12BitJpegIsNamedAsSuch) {
  std::string jpeg = EncodeAs(GeneratedImage(64, 48), ".jpg");  // no EXIF thumbnail with a frame header of its own
  const size_t sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 4] = 12;  // the frame header's sample precision
  ExpectRefused(jpeg, "12-bit JPEG not supported");
}

TEST(ImageBoundsTest, PngExifAndWebpExifGiveTheOrientation) {
  const cv::Mat image = GeneratedImage(40, 30);
  const std::string png = EncodeAs(image, ".png");
  const std::string webp = EncodeAs(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
  for (int orientation = 1; orientation <= 8; ++orientation) {
    absl::StatusOr<ImageHeader> from_png = ReadImageHeader(PngWithExifOrientation(png, orientation));
    ASSERT_TRUE(from_png.ok()) << from_png.status();
    EXPECT_EQ(from_png->exif_orientation, orientation);
    absl::StatusOr<ImageHeader> from_webp = ReadImageHeader(WebpWithExifOrientation(webp, 40, 30, orientation));
    ASSERT_TRUE(from_webp.ok()) << from_webp.status();
    EXPECT_EQ(from_webp->exif_orientation, orientation);
    EXPECT_EQ(from_webp->width, 40);
    EXPECT_EQ(from_webp->height, 30);
  }
}

TEST(ImageBoundsTest, ManySmallChunksAreWalkedOneByOne) {
  // 100,000 empty private chunks before the image: each is a 12-byte step; the walk ends at IEND.
  std::string chunks;
  for (int i = 0; i < 100000; ++i) chunks += PngChunk("prVt", "");
  absl::StatusOr<ImageHeader> header = ReadImageHeader(InsertAfterIhdr(EncodeAs(GeneratedImage(8, 8), ".png"), chunks));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->width, 8);
}

}  // namespace
}  // namespace imgproc::testing
