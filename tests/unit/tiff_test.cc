// TIFF through libtiff (codec/tiff_decode.h) and OS/2 bitmaps (codec/os2_bmp.h), issue 28: every layout of
// common/tiff_images.h decodes to the pixels computed from the photo in every mode, turned upright by its Orientation
// tag (5-8 included, whose size the header predicts turned); truncated and hostile files are refused by the header
// (ReadTiff, ReadBmp) before any decoder allocates; layouts the decoder does not take are refused naming why.
#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "codec/orientation.h"
#include "imgproc_testing/decode_marker_checks.h"
#include "imgproc_testing/pattern_allocator.h"
#include "imgproc_testing/test_support.h"
#include "imgproc_testing/tiff_images.h"

namespace imgproc::testing {
namespace {

// What the lanes do: the header, the predicted shape, the decode, the turn by the orientation tag.
absl::StatusOr<cv::Mat> DecodeAsLane(const std::string& bytes, DecodeMode mode) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  if (!header.ok()) return header.status();
  const ImageSpec spec = DecodedSpec(*header, mode);
  absl::StatusOr<cv::Mat> image = Decode(bytes, *header, mode, spec);
  if (!image.ok()) return image.status();
  ApplyOrientation(*image, header->exif_orientation);
  const ImageSpec oriented = Oriented(spec, header->exif_orientation);
  EXPECT_EQ(image->cols, oriented.width);
  EXPECT_EQ(image->rows, oriented.height);
  EXPECT_EQ(image->channels(), oriented.channels);
  return image;
}

TEST(TiffDecodeTest, EveryLayoutDecodesToThePixelsItsRulesGiveInEveryMode) {
  const std::vector<TiffFile> files = TiffFiles();
  ASSERT_GE(files.size(), 40u);
  for (const TiffFile& f : files) {
    SCOPED_TRACE(f.name);
    absl::StatusOr<cv::Mat> unchanged = DecodeAsLane(f.bytes, DecodeMode::kUnchanged);
    ASSERT_TRUE(unchanged.ok()) << unchanged.status();
    PixelDiff diff = Compare(*unchanged, f.unchanged);
    EXPECT_TRUE(diff.same_shape && diff.max_abs == 0) << "UNCHANGED: " << diff.Describe();

    cv::Mat color = f.unchanged;
    if (color.channels() == 1) cv::cvtColor(color, color, cv::COLOR_GRAY2BGR);
    if (color.channels() == 4) cv::cvtColor(color, color, cv::COLOR_BGRA2BGR);
    absl::StatusOr<cv::Mat> decoded = DecodeAsLane(f.bytes, DecodeMode::kColor);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    diff = Compare(*decoded, color);
    EXPECT_TRUE(diff.same_shape && diff.max_abs == 0) << "COLOR: " << diff.Describe();

    decoded = DecodeAsLane(f.bytes, DecodeMode::kGrayscale);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    diff = Compare(*decoded, f.gray);
    EXPECT_TRUE(diff.same_shape && diff.max_abs == 0) << "GRAYSCALE: " << diff.Describe();
  }
}

TEST(TiffDecodeTest, TheHeaderPredictsTheTurnedSizeForOrientationsFiveToEight) {
  for (const TiffFile& f : TiffFiles()) {
    if (f.name.rfind("rgb8_orientation_", 0) != 0) continue;
    const int orientation = f.name.back() - '0';
    absl::StatusOr<ImageHeader> header = ReadImageHeader(f.bytes);
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_EQ(header->exif_orientation, orientation);
    EXPECT_EQ(header->width, 61);  // stored
    EXPECT_EQ(f.unchanged.cols, orientation >= 5 ? 37 : 61) << f.name;
  }
}

// A TIFF of arbitrary sample layout with zeroed pixels, for what the decoder refuses.
std::string ZeroTiff(int bits, int sample_format, int photometric = PHOTOMETRIC_MINISBLACK, int samples = 1) {
  char path[] = "/tmp/imgproc_tiff_test_XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  TIFF* tiff = TIFFOpen(path, "w");
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, 8u);
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, 4u);
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(bits));
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(samples));
  TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, static_cast<uint16_t>(sample_format));
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, static_cast<uint16_t>(photometric));
  TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, 4u);
  std::vector<uint16_t> colour_map(size_t{1} << std::min(bits, 16));
  if (photometric == PHOTOMETRIC_PALETTE) {
    TIFFSetField(tiff, TIFFTAG_COLORMAP, colour_map.data(), colour_map.data(), colour_map.data());
  }
  std::vector<uint8_t> zeros(8 * 4 * samples * ((bits + 7) / 8));
  TIFFWriteEncodedStrip(tiff, 0, zeros.data(), static_cast<tmsize_t>(zeros.size()));
  TIFFClose(tiff);
  std::string bytes = ReadFile(path);
  std::remove(path);
  return bytes;
}

