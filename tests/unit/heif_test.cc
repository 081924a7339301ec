// HEIC and AVIF input (issue 30): files made here with libheif's encoders (x265, aom) decode through the server's
// codec to the JPEG path's pixels within a stated PSNR, rotated and mirrored as their irot/imir say, gridded, with
// alpha and 10-bit samples; hostile layouts are refused from the header with INVALID_ARGUMENT naming the limit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "codec/color_profile.h"
#include "codec/color_transform.h"
#include "codec/heif_header.h"
#include "codec/image_header.h"
#include "codec/metadata.h"
#include "fuzz/heif_input.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/heif_images.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

// Lossy HEVC/AV1 at quality 90, 4:2:0, of a photo scaled down by area: measured 32.4 dB (Dune's fine sand, as HEIC)
// to 48.6 dB, median 44 dB, over the 60 comparisons here; 30 dB is far above a wrong turn, a swapped channel, a
// misplaced tile or a wrong YCbCr matrix (each under 20 dB).
constexpr double kMinPsnr = 30.0;

cv::Mat JpegPathPixels(const std::string& jpeg, double scale) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(jpeg);
  EXPECT_TRUE(header.ok()) << header.status();
  const ImageSpec spec = DecodedSpec(*header, DecodeMode::kColor);
  absl::StatusOr<cv::Mat> pixels = Decode(jpeg, *header, DecodeMode::kColor, spec);
  EXPECT_TRUE(pixels.ok()) << pixels.status();
  cv::Mat scaled;
  cv::resize(*pixels, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
  return scaled;
}

struct Decoded {
  ImageHeader header;
  cv::Mat pixels;
};

Decoded DecodeThroughCodec(const std::string& file, DecodeMode mode = DecodeMode::kColor) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  EXPECT_TRUE(header.ok()) << header.status();
  if (!header.ok()) return {};
  EXPECT_EQ(header->format, ImageFormat::kHeif);
  EXPECT_TRUE(CheckHeaderLimits(*header, file.size(), ImageLimits{}).ok());
  const ImageSpec spec = DecodedSpec(*header, mode);
  absl::StatusOr<cv::Mat> pixels = Decode(file, *header, mode, spec);
  EXPECT_TRUE(pixels.ok()) << pixels.status();
  if (!pixels.ok()) return {*header, cv::Mat()};
  return {*header, *pixels};
}

const char* CodecName(HeifCodec codec) { return codec == HeifCodec::kAv1 ? "avif" : "heic"; }

TEST(HeifInputTest, EveryPhotoAsHeicAndAvifMatchesTheJpegPath) {
  for (const std::string& path : NaturePhotos()) {
    const cv::Mat reference = JpegPathPixels(ReadFile(path), 0.25);
    for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
      SCOPED_TRACE(path + " as " + CodecName(codec));
      const Decoded decoded = DecodeThroughCodec(EncodeHeif(reference, {codec, 8, 90}));
      ASSERT_FALSE(decoded.pixels.empty());
      EXPECT_EQ(decoded.header.heif_av1, codec == HeifCodec::kAv1);
      EXPECT_EQ(decoded.header.heif_bits, 8);
      EXPECT_EQ(decoded.header.channels, 3);
      ASSERT_EQ(decoded.pixels.size(), reference.size());
      EXPECT_GE(Psnr(decoded.pixels, reference), kMinPsnr);
    }
  }
}

