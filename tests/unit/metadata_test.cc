// The metadata policy's parts (codec/exif.h, codec/metadata.h), each checked against the formats' own libraries:
// blocks written by libexif, libjpeg, libpng and libwebpmux are found byte for byte; blocks the server splices into
// its encoders' output are read back by libjpeg, libpng and libwebp's demuxer, and EXIF by libexif. Hostile blocks
// cost only themselves.
#include "codec/metadata.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "codec/exif.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/test_support.h"
#include "zlib.h"

namespace imgproc::testing {
namespace {

std::string SmallJpegThumbnail() { return EncodeAs(GeneratedImage(160, 120), ".jpg"); }

ExifFields CameraFields(bool big_endian) {
  ExifFields fields;
  fields.orientation = 6;
  fields.make = "TestCam";
  fields.copyright = "(c) 2026 The Photographer";
  fields.artist = "The Photographer";
  fields.gps = true;
  fields.pixel_width = 4000;
  fields.pixel_height = 3000;
  fields.thumbnail = SmallJpegThumbnail();
  fields.big_endian = big_endian;
  return fields;
}

TEST(ExifRewriteTest, KeepResetsOrientationDropsTheThumbnailAndSetsTheAnswersSizeInBothByteOrders) {
  for (const bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian ? "MM" : "II");
    const std::string input = ExifBlock(CameraFields(big_endian));
    const ParsedExif before = ParseExif(input);
    ASSERT_EQ(before.orientation, 6);
    ASSERT_GT(before.thumbnail_bytes, 0u);  // libexif wrote IFD1 and its JPEG
    ExifRewrite rewrite;
    rewrite.pixel_width = 640;
    rewrite.pixel_height = 400;
    absl::StatusOr<std::string> output = RewriteExif(input, rewrite);
    ASSERT_TRUE(output.ok()) << output.status();
    EXPECT_EQ(output->substr(0, 2), big_endian ? "MM" : "II");
    const ParsedExif after = ParseExif(*output);
    ASSERT_TRUE(after.loaded);
    EXPECT_EQ(after.orientation, 1);
    EXPECT_EQ(after.thumbnail_bytes, 0u);
    EXPECT_EQ(after.make, "TestCam");
    EXPECT_EQ(after.copyright, "(c) 2026 The Photographer");
    EXPECT_EQ(after.artist, "The Photographer");
    EXPECT_EQ(after.pixel_width, 640);
    EXPECT_EQ(after.pixel_height, 400);
    EXPECT_NE(std::find(after.tags.begin(), after.tags.end(), "gps:0x0001"), after.tags.end());
    // Smaller than the input by the thumbnail at least.
    EXPECT_LT(output->size() + SmallJpegThumbnail().size(), input.size() + 64);
  }
}

TEST(ExifRewriteTest, OrientationStaysWhenTheServerDidNotApplyIt) {
  ExifRewrite rewrite;
  rewrite.reset_orientation = false;
  absl::StatusOr<std::string> output = RewriteExif(ExifBlock(CameraFields(false)), rewrite);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(ParseExif(*output).orientation, 6);
}

TEST(ExifRewriteTest, CopyrightOnlyKeepsCopyrightAndArtistAlone) {
  ExifRewrite rewrite;
  rewrite.copyright_only = true;
  absl::StatusOr<std::string> output = RewriteExif(ExifBlock(CameraFields(true)), rewrite);
  ASSERT_TRUE(output.ok()) << output.status();
  const ParsedExif parsed = ParseExif(*output);
  EXPECT_EQ(parsed.tags, (std::vector<std::string>{"0:0x013b", "0:0x8298"}));
  EXPECT_EQ(parsed.copyright, "(c) 2026 The Photographer");
  EXPECT_EQ(parsed.artist, "The Photographer");
  EXPECT_EQ(parsed.thumbnail_bytes, 0u);

  ExifFields anonymous;
  anonymous.make = "TestCam";
  anonymous.orientation = 3;
  output = RewriteExif(ExifBlock(anonymous), rewrite);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(*output, "");  // nothing to write
}

// A little-endian TIFF structure of `ifd0_entries` 12-byte entries (tag, type, count, value), padded to `size`.
std::string Tiff(const std::vector<std::array<uint32_t, 4>>& entries, size_t size, uint32_t ifd0 = 8) {
  std::string tiff = std::string("II*\0", 4);
  auto u16 = [&](uint32_t v) {
    tiff.push_back(static_cast<char>(v & 0xFF)), tiff.push_back(static_cast<char>(v >> 8));
  };
  auto u32 = [&](uint32_t v) {
    u16(v & 0xFFFF);
    u16(v >> 16);
  };
  u32(ifd0);
  u16(static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    u16(e[0]);
    u16(e[1]);
    u32(e[2]);
    u32(e[3]);
  }
  u32(0);
  tiff.resize(std::max(size, tiff.size()), 'x');
  return tiff;
}

// IFD0 of 1000 entries whose EXIF IFD pointer points 12 bytes in: the EXIF IFD's count is entry 0's value's high
// half (999) and its entries are IFD0's own, so a reader that wrote both tables would double the block.
std::string OverlappingIfds() {
  std::vector<std::array<uint32_t, 4>> entries = {{0x0100, 3, 1, 5 | 999u << 16}, {0x8769, 4, 1, 20}};
  for (uint32_t e = 2; e < 1000; ++e) entries.push_back({0x1000 + e, 3, 1, e});
  return Tiff(entries, 0);
}

TEST(ExifRewriteTest, HostileBlocksEndPromptlyWithAnErrorOrAWellFormedBoundedBlock) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"an EXIF IFD overlapping IFD0", OverlappingIfds()},
      {"IFD0 beyond the block", Tiff({}, 64, 1000)},
      {"IFD0 entry count beyond the block",
       [] {
         std::string t = Tiff({}, 64);
         t[8] = '\xFF';
         t[9] = '\xFF';
         return t;
       }()},
      {"EXIF IFD pointing back at IFD0", Tiff({{0x0112, 3, 1, 6}, {0x8769, 4, 1, 8}}, 64)},
      {"GPS IFD pointing at itself, EXIF IFD at GPS's", Tiff({{0x8769, 4, 1, 38}, {0x8825, 4, 1, 38}}, 128)},
      {"value offset past the end", Tiff({{0x010F, 2, 100, 4000}}, 64)},
      {"count * size overflowing 32 bits", Tiff({{0x010F, 12, 0x80000000u, 20}}, 64)},
      {"unknown type", Tiff({{0x010F, 99, 1, 0}}, 64)},
      {"byte order mark", std::string("XX*\0\x08\0\0\0", 8)},
      {"eight bytes", std::string("II*\0", 4)},
  };
  for (const auto& [what, block] : cases) {
    SCOPED_TRACE(what);
    for (const bool copyright_only : {false, true}) {
      ExifRewrite rewrite;
      rewrite.copyright_only = copyright_only;
      absl::StatusOr<std::string> output = RewriteExif(block, rewrite);
      if (!output.ok()) {
        EXPECT_TRUE(absl::IsInvalidArgument(output.status()));
        continue;
      }
      EXPECT_LE(output->size(), block.size() + 64);
      if (output->empty()) continue;
      absl::StatusOr<std::string> again = RewriteExif(*output, rewrite);  // well-formed: a rewrite keeps it
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(*again == *output) << "a rewrite of the rewrite differs";
    }
  }
  // 5000 entries sharing one 60000-byte value would write 300 MB were values copied per entry: capped at the input.
  std::vector<std::array<uint32_t, 4>> shared;
  for (uint32_t e = 0; e < 5000; ++e) shared.push_back({0x1000 + e, 7, 60000, 8 + 2 + 12 * 5000 + 4});
  const std::string block = Tiff(shared, 8 + 2 + 12 * 5000 + 4 + 60000);
  absl::StatusOr<std::string> output = RewriteExif(block, ExifRewrite{});
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_LE(output->size(), block.size() + 64);
}