TEST(TiffDecodeTest, LayoutsItDoesNotTakeAreRefusedNamingWhy) {
  const struct {
    std::string bytes, reason;
  } cases[] = {
      {ZeroTiff(32, SAMPLEFORMAT_UINT), "unsupported tiff image: 32-bit integer samples"},
      {ZeroTiff(32, SAMPLEFORMAT_INT), "unsupported tiff image: signed 32-bit samples"},
      {ZeroTiff(16, SAMPLEFORMAT_IEEEFP), "unsupported tiff image: 16-bit floating-point samples"},
      {ZeroTiff(4, SAMPLEFORMAT_INT), "unsupported tiff image: signed 4-bit samples"},
      {ZeroTiff(16, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE), "unsupported tiff image: 16-bit palette indices"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<cv::Mat> decoded = DecodeAsLane(c.bytes, DecodeMode::kUnchanged);
    ASSERT_FALSE(decoded.ok()) << c.reason;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find(c.reason), std::string::npos) << decoded.status();
  }
}

// CMYK and YCbCr go through libtiff's RGBA interface: CMYK's documented conversion (R = (255 - K) * (255 - C) / 255,
// truncated, as libtiff does it) exactly, a JPEG-compressed YCbCr file within JPEG's loss of the photo.
std::string WriteThroughRgbaInterface(const cv::Mat& photo, bool cmyk) {
  char path[] = "/tmp/imgproc_tiff_test_XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  TIFF* tiff = TIFFOpen(path, "w");
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(photo.cols));
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(photo.rows));
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, cmyk ? 4 : 3);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, 16u);
  if (cmyk) {
    TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_SEPARATED);
    TIFFSetField(tiff, TIFFTAG_INKSET, INKSET_CMYK);
  } else {
    TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(tiff, TIFFTAG_JPEGQUALITY, 95);
    TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);  // libtiff converts the RGB rows below
  }
  for (int y = 0; y < photo.rows; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < photo.cols; ++x) {
      const cv::Vec3b bgr = photo.at<cv::Vec3b>(y, x);
      if (cmyk) {
        const uint8_t k = static_cast<uint8_t>(x * 4 % 256);
        row.insert(row.end(), {static_cast<uint8_t>(255 - bgr[2]), static_cast<uint8_t>(255 - bgr[1]),
                               static_cast<uint8_t>(255 - bgr[0]), k});
      } else {
        row.insert(row.end(), {bgr[2], bgr[1], bgr[0]});
      }
    }
    TIFFWriteScanline(tiff, row.data(), static_cast<uint32_t>(y), 0);
  }
  TIFFClose(tiff);
  std::string bytes = ReadFile(path);
  std::remove(path);
  return bytes;
}