TEST(HeifInputTest, TenBitAndAlpha) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/Dune.jpg")), 0.25);
  cv::Mat bgra;
  cv::cvtColor(reference, bgra, cv::COLOR_BGR2BGRA);
  for (int y = 0; y < bgra.rows; ++y) {
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = static_cast<uchar>(x * 255 / (bgra.cols - 1));
  }
  for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
    for (int bits : {8, 10}) {
      SCOPED_TRACE(absl::StrCat(CodecName(codec), " ", bits, "-bit"));
      const Decoded colour = DecodeThroughCodec(EncodeHeif(reference, {codec, bits, 90}));
      EXPECT_EQ(colour.header.heif_bits, bits);
      ASSERT_FALSE(colour.pixels.empty());
      EXPECT_GE(Psnr(colour.pixels, reference), kMinPsnr);
      const Decoded with_alpha = DecodeThroughCodec(EncodeHeif(bgra, {codec, bits, 90}), DecodeMode::kUnchanged);
      EXPECT_EQ(with_alpha.header.channels, 4);
      ASSERT_EQ(with_alpha.pixels.channels(), 4);
      EXPECT_GE(Psnr(with_alpha.pixels, bgra), kMinPsnr);
    }
  }
}

// A 4:0:0 AVIF is gray: its header says one channel and UNCHANGED answers one, as for a gray PNG.
TEST(HeifInputTest, MonochromeIsGray) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/Garden.jpg")), 0.2);
  cv::Mat gray;
  cv::cvtColor(reference, gray, cv::COLOR_BGR2GRAY);
  HeifEncodeOptions options{HeifCodec::kAv1, 8, 90};
  options.monochrome = true;
  const Decoded decoded = DecodeThroughCodec(EncodeHeif(reference, options), DecodeMode::kUnchanged);
  EXPECT_EQ(decoded.header.channels, 1);
  ASSERT_EQ(decoded.pixels.channels(), 1);
  EXPECT_GE(Psnr(decoded.pixels, gray), kMinPsnr);
}

// irot turns anticlockwise; imir axis 1 mirrors left to right, 0 top to bottom (libheif 1.15's and avifenc's
// reading). The header's size is the turned one, so the plan's prediction and the decode agree.
cv::Mat Turned(const cv::Mat& image, int quarters, int mirror_axis) {
  cv::Mat out = image.clone();
  if (quarters == 1) cv::rotate(out, out, cv::ROTATE_90_COUNTERCLOCKWISE);
  if (quarters == 2) cv::rotate(out, out, cv::ROTATE_180);
  if (quarters == 3) cv::rotate(out, out, cv::ROTATE_90_CLOCKWISE);
  if (mirror_axis >= 0) cv::flip(out, out, mirror_axis == 1 ? 1 : 0);
  return out;
}

TEST(HeifInputTest, RotatedAndMirroredAsIrotImirSay) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/Storm.jpg")), 0.2);
  for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
    for (int bits : {8, 10}) {  // libheif 1.15 itself turns only 8-bit planes: 10-bit ones must turn too
      for (auto [quarters, axis] :
           {std::pair{1, -1}, std::pair{2, -1}, std::pair{3, -1}, std::pair{0, 0}, std::pair{0, 1}, std::pair{1, 1}}) {
        SCOPED_TRACE(absl::StrCat(CodecName(codec), " ", bits, "-bit irot ", quarters, " imir ", axis));
        const Decoded decoded = DecodeThroughCodec(EncodeHeifRotated(reference, {codec, bits, 90}, quarters, axis));
        const cv::Mat expected = Turned(reference, quarters, axis);
        EXPECT_EQ(decoded.header.width, expected.cols);
        EXPECT_EQ(decoded.header.height, expected.rows);
        EXPECT_EQ(decoded.header.exif_orientation, 1);
        ASSERT_EQ(decoded.pixels.size(), expected.size());
        EXPECT_GE(Psnr(decoded.pixels, expected), kMinPsnr);
      }
    }
  }
}

// iPhone photos are grids of 512x512 tiles; the last row and column overhang the output.
TEST(HeifInputTest, GridsOf512Tiles) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/RainDrops.jpg")), 0.6);  // 1152x720
  for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
    for (int quarters : {0, 3}) {
      SCOPED_TRACE(absl::StrCat(CodecName(codec), " irot ", quarters));
      const Decoded decoded = DecodeThroughCodec(EncodeHeifGrid(reference, 512, {codec, 8, 90}, quarters));
      EXPECT_EQ(decoded.header.heif_tiles, 3 * 2);
      const cv::Mat expected = Turned(reference, quarters, -1);
      ASSERT_EQ(decoded.pixels.size(), expected.size());
      EXPECT_GE(Psnr(decoded.pixels, expected), kMinPsnr);
    }
  }
}