TEST(ExifRewriteTest, MutatedBlocksNeverCrashAndRewriteToFixedPoints) {
  const std::vector<std::string> seeds = {ExifBlock(CameraFields(false)), ExifBlock(CameraFields(true))};
  std::mt19937 random(29);
  for (int i = 0; i < 3000; ++i) {
    const std::string block = Mutate(seeds, i, random);
    absl::StatusOr<std::string> output = RewriteExif(block, ExifRewrite{});
    if (!output.ok() || output->empty()) continue;
    ASSERT_LE(output->size(), block.size() + 64);
    absl::StatusOr<std::string> again = RewriteExif(*output, ExifRewrite{});
    ASSERT_TRUE(again.ok()) << again.status() << " (mutation " << i << ")";
    ASSERT_TRUE(*again == *output) << "mutation " << i << ": a rewrite of the rewrite differs";
  }
}

Metadata EveryBlock(const std::string& profile = IccProfile("colord/AdobeRGB1998.icc")) {
  Metadata metadata;
  metadata.exif = ExifBlock(CameraFields(false));
  metadata.xmp = XmpPacket("(c) 2026 The Photographer");
  metadata.icc_profile = profile;
  return metadata;
}

MetadataPolicy KeepEverything() { return {true, ExifPolicy::kKeep, true}; }