TEST(TiffDecodeTest, CmykAndJpegYcbcrGoThroughLibtiffsRgbaInterface) {
  cv::Mat photo;
  cv::resize(cv::imread(PhotoPath("nature/Dune.jpg")), photo, cv::Size(64, 48), 0, 0, cv::INTER_AREA);
  cv::Mat cmyk_expected(photo.size(), CV_8UC3);
  for (int y = 0; y < photo.rows; ++y) {
    for (int x = 0; x < photo.cols; ++x) {
      const int k = x * 4 % 256;
      for (int c = 0; c < 3; ++c) {
        cmyk_expected.at<cv::Vec3b>(y, x)[c] = static_cast<uchar>((255 - k) * photo.at<cv::Vec3b>(y, x)[c] / 255);
      }
    }
  }
  const std::string cmyk = WriteThroughRgbaInterface(photo, true), ycbcr = WriteThroughRgbaInterface(photo, false);
  for (DecodeMode mode : {DecodeMode::kUnchanged, DecodeMode::kColor}) {
    absl::StatusOr<cv::Mat> decoded = DecodeAsLane(cmyk, mode);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    const PixelDiff diff = Compare(*decoded, cmyk_expected);
    EXPECT_TRUE(diff.same_shape && diff.max_abs == 0) << diff.Describe();
    decoded = DecodeAsLane(ycbcr, mode);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(decoded->size(), photo.size());
    // The same photo as a 4:2:0 JPEG of the same quality, decoded by libjpeg: what JPEG's loss alone costs.
    const double jpeg_psnr = Psnr(DecodeLikeServer(EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95})), photo);
    std::printf("ycbcr tiff %.1f dB, jpeg %.1f dB\n", Psnr(*decoded, photo), jpeg_psnr);
    EXPECT_GT(Psnr(*decoded, photo), jpeg_psnr - 1.0);
  }
  for (const std::string* bytes : {&cmyk, &ycbcr}) {
    EXPECT_EQ(CompareUnderTwoPatterns([&] { return DecodeAsLane(*bytes, DecodeMode::kUnchanged); }), "");
  }
}

// Where the first strip's offset and byte count entries are, found by walking the directory of a little-endian
// classic TIFF (what libtiff writes on this host).
size_t EntryValueAt(const std::string& tiff, int wanted_tag) {
  auto u16 = [&](size_t at) { return static_cast<uint8_t>(tiff[at]) | static_cast<uint8_t>(tiff[at + 1]) << 8; };
  auto u32 = [&](size_t at) { return static_cast<uint32_t>(u16(at) | u16(at + 2) << 16); };
  const size_t ifd = u32(4);
  for (int e = 0; e < u16(ifd); ++e) {
    const size_t at = ifd + 2 + 12 * e;
    if (u16(at) == wanted_tag) return at + 8;
  }
  return 0;
}

TEST(TiffHeaderTest, TruncatedAndHostileFilesAreRefusedBeforeDecoding) {
  const std::string intact = TiffFiles()[1].bytes;  // rgb16_separate_strips: strips, then the directory
  ASSERT_TRUE(ReadImageHeader(intact).ok());
  auto refused = [](const std::string& bytes, const std::string& reason) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
    ASSERT_FALSE(header.ok()) << reason;
    EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(header.status().message().find(reason), std::string::npos) << header.status();
  };
  // Cut anywhere in the file: the directory (at the end) or the strips it points to are beyond the data.
  for (size_t keep : {intact.size() / 4, intact.size() / 2, intact.size() - 40, intact.size() - 1}) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(intact.substr(0, keep));
    EXPECT_FALSE(header.ok()) << "cut at " << keep;
  }
  // A strip whose byte count reaches past the end.
  std::string bytes = intact;
  const size_t counts = EntryValueAt(bytes, 279);
  ASSERT_GT(counts, 0u);
  const uint32_t counts_at = static_cast<uint8_t>(bytes[counts]) | static_cast<uint8_t>(bytes[counts + 1]) << 8 |
                             static_cast<uint8_t>(bytes[counts + 2]) << 16;
  bytes[counts_at] = static_cast<char>(0xFF), bytes[counts_at + 1] = static_cast<char>(0xFF);
  bytes[counts_at + 2] = static_cast<char>(0xFF);
  refused(bytes, "lies beyond the data");
  // A tag value (the strip offsets) beyond the data.
  bytes = intact;
  const size_t offsets = EntryValueAt(bytes, 273);
  bytes[offsets + 3] = static_cast<char>(0x7F);
  refused(bytes, "lies beyond the data");
  // A directory claiming 65535 entries, and a hostile count of values: refused from the counts, in no time.
  bytes = intact;
  const size_t ifd =
      static_cast<uint8_t>(bytes[4]) | static_cast<uint8_t>(bytes[5]) << 8 | static_cast<uint8_t>(bytes[6]) << 16;
  bytes[ifd] = bytes[ifd + 1] = static_cast<char>(0xFF);
  refused(bytes, "runs past the end of the data");
  bytes = intact;
  bytes[offsets - 1] = static_cast<char>(0x7F);  // the count's high byte: 2^31 offsets
  refused(bytes, "values, more than the");
  // The first directory outside the data.
  bytes = intact;
  bytes[7] = static_cast<char>(0x7F);
  refused(bytes, "first directory outside the data");
}