absl::Status HeaderAndLimits(const std::string& file) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  if (!header.ok()) return header.status();
  return CheckHeaderLimits(*header, file.size(), ImageLimits{});
}

TEST(HeifHostileTest, HugeGridInAFewKilobytesIsRefusedByTheLimits) {
  const std::string file = HostileHeifGrid(65536, 65536, 2, 2, 32768, 32768);
  EXPECT_LT(file.size(), 4096u);
  const absl::Status status = HeaderAndLimits(file);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find("heif image is 65536x65536, over the limits (16384x16384"), std::string::npos)
      << status;
}

TEST(HeifHostileTest, HugeIspeAbsurdTileCountsAndRecursionAreRefusedFromTheHeader) {
  struct Case {
    std::string name, file, message;
  };
  const std::vector<Case> cases = {
      {"absurd tile count", HostileHeifGrid(4080, 4080, 255, 255, 16, 16), "65025 tiles, over the limit of 4096"},
      {"tiles that do not make the output", HostileHeifGrid(1000, 1000, 2, 2, 16, 16), "do not make its 1000x1000"},
      {"grid naming itself", HostileHeifGrid(32, 32, 2, 2, 16, 16, /*self_reference=*/true),
       "nested or recursive grids are refused"},
      {"tile ispe beyond the limits", HostileHeifGrid(100000, 16, 1, 1, 100000, 16), "over the limits"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status status = HeaderAndLimits(c.file);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_NE(status.message().find(c.message), std::string::npos) << status;
  }
}

TEST(HeifHostileTest, JunkTileDataIsInvalidArgumentFromTheDecoder) {
  const std::string file = HostileHeifGrid(32, 32, 2, 2, 16, 16);
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  ASSERT_TRUE(header.ok()) << header.status();
  absl::StatusOr<cv::Mat> pixels = Decode(file, *header, DecodeMode::kColor, DecodedSpec(*header, DecodeMode::kColor));
  EXPECT_TRUE(absl::IsInvalidArgument(pixels.status())) << pixels.status();
}

TEST(HeifHostileTest, EveryTruncationIsInvalidArgument) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/Aqua.jpg")), 0.1);
  for (HeifCodec codec : {HeifCodec::kHevc, HeifCodec::kAv1}) {
    const std::string whole = EncodeHeifGrid(reference, 128, {codec, 8, 80});
    for (size_t cut = 1; cut < whole.size(); cut += std::max<size_t>(1, whole.size() / 97)) {
      SCOPED_TRACE(absl::StrCat(CodecName(codec), " cut at ", cut, " of ", whole.size()));
      const std::string part = whole.substr(0, cut);
      absl::StatusOr<ImageHeader> header = ReadImageHeader(part);
      if (!header.ok()) {
        EXPECT_TRUE(absl::IsInvalidArgument(header.status())) << header.status();
        continue;
      }
      absl::StatusOr<cv::Mat> pixels =
          Decode(part, *header, DecodeMode::kColor, DecodedSpec(*header, DecodeMode::kColor));
      EXPECT_TRUE(absl::IsInvalidArgument(pixels.status())) << pixels.status();
    }
  }
}

// The plan points into its request: each request is kept for the test binary's life.
absl::StatusOr<Plan> PlanFor(const std::string& file, bool keep_exif) {
  static auto* requests = new std::vector<std::unique_ptr<Request>>();
  requests->push_back(std::make_unique<Request>(file));
  Request& request = *requests->back();
  if (keep_exif) request.output.metadata.exif = ExifPolicy::kKeep;
  return BuildPlan(request, ImageLimits{});
}