TEST(MetadataExtractionTest, FindsWhatLibjpegLibpngAndLibwebpmuxWroteByteForByte) {
  const cv::Mat image = GeneratedImage(96, 64);
  const Metadata written = EveryBlock();
  const std::vector<std::pair<ImageFormat, std::string>> inputs = {{ImageFormat::kJpeg, JpegWith(image, written)},
                                                                   {ImageFormat::kPng, PngWith(image, written)},
                                                                   {ImageFormat::kWebp, WebpWith(image, written)}};
  for (const auto& [format, bytes] : inputs) {
    SCOPED_TRACE(ImageFormatName(format));
    const InputMetadata found = ExtractMetadata(bytes, format, KeepEverything());
    EXPECT_TRUE(found.problems.empty()) << found.problems[0];
    EXPECT_EQ(found.exif, written.exif);
    EXPECT_EQ(found.xmp, written.xmp);
    EXPECT_EQ(found.icc_profile, written.icc_profile);
    const InputMetadata stripped = ExtractMetadata(bytes, format, MetadataPolicy{});
    EXPECT_FALSE(stripped.exif || stripped.xmp || stripped.icc_profile);
  }
  // A 431756-byte profile takes 7 APP2 segments.
  const Metadata large = EveryBlock(IccProfile("ITULab.icc"));
  const InputMetadata found = ExtractMetadata(JpegWith(image, large), ImageFormat::kJpeg, KeepEverything());
  EXPECT_EQ(found.icc_profile, large.icc_profile);
}

// A JPEG with `segments` inserted after SOI.
std::string JpegWithSegments(const std::string& jpeg, const std::string& segments) {
  return jpeg.substr(0, 2) + segments + jpeg.substr(2);
}

std::string Segment(unsigned char marker, const std::string& payload) {
  const size_t length = payload.size() + 2;
  return std::string{'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8),
                     static_cast<char>(length & 0xFF)} +
         payload;
}

std::string IccSegment(int sequence, int count, const std::string& bytes) {
  return Segment(0xE2,
                 std::string("ICC_PROFILE\0", 12) + static_cast<char>(sequence) + static_cast<char>(count) + bytes);
}

TEST(MetadataExtractionTest, BrokenProfileSegmentsAreNotKeptAndSayWhy) {
  const std::string jpeg = EncodeAs(GeneratedImage(64, 48), ".jpg");
  std::string thousand;
  for (int i = 0; i < 1000; ++i) thousand += IccSegment(i % 255 + 1, 255, std::string(100, 'p'));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {thousand, "comes twice"},
      {IccSegment(1, 3, "a") + IccSegment(3, 3, "c"), "segment 2 of 3 is missing"},
      {IccSegment(1, 2, "a") + IccSegment(2, 3, "b"), "disagree on their count"},
      {IccSegment(0, 2, "a"), "numbered 0 of 2"},
      {Segment(0xE2, std::string("ICC_PROFILE\0", 12)), "without its sequence number"},
  };
  for (const auto& [segments, why] : cases) {
    SCOPED_TRACE(why);
    const InputMetadata found = ExtractMetadata(JpegWithSegments(jpeg, segments), ImageFormat::kJpeg, KeepEverything());
    EXPECT_FALSE(found.icc_profile.has_value());
    ASSERT_EQ(found.problems.size(), 1u);
    EXPECT_NE(found.problems[0].find(why), std::string::npos) << found.problems[0];
  }
  // An APP1 "Exif" of the most a segment holds, garbage inside: found (it is within the bound), then not kept.
  const std::string garbage = Segment(0xE1, std::string("Exif\0\0", 6) + std::string(65527, '\x01'));
  const InputMetadata found = ExtractMetadata(JpegWithSegments(jpeg, garbage), ImageFormat::kJpeg, KeepEverything());
  ASSERT_TRUE(found.exif.has_value());
  const OutputMetadata out = PrepareOutputMetadata(found, KeepEverything(), OutputFormat::kJpeg, ExifRewrite{});
  EXPECT_FALSE(out.exif.has_value());
  ASSERT_EQ(out.not_kept.size(), 1u);
  EXPECT_NE(out.not_kept[0].find("byte order"), std::string::npos) << out.not_kept[0];
}

std::string PngChunk(const std::string& type, const std::string& data) {
  std::string chunk;
  for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back(static_cast<char>(data.size() >> shift & 0xFF));
  chunk += type + data;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(chunk.data() + 4), static_cast<uInt>(chunk.size() - 4));
  for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back(static_cast<char>(crc >> shift & 0xFF));
  return chunk;
}