TEST(TiffDecodeTest, TilesFarLargerThanTheImageAreRefusedBeforeTheyAreAllocated) {
  std::string bytes;
  for (const TiffFile& f : TiffFiles()) {
    if (f.name == "gray4_tiles") bytes = f.bytes;  // 61x37 in 16x16 tiles
  }
  ASSERT_FALSE(bytes.empty());
  for (int tag : {322, 323}) {  // TileWidth, TileLength: 32768 (a multiple of 16, as TIFF requires)
    const size_t value = EntryValueAt(bytes, tag);
    ASSERT_GT(value, 0u);
    bytes.replace(value, 4, std::string("\x00\x80\x00\x00", 4));  // 0x8000 little-endian, as SHORT or LONG
  }
  absl::StatusOr<cv::Mat> decoded = DecodeAsLane(bytes, DecodeMode::kUnchanged);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  std::printf("32768x32768 tiles on a 61x37 image: %s\n", decoded.status().ToString().c_str());
}

TEST(Os2BmpTest, PalettesAndTrueColourDecodeToTheirColoursInEveryMode) {
  cv::Mat photo;
  cv::resize(cv::imread(PhotoPath("nature/Dune.jpg")), photo, cv::Size(45, 23), 0, 0, cv::INTER_AREA);
  std::vector<cv::Vec3b> palette;
  for (int i = 0; i < 256; ++i) {
    palette.emplace_back(static_cast<uchar>(i), static_cast<uchar>(255 - i), static_cast<uchar>((i * 37) & 255));
  }
  for (int bits : {1, 4, 8, 24}) {
    SCOPED_TRACE(bits);
    cv::Mat gray, indices(photo.size(), CV_8UC1), expected(photo.size(), CV_8UC3);
    cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
    for (int y = 0; y < photo.rows; ++y) {
      for (int x = 0; x < photo.cols; ++x) {
        const int index = gray.at<uchar>(y, x) >> (8 - std::min(bits, 8));
        indices.at<uchar>(y, x) = static_cast<uchar>(index);
        expected.at<cv::Vec3b>(y, x) = bits == 24 ? photo.at<cv::Vec3b>(y, x) : palette[index];
      }
    }
    const std::string bmp = EncodeOs2Bmp(bits == 24 ? photo : indices, palette, bits);
    for (DecodeMode mode : {DecodeMode::kUnchanged, DecodeMode::kColor}) {
      absl::StatusOr<cv::Mat> decoded = DecodeAsLane(bmp, mode);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      const PixelDiff diff = Compare(*decoded, expected);
      EXPECT_TRUE(diff.same_shape && diff.max_abs == 0) << diff.Describe();
    }
    absl::StatusOr<cv::Mat> decoded = DecodeAsLane(bmp, DecodeMode::kGrayscale);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    cv::Mat expected_gray;
    cv::cvtColor(expected, expected_gray, cv::COLOR_BGR2GRAY);
    EXPECT_EQ(Compare(*decoded, expected_gray).max_abs, 0);
    // Truncated pixel rows: refused by the header.
    absl::StatusOr<ImageHeader> header = ReadImageHeader(bmp.substr(0, bmp.size() - 8));
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.status().message().find("truncated"), std::string::npos) << header.status();
  }
}

TEST(BmpHeaderTest, ATruncatedWindowsBmpIsRefusedBeforeDecoding) {
  const std::string bmp = EncodeAs(GeneratedImage(40, 30), ".bmp");
  ASSERT_TRUE(ReadImageHeader(bmp).ok());
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bmp.substr(0, bmp.size() / 2));
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.status().message().find("malformed bmp header: 40x30 pixels of 24 bits need"), std::string::npos)
      << header.status();
}

}  // namespace
}  // namespace imgproc::testing