// An iPhone's HEIC is turned by its irot and repeats the turn in its EXIF Orientation: the answer is turned once,
// its size predicted from the header, and a kept EXIF says Orientation 1.
TEST(HeifMetadataTest, IrotTurnsOnceAndTheKeptExifSaysOrientationOne) {
  const cv::Mat reference = JpegPathPixels(ReadFile(PhotoPath("nature/Wood.jpg")), 0.15);
  HeifEncodeOptions options;
  ExifFields fields;
  fields.orientation = 6;  // "turn 90 degrees clockwise to display", as irot 3 does
  fields.make = "Apple";
  options.exif = ExifBlock(fields);
  const std::string file = EncodeHeifRotated(reference, options, /*irot_quarters=*/3);
  absl::StatusOr<Plan> plan = PlanFor(file, /*keep_exif=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->orientation, 1);
  EXPECT_EQ(plan->oriented.width, reference.rows);
  EXPECT_EQ(plan->oriented.height, reference.cols);
  ASSERT_TRUE(plan->metadata.exif.has_value());
  const ParsedExif kept = ParseExif(*plan->metadata.exif);
  EXPECT_EQ(kept.orientation, 1);
  EXPECT_EQ(kept.make, "Apple");
  absl::StatusOr<cv::Mat> pixels = Decode(file, plan->header, plan->decode_mode, plan->decoded);
  ASSERT_TRUE(pixels.ok()) << pixels.status();
  EXPECT_GE(Psnr(*pixels, Turned(reference, 3, -1)), kMinPsnr);
}

cv::Mat Patches() {
  cv::Mat image(64, 128, CV_8UC3, cv::Scalar(128, 128, 128));
  image(cv::Rect(64, 0, 64, 64)).setTo(cv::Scalar(40, 200, 60));  // a saturated green (BGR)
  return image;
}

// nclx Display P3 (primaries 12, sRGB transfer 13) becomes a profile of those primaries, and the plan converts it
// to sRGB: gray stays gray, a saturated P3 green comes out greener than its stored values read as sRGB would be
// left (its red is pushed to 0, beyond sRGB's gamut).
TEST(HeifColorTest, NclxDisplayP3IsConvertedToSrgb) {
  HeifEncodeOptions options;
  options.nclx_primaries = 12;
  options.nclx_transfer = 13;
  const std::string file = EncodeHeif(Patches(), options);
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  ASSERT_TRUE(header.ok()) << header.status();
  const ColorSource source = ReadColorSource(file, *header);
  EXPECT_EQ(source.kind, ColorSourceKind::kIcc) << source.problem;
  EXPECT_TRUE(source.heif_nclx);
  absl::StatusOr<Plan> plan = PlanFor(file, false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->color.action, ColorAction::kConverted) << plan->color.reason;
  EXPECT_EQ(plan->color.source, "heif colr nclx");
  EXPECT_NE(plan->color.description.find("Display P3"), std::string::npos) << plan->color.description;
  absl::StatusOr<cv::Mat> converted =
      Decode(file, plan->header, plan->decode_mode, plan->decoded, 1, nullptr, plan->color.transform.get());
  ASSERT_TRUE(converted.ok()) << converted.status();
  const cv::Vec3b gray = converted->at<cv::Vec3b>(32, 32), green = converted->at<cv::Vec3b>(32, 96);
  EXPECT_LE(std::abs(gray[0] - gray[1]) + std::abs(gray[1] - gray[2]), 3) << gray;
  EXPECT_LE(green[2], 20) << green;   // red: P3's green lies outside sRGB, towards less red
  EXPECT_GE(green[1], 200) << green;  // green
}

// Without nclx (libheif writes BT.709/sRGB by default) nothing is converted; PQ is left as stored, saying why.
TEST(HeifColorTest, Bt709IsSrgbAndPqIsLeftAsStored) {
  absl::StatusOr<Plan> srgb = PlanFor(EncodeHeif(Patches(), {}), false);
  ASSERT_TRUE(srgb.ok()) << srgb.status();
  EXPECT_EQ(srgb->color.action, ColorAction::kNone);
  HeifEncodeOptions pq;
  pq.nclx_primaries = 9;
  pq.nclx_transfer = 16;
  absl::StatusOr<Plan> hdr = PlanFor(EncodeHeif(Patches(), pq), false);
  ASSERT_TRUE(hdr.ok()) << hdr.status();
  EXPECT_EQ(hdr->color.action, ColorAction::kInvalid);
  EXPECT_NE(hdr->color.reason.find("PQ (16)"), std::string::npos) << hdr->color.reason;
}

// An embedded ICC profile ('prof' colr) is the colour source and the profile the metadata policy keeps.
TEST(HeifColorTest, AnEmbeddedIccProfileIsReadAndKept) {
  const std::string adobe = IccProfile("colord/AdobeRGB1998.icc");
  HeifEncodeOptions options;
  options.icc = adobe;
  const std::string file = EncodeHeif(Patches(), options);
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  ASSERT_TRUE(header.ok()) << header.status();
  const ColorSource source = ReadColorSource(file, *header);
  ASSERT_EQ(source.kind, ColorSourceKind::kIcc);
  EXPECT_EQ(*source.icc, adobe);
  MetadataPolicy keep;
  keep.keep_icc_profile = true;
  const InputMetadata metadata = ExtractMetadata(file, ImageFormat::kHeif, keep);
  ASSERT_TRUE(metadata.icc_profile.has_value());
  EXPECT_EQ(*metadata.icc_profile, adobe);
  absl::StatusOr<Plan> plan = PlanFor(file, false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->color.action, ColorAction::kConverted);
  EXPECT_EQ(plan->color.source, "heif colr ICC profile");
}

// The seeds of fuzz_heif (tests/fuzz/heif_seeds, written by this test with IMGPROC_WRITE_HEIF_SEEDS=dir) and
// mutations of them run through the fuzz target's body: every outcome a clean status or a predicted image.
TEST(HeifFuzzSeedsTest, SeedsAndMutationsRunThroughTheFuzzTargetsBody) {
  const cv::Mat small = JpegPathPixels(ReadFile(PhotoPath("nature/LadyBird.jpg")), 0.05);  // 128x80
  cv::Mat bgra;
  cv::cvtColor(small, bgra, cv::COLOR_BGR2BGRA);
  HeifEncodeOptions p3;
  p3.nclx_primaries = 12;
  p3.nclx_transfer = 13;
  HeifEncodeOptions with_exif;
  ExifFields fields;
  fields.orientation = 8;
  with_exif.exif = ExifBlock(fields);
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"heic.heic", EncodeHeif(small, {HeifCodec::kHevc, 8, 50})},
      {"avif.avif", EncodeHeif(small, {HeifCodec::kAv1, 8, 50})},
      {"heic_10bit_alpha.heic", EncodeHeif(bgra, {HeifCodec::kHevc, 10, 50})},
      {"avif_10bit_alpha.avif", EncodeHeif(bgra, {HeifCodec::kAv1, 10, 50})},
      {"heic_grid_irot.heic", EncodeHeifGrid(small, 64, {HeifCodec::kHevc, 8, 50}, 1, 1)},
      {"avif_grid.avif", EncodeHeifGrid(small, 64, {HeifCodec::kAv1, 8, 50})},
      {"heic_p3.heic", EncodeHeif(small, p3)},
      {"heic_exif_imir.heic", EncodeHeifRotated(small, with_exif, 2, 0)},
      {"hostile_grid.heic", HostileHeifGrid(64, 64, 2, 2, 32, 32)},
  };
  if (const char* dir = std::getenv("IMGPROC_WRITE_HEIF_SEEDS"); dir != nullptr) {
    for (const auto& [name, bytes] : seeds) std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
  }
  std::vector<std::string> inputs;
  for (const auto& [name, bytes] : seeds) {
    inputs.push_back(bytes);
    fuzz::HeifInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::mt19937 random(30);
  for (int i = 0; i < 1500; ++i) {
    const std::string input = Mutate(inputs, i, random);
    fuzz::HeifInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace imgproc::testing