TEST(MetadataExtractionTest, ACompressedProfileThatInflatesPastTheBoundIsNotKept) {
  // 64 MiB of zeros deflate to about 64 KB: refused once the output passes 4 MiB.
  const std::string zeros(64 << 20, '\0');
  uLongf size = compressBound(zeros.size());
  std::string compressed(size, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(zeros.data()),
                      zeros.size(), 9),
            Z_OK);
  compressed.resize(size);
  const std::string png = EncodeAs(GeneratedImage(64, 48), ".png");
  const std::string bomb =
      png.substr(0, 33) + PngChunk("iCCP", std::string("bomb\0\0", 6) + compressed) + png.substr(33);
  const auto start = std::chrono::steady_clock::now();
  const InputMetadata found = ExtractMetadata(bomb, ImageFormat::kPng, KeepEverything());
  EXPECT_FALSE(found.icc_profile.has_value());
  ASSERT_EQ(found.problems.size(), 1u);
  EXPECT_NE(found.problems[0].find("does not inflate"), std::string::npos) << found.problems[0];
  RecordProperty(
      "bomb_ms",
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()));
}

TEST(MetadataEmbeddingTest, EveryFormatsLibraryReadsBackWhatWasSplicedIntoTheEncodersOutput) {
  const cv::Mat image = GeneratedImage(96, 64);
  for (const bool large_profile : {false, true}) {
    const Metadata written = EveryBlock(IccProfile(large_profile ? "ITULab.icc" : "colord/AdobeRGB1998.icc"));
    OutputMetadata metadata;
    metadata.exif = written.exif;
    metadata.xmp = written.xmp;
    metadata.icc_profile = written.icc_profile;
    for (const OutputFormat format : {OutputFormat::kJpeg, OutputFormat::kPng, OutputFormat::kWebp}) {
      // libpng checks an iCCP profile's colour space against the image's: the Lab profile goes to JPEG and WebP only.
      if (large_profile && format == OutputFormat::kPng) continue;
      OutputSpec spec;
      spec.format = format;
      absl::StatusOr<EncodedImage> encoded = Encode(image, spec);
      ASSERT_TRUE(encoded.ok()) << encoded.status();
      SCOPED_TRACE(encoded->format);
      const std::string plain = encoded->bytes;
      ASSERT_TRUE(EmbedMetadata(metadata, format, encoded->bytes).ok());
      const ReadMetadata read = ReadAnswerMetadata(encoded->bytes, encoded->format);
      EXPECT_TRUE(read.decodes);
      EXPECT_EQ(read.metadata.exif, written.exif);
      EXPECT_EQ(read.metadata.xmp, written.xmp);
      EXPECT_EQ(read.metadata.icc_profile, written.icc_profile);
      for (const std::string& block : read.blocks) EXPECT_EQ(block.find("unreadable"), std::string::npos);
      for (const std::string& block : read.blocks) EXPECT_EQ(block.find("no VP8X flag"), std::string::npos);
      // The pixels are the encoder's, untouched.
      auto decode = [](const std::string& bytes) {
        return cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                            cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
      };
      const cv::Mat decoded = decode(encoded->bytes);
      ASSERT_FALSE(decoded.empty());
      EXPECT_EQ(Compare(decoded, decode(plain)).max_abs, 0);
    }
  }
}

TEST(MetadataEmbeddingTest, XmpOrientationIsResetWithExifsAndOtherwiseKeptByteForByte) {
  InputMetadata input;
  input.xmp = XmpPacket("rights", 6);
  OutputMetadata out = PrepareOutputMetadata(input, KeepEverything(), OutputFormat::kPng, ExifRewrite{});
  EXPECT_EQ(out.xmp, XmpPacket("rights", 1));
  ExifRewrite as_stored;
  as_stored.reset_orientation = false;
  out = PrepareOutputMetadata(input, KeepEverything(), OutputFormat::kPng, as_stored);
  EXPECT_EQ(out.xmp, XmpPacket("rights", 6));
  // Over what a JPEG APP1 holds: kept in PNG, not in JPEG, which says why.
  input.xmp = XmpPacket(std::string(70000, 'r'));
  EXPECT_TRUE(PrepareOutputMetadata(input, KeepEverything(), OutputFormat::kPng, ExifRewrite{}).xmp.has_value());
  out = PrepareOutputMetadata(input, KeepEverything(), OutputFormat::kJpeg, ExifRewrite{});
  EXPECT_FALSE(out.xmp.has_value());
  ASSERT_EQ(out.not_kept.size(), 1u);
  EXPECT_NE(out.not_kept[0].find("65504"), std::string::npos) << out.not_kept[0];
}

}  // namespace
}  // namespace imgproc::testing
