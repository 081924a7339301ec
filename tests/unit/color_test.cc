// Colour management (issue 29): the profile of every input format is found, the pixels are converted to sRGB as
// lcms2 converts them, KEEP and IGNORE leave them as stored, and hostile profiles are reported, never fatal.
#include <gtest/gtest.h>
#include <lcms2.h>
#include <webp/encode.h>
#include <webp/mux.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "codec/codec.h"
#include "codec/color_profile.h"
#include "codec/color_transform.h"
#include "codec/jpeg_turbo.h"
#include "fuzz/color_profile_input.h"
#include "imgproc_testing/color_images.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc {
namespace {

using testing::ColorTestPhoto;
using testing::LcmsToSrgb;
using testing::ProfileSpace;
using testing::Psnr;
using testing::RenderFromSrgb;
using testing::TestProfile;

struct Served {
  Plan plan;
  cv::Mat pixels;
};

// What a CPU lane decodes for a request: the plan (with its colour decision), then the decode with its transform.
absl::StatusOr<Served> ServeDecode(const std::string& bytes, ColorPolicy policy = ColorPolicy::kConvertToSrgb,
                                   DecodeMode mode = DecodeMode::kColor, bool strict = false) {
  ImageRequest request;
  request.image = bytes;
  request.decode_mode = mode;
  request.color_policy = policy;
  request.strict_decode = strict;
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  absl::StatusOr<cv::Mat> pixels =
      Decode(bytes, plan->header, plan->decode_mode, plan->decoded, 1, nullptr, plan->color.transform.get());
  if (!pixels.ok()) return pixels.status();
  return Served{*std::move(plan), *std::move(pixels)};
}

struct Format {
  const char* name;
  std::string (*write)(const cv::Mat&, const std::string&);
};

std::string Jpeg(const cv::Mat& pixels, const std::string& profile) {
  return testing::JpegWithProfile(pixels, profile, 95);
}

const Format kFormats[] = {{"jpeg", Jpeg},
                           {"png", testing::PngWithProfile},
                           {"webp", testing::WebpWithProfile},
                           {"tiff", testing::TiffWithProfile}};

TEST(ColorProfileTest, EveryFormatCarriesTheProfileByteForByte) {
  const cv::Mat photo = ColorTestPhoto(0, 64, 40);
  for (const TestProfile& profile : testing::RgbTestProfiles()) {
    const cv::Mat rendered = RenderFromSrgb(photo, profile);
    for (const Format& format : kFormats) {
      SCOPED_TRACE(std::string(format.name) + " " + profile.name);
      const std::string bytes = format.write(rendered, profile.bytes);
      absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
      ASSERT_TRUE(header.ok()) << header.status();
      const ColorSource source = ReadColorSource(bytes, *header);
      EXPECT_EQ(source.problem, "");
      ASSERT_EQ(source.kind, ColorSourceKind::kIcc);
      EXPECT_TRUE(*source.icc == profile.bytes) << source.icc->size() << " vs " << profile.bytes.size();
    }
  }
}

// The LUT profile is about 400 KB: libjpeg-turbo splits it into 7 APP2 segments; they are joined in sequence-number
// order, whatever order the file has them in.
TEST(ColorProfileTest, JpegSegmentsAreJoinedBySequenceNumber) {
  const std::string profile = testing::RgbTestProfiles().back().bytes;
  ASSERT_GT(profile.size(), 3u * 65519);
  const std::string jpeg = Jpeg(ColorTestPhoto(1, 32, 24), "");
  std::vector<std::string> segments;
  const int count = static_cast<int>((profile.size() + 65518) / 65519);
  for (int k = count; k >= 1; --k) {  // reversed
    segments.push_back(testing::IccSegment(k, count, profile.substr(static_cast<size_t>(k - 1) * 65519, 65519)));
  }
  const std::string bytes = testing::JpegWithIccSegments(jpeg, segments);
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  const ColorSource source = ReadColorSource(bytes, *header);
  ASSERT_EQ(source.kind, ColorSourceKind::kIcc) << source.problem;
  EXPECT_TRUE(*source.icc == profile);
}

// The bound of issue 29: the server's sRGB answer against lcms2's own conversion of the same decoded pixels.
TEST(ColorConversionTest, EveryProfileAndFormatMatchesLcms2) {
  double lowest = INFINITY;
  for (int photo_index = 0; photo_index < 3; ++photo_index) {
    const cv::Mat photo = ColorTestPhoto(photo_index);
    for (const TestProfile& profile : testing::RgbTestProfiles()) {
      const cv::Mat rendered = RenderFromSrgb(photo, profile);
      for (const Format& format : kFormats) {
        SCOPED_TRACE(std::string(format.name) + " " + profile.name + " photo " + std::to_string(photo_index));
        const std::string bytes = format.write(rendered, profile.bytes);
        absl::StatusOr<Served> served = ServeDecode(bytes);
        ASSERT_TRUE(served.ok()) << served.status();
        EXPECT_EQ(served->plan.color.action, ColorAction::kConverted) << served->plan.color.reason;
        const cv::Mat reference = LcmsToSrgb(testing::DecodeLikeServer(bytes), profile);
        const double psnr = Psnr(served->pixels, reference);
        EXPECT_GE(psnr, 45.0);
        lowest = std::min(lowest, psnr);
      }
    }
  }
  std::printf("lowest PSNR against lcms2 (6 RGB profiles x 4 formats x 3 photos): %.1f dB\n", lowest);
}

// The table: each photo rendered into a wide-gamut profile and sent as PNG (lossless, so only the 8-bit
// rendering itself separates it from the original) and as JPEG (quality 95); PSNR of the answer against the
// original sRGB photo, with the profile ignored (the old behaviour) and converted (the default).
TEST(ColorConversionTest, WideGamutPhotosComeBackWithTheirSrgbLook) {
  std::printf("%-14s %-5s %12s %12s %10s %10s\n", "profile", "fmt", "ignored dB", "converted dB", "max before",
              "max after");
  for (const TestProfile& profile : testing::RgbTestProfiles()) {
    for (const Format& format : {kFormats[0], kFormats[1]}) {
      double before = 0, after = 0, max_before = 0, max_after = 0;
      const int photos = 3;
      for (int i = 0; i < photos; ++i) {
        const cv::Mat photo = ColorTestPhoto(i, 640, 400);
        const std::string bytes = format.write(RenderFromSrgb(photo, profile), profile.bytes);
        absl::StatusOr<Served> ignored = ServeDecode(bytes, ColorPolicy::kIgnore);
        absl::StatusOr<Served> converted = ServeDecode(bytes);
        ASSERT_TRUE(ignored.ok() && converted.ok());
        before += Psnr(ignored->pixels, photo) / photos;
        after += Psnr(converted->pixels, photo) / photos;
        double worst = 0;
        cv::minMaxLoc(cv::abs(ignored->pixels - photo) + cv::abs(photo - ignored->pixels), nullptr, &worst);
        max_before = std::max(max_before, worst);
        cv::minMaxLoc(cv::abs(converted->pixels - photo) + cv::abs(photo - converted->pixels), nullptr, &worst);
        max_after = std::max(max_after, worst);
        EXPECT_GT(Psnr(converted->pixels, photo), Psnr(ignored->pixels, photo) + 3.0) << profile.name;
        // PNG: only the 8-bit rendering into the wide gamut stands between them; JPEG adds its quantisation.
        EXPECT_GE(Psnr(converted->pixels, photo), format.name == std::string("png") ? 45.0 : 30.0) << profile.name;
      }
      std::printf("%-14s %-5s %12.1f %12.1f %10.0f %10.0f\n", profile.name.c_str(), format.name, before, after,
                  max_before, max_after);
    }
  }
}

// Perceptual (the server's) and relative colorimetric, each from lcms2 on the same pixels: README says why perceptual.
TEST(ColorConversionTest, IntentsComparedOnTheTestProfiles) {
  const cv::Mat photo = ColorTestPhoto(2, 640, 400);
  std::vector<TestProfile> profiles = testing::RgbTestProfiles();
  profiles.push_back(testing::CmykTestProfile());
  for (const TestProfile& profile : profiles) {
    const cv::Mat rendered = RenderFromSrgb(photo, profile);
    cmsHPROFILE source =
        cmsOpenProfileFromMem(profile.bytes.data(), static_cast<cmsUInt32Number>(profile.bytes.size()));
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    const cmsUInt32Number format = profile.space == ProfileSpace::kCmyk ? TYPE_CMYK_8 : TYPE_BGR_8;
    cv::Mat by_intent[2];
    const cmsUInt32Number intents[2] = {INTENT_PERCEPTUAL, INTENT_RELATIVE_COLORIMETRIC};
    for (int k = 0; k < 2; ++k) {
      cmsHTRANSFORM t = cmsCreateTransform(source, format, srgb, TYPE_BGR_8, intents[k], 0);
      ASSERT_NE(t, nullptr);
      by_intent[k].create(rendered.rows, rendered.cols, CV_8UC3);
      for (int y = 0; y < rendered.rows; ++y) cmsDoTransform(t, rendered.ptr(y), by_intent[k].ptr(y), rendered.cols);
      cmsDeleteTransform(t);
    }
    std::printf("%-14s perceptual vs relative colorimetric: %.1f dB; against the original: %.1f / %.1f dB\n",
                profile.name.c_str(), Psnr(by_intent[0], by_intent[1]), Psnr(by_intent[0], photo),
                Psnr(by_intent[1], photo));
    // Matrix/TRC profiles have no perceptual table: the intents are the same. The LUT ones round-trip better
    // perceptually (the tables were sampled colorimetrically into A2B0, the only one they have).
    if (cmsIsMatrixShaper(source)) {
      EXPECT_EQ(cv::norm(by_intent[0], by_intent[1], cv::NORM_INF), 0) << profile.name;
    } else {
      EXPECT_GT(Psnr(by_intent[0], photo), Psnr(by_intent[1], photo)) << profile.name;
    }
    cmsCloseProfile(srgb);
    cmsCloseProfile(source);
  }
}

TEST(ColorConversionTest, CmykJpegConvertsThroughItsProfile) {
  const TestProfile cmyk = testing::CmykTestProfile();
  const cv::Mat photo = ColorTestPhoto(3);
  const cv::Mat ink = RenderFromSrgb(photo, cmyk);
  const std::string bytes = testing::JpegWithProfile(ink, cmyk.bytes, 95);
  absl::StatusOr<Served> served = ServeDecode(bytes);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->plan.color.action, ColorAction::kConverted) << served->plan.color.reason;
  EXPECT_EQ(served->plan.color.description, "LUT-based CMYK (test press, UCR)");
  // The reference: libjpeg's ink (as stored: inverted, Adobe's marker) through lcms2.
  absl::StatusOr<cv::Mat> stored = DecodeCmykJpeg(bytes, 1, nullptr);
  ASSERT_TRUE(stored.ok());
  cv::Mat decoded_ink;
  cv::bitwise_not(*stored, decoded_ink);
  const double psnr = Psnr(served->pixels, LcmsToSrgb(decoded_ink, cmyk));
  std::printf("CMYK JPEG: %.1f dB against lcms2; %.1f dB against the original (profile-blind: %.1f dB)\n", psnr,
              Psnr(served->pixels, photo), Psnr(ServeDecode(bytes, ColorPolicy::kIgnore)->pixels, photo));
  EXPECT_GE(psnr, 45.0);
  // In gray: the converted colours made gray.
  absl::StatusOr<Served> gray = ServeDecode(bytes, ColorPolicy::kConvertToSrgb, DecodeMode::kGrayscale);
  ASSERT_TRUE(gray.ok()) << gray.status();
  cv::Mat expected_gray;
  cv::cvtColor(served->pixels, expected_gray, cv::COLOR_BGR2GRAY);
  EXPECT_GE(Psnr(gray->pixels, expected_gray), 45.0);
}

TEST(ColorConversionTest, GrayImagesConvertThroughTheirGrayProfile) {
  const TestProfile gray = testing::GrayTestProfile();
  const cv::Mat rendered = RenderFromSrgb(ColorTestPhoto(4), gray);
  for (const Format& format : {kFormats[0], kFormats[1], kFormats[3]}) {  // WebP has no gray
    SCOPED_TRACE(format.name);
    const std::string bytes = format.write(rendered, gray.bytes);
    for (DecodeMode mode : {DecodeMode::kGrayscale, DecodeMode::kColor}) {
      absl::StatusOr<Served> served = ServeDecode(bytes, ColorPolicy::kConvertToSrgb, mode);
      ASSERT_TRUE(served.ok()) << served.status();
      EXPECT_EQ(served->plan.color.action, ColorAction::kConverted) << served->plan.color.reason;
      cv::Mat reference = LcmsToSrgb(testing::DecodeLikeServer(bytes, imgproc::v1::DECODE_MODE_GRAYSCALE), gray);
      if (mode == DecodeMode::kColor) cv::cvtColor(reference, reference, cv::COLOR_GRAY2BGR);
      EXPECT_GE(Psnr(served->pixels, reference), 45.0);
    }
  }
}

TEST(ColorConversionTest, AnRgbProfileReadInGrayIsConvertedFirst) {
  const TestProfile adobe = testing::RgbTestProfiles()[0];
  const std::string bytes = testing::PngWithProfile(RenderFromSrgb(ColorTestPhoto(5), adobe), adobe.bytes);
  absl::StatusOr<Served> color = ServeDecode(bytes);
  absl::StatusOr<Served> gray = ServeDecode(bytes, ColorPolicy::kConvertToSrgb, DecodeMode::kGrayscale);
  ASSERT_TRUE(color.ok() && gray.ok());
  cv::Mat expected;
  cv::cvtColor(color->pixels, expected, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::norm(gray->pixels, expected, cv::NORM_INF), 0);
}

TEST(ColorConversionTest, AlphaIsLeftAlone) {
  const TestProfile p3 = testing::RgbTestProfiles()[4];
  const cv::Mat rendered = RenderFromSrgb(ColorTestPhoto(6, 96, 64), p3);
  cv::Mat bgra;
  cv::cvtColor(rendered, bgra, cv::COLOR_BGR2BGRA);
  for (int y = 0; y < bgra.rows; ++y)
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = static_cast<uchar>((x * 5 + y * 3) & 255);
  uint8_t* webp = nullptr;
  const size_t size = WebPEncodeLosslessBGRA(bgra.ptr(), bgra.cols, bgra.rows, static_cast<int>(bgra.step[0]), &webp);
  const std::string plain(reinterpret_cast<const char*>(webp), size);
  WebPFree(webp);
  // The profile goes in through the mux, as testing::WebpWithProfile does for 3 channels.
  const WebPData image = {reinterpret_cast<const uint8_t*>(plain.data()), plain.size()};
  WebPMux* mux = WebPMuxCreate(&image, 0);
  const WebPData icc = {reinterpret_cast<const uint8_t*>(p3.bytes.data()), p3.bytes.size()};
  WebPMuxSetChunk(mux, "ICCP", &icc, 0);
  WebPData assembled = {nullptr, 0};
  WebPMuxAssemble(mux, &assembled);
  const std::string bytes(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  WebPMuxDelete(mux);
  absl::StatusOr<Served> served = ServeDecode(bytes, ColorPolicy::kConvertToSrgb, DecodeMode::kUnchanged);
  ASSERT_TRUE(served.ok()) << served.status();
  ASSERT_EQ(served->pixels.channels(), 4);
  cv::Mat alpha, expected_alpha, colours;
  cv::extractChannel(served->pixels, alpha, 3);
  cv::extractChannel(bgra, expected_alpha, 3);
  EXPECT_EQ(cv::norm(alpha, expected_alpha, cv::NORM_INF), 0);
  cv::cvtColor(served->pixels, colours, cv::COLOR_BGRA2BGR);
  // Against the decoded colours: lossless WebP may change the colour of fully transparent pixels.
  cv::Mat decoded_colours;
  cv::cvtColor(testing::DecodeLikeServer(bytes, imgproc::v1::DECODE_MODE_UNCHANGED), decoded_colours,
               cv::COLOR_BGRA2BGR);
  EXPECT_GE(Psnr(colours, LcmsToSrgb(decoded_colours, p3)), 45.0);
}

TEST(ColorPolicyTest, KeepAndIgnoreLeaveThePixelsAsStored) {
  const TestProfile prophoto = testing::RgbTestProfiles()[1];
  const std::string bytes = Jpeg(RenderFromSrgb(ColorTestPhoto(7), prophoto), prophoto.bytes);
  const cv::Mat stored = testing::DecodeLikeServer(bytes);
  absl::StatusOr<Served> kept = ServeDecode(bytes, ColorPolicy::kKeep);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->plan.color.action, ColorAction::kKept);
  EXPECT_EQ(kept->plan.color.description, "ProPhoto RGB");
  ASSERT_NE(kept->plan.color.profile, nullptr);
  EXPECT_TRUE(*kept->plan.color.profile == prophoto.bytes);
  ASSERT_NE(kept->plan.color.pixels_profile, nullptr);
  EXPECT_TRUE(*kept->plan.color.pixels_profile == prophoto.bytes);  // what an encoder embeds
  EXPECT_EQ(cv::norm(kept->pixels, stored, cv::NORM_INF), 0);
  absl::StatusOr<Served> ignored = ServeDecode(bytes, ColorPolicy::kIgnore);
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(ignored->plan.color.action, ColorAction::kIgnored);
  EXPECT_EQ(ignored->plan.color.sha256, Sha256Hex(prophoto.bytes));
  EXPECT_EQ(ignored->plan.color.pixels_profile, nullptr);
  // Converted, the pixels are in sRGB: that is the profile an encoder would embed.
  absl::StatusOr<Served> converted = ServeDecode(bytes);
  ASSERT_TRUE(converted.ok());
  ASSERT_NE(converted->plan.color.pixels_profile, nullptr);
  EXPECT_TRUE(*converted->plan.color.pixels_profile == *SrgbIccProfile());
  EXPECT_GT(SrgbIccProfile()->size(), 128u);
  EXPECT_EQ(cv::norm(ignored->pixels, stored, cv::NORM_INF), 0);
}

// KEEP keeps a profile only where it describes the answer: a CMYK JPEG answers in RGB, so its ink is converted.
TEST(ColorPolicyTest, KeepConvertsWhereTheProfileCannotDescribeTheAnswer) {
  const TestProfile cmyk = testing::CmykTestProfile();
  const std::string cmyk_jpeg = testing::JpegWithProfile(RenderFromSrgb(ColorTestPhoto(11), cmyk), cmyk.bytes, 95);
  absl::StatusOr<Served> kept = ServeDecode(cmyk_jpeg, ColorPolicy::kKeep);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->plan.color.action, ColorAction::kConverted);
  EXPECT_NE(kept->plan.color.reason.find("COLOR_POLICY_KEEP: a CMYK JPEG's answer is RGB"), std::string::npos)
      << kept->plan.color.reason;
  EXPECT_EQ(cv::norm(kept->pixels, ServeDecode(cmyk_jpeg)->pixels, cv::NORM_INF), 0);
  // An RGB profile and a gray answer.
  const TestProfile adobe = testing::RgbTestProfiles()[0];
  const std::string png = testing::PngWithProfile(RenderFromSrgb(ColorTestPhoto(12, 64, 40), adobe), adobe.bytes);
  absl::StatusOr<Served> gray = ServeDecode(png, ColorPolicy::kKeep, DecodeMode::kGrayscale);
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->plan.color.action, ColorAction::kConverted) << gray->plan.color.reason;
  EXPECT_TRUE(*gray->plan.color.pixels_profile == *SrgbIccProfile());
}

TEST(ColorPolicyTest, SrgbInputsAreLeftAlone) {
  const cv::Mat photo = ColorTestPhoto(8, 64, 40);
  absl::StatusOr<Served> tagged = ServeDecode(testing::PngWithProfile(photo, testing::SrgbProfileBytes()));
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->plan.color.action, ColorAction::kAlreadySrgb);
  EXPECT_EQ(tagged->plan.color.transform, nullptr);
  EXPECT_EQ(cv::norm(tagged->pixels, photo, cv::NORM_INF), 0);
  absl::StatusOr<Served> untagged = ServeDecode(testing::PngWithProfile(photo, ""));
  ASSERT_TRUE(untagged.ok());
  EXPECT_EQ(untagged->plan.color.action, ColorAction::kNone);
}

// PNG chunks: a CRC'd chunk inserted after IHDR.
std::string WithPngChunk(const std::string& png, const std::string& type, const std::string& data) {
  std::string chunk;
  for (int shift = 24; shift >= 0; shift -= 8) chunk += static_cast<char>((data.size() >> shift) & 0xFF);
  chunk += type + data;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(chunk.data() + 4), static_cast<uInt>(chunk.size() - 4));
  for (int shift = 24; shift >= 0; shift -= 8) chunk += static_cast<char>((crc >> shift) & 0xFF);
  return png.substr(0, 33) + chunk + png.substr(33);
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

TEST(ColorPolicyTest, PngGammaAndChromaticitiesAreSynthesisedIntoAProfile) {
  const cv::Mat photo = ColorTestPhoto(9, 160, 100);
  const std::string png = testing::PngWithProfile(photo, "");
  // gAMA 1/1.8 with Adobe RGB's primaries.
  std::string chrm;
  for (uint32_t v : {31270u, 32900u, 64000u, 33000u, 21000u, 71000u, 15000u, 6000u}) chrm += Be32(v);
  const std::string bytes = WithPngChunk(WithPngChunk(png, "cHRM", chrm), "gAMA", Be32(55556));
  absl::StatusOr<Served> served = ServeDecode(bytes);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->plan.color.action, ColorAction::kConverted) << served->plan.color.reason;
  EXPECT_EQ(served->plan.color.source, "png gAMA and cHRM chunks");
  // lcms2's reference, built here from the same numbers.
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* curve = cmsBuildGamma(nullptr, 1.8);
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE source = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(source, nullptr, &size);
  std::string profile(size, '\0');
  cmsSaveProfileToMem(source, profile.data(), &size);
  cmsCloseProfile(source);
  cmsFreeToneCurve(curve);
  EXPECT_GE(Psnr(served->pixels, LcmsToSrgb(photo, TestProfile{"gamma", profile, ProfileSpace::kRgb})), 45.0);
  // An sRGB chunk: nothing to do.
  absl::StatusOr<Served> srgb = ServeDecode(WithPngChunk(png, "sRGB", std::string(1, '\0')));
  ASSERT_TRUE(srgb.ok());
  EXPECT_EQ(srgb->plan.color.action, ColorAction::kAlreadySrgb);
}

// --- hostile profiles: reported (or refused under strict_decode), never fatal, bounded memory -----------------

struct Hostile {
  std::string name;
  std::string bytes;        // the whole image
  std::string reason_part;  // expected in the reason
};

std::string Patched(std::string profile, size_t at, const std::string& bytes) {
  profile.replace(at, bytes.size(), bytes);
  return profile;
}

// Where tag `signature`'s entry is in a profile's tag table (signature, offset, size), and its data's offset.
size_t TagEntry(const std::string& profile, const char* signature) {
  for (size_t k = 0, at = 132; at + 12 <= profile.size(); ++k, at += 12) {
    if (profile.compare(at, 4, signature) == 0) return at;
  }
  return 0;
}
size_t TagOffset(const std::string& profile, const char* signature) {
  const auto* p = reinterpret_cast<const unsigned char*>(profile.data()) + TagEntry(profile, signature) + 4;
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | p[2] << 8 | p[3];
}

std::vector<Hostile> HostileInputs() {
  const std::vector<TestProfile> profiles = testing::RgbTestProfiles();
  const std::string adobe = profiles[0].bytes, lut = profiles.back().bytes;
  const cv::Mat photo = ColorTestPhoto(10, 64, 40);
  const std::string plain = Jpeg(photo, "");
  auto jpeg = [&](const std::string& profile) { return Jpeg(photo, profile); };
  std::vector<Hostile> cases;
  cases.push_back({"truncated profile", jpeg(adobe.substr(0, 200)), ""});
  cases.push_back({"shorter than its header", jpeg(adobe.substr(0, 100)), "shorter than its header"});
  cases.push_back({"huge tag count", jpeg(Patched(adobe, 128, Be32(0x7FFFFFFF))), ""});
  cases.push_back({"tag offset out of range", jpeg(Patched(adobe, TagEntry(adobe, "rXYZ") + 4, Be32(0x7FFFFF00))), ""});
  cases.push_back({"tag size out of range", jpeg(Patched(adobe, TagEntry(adobe, "rTRC") + 8, Be32(0x7FFFFF00))), ""});
  cases.push_back({"size field far beyond the data", jpeg(Patched(adobe, 0, Be32(0x10000000))), ""});
  cases.push_back({"garbage", jpeg(std::string(4000, '\x5A')), ""});
  // A CLUT of 255^3 points (99 MB) declared in a 400 KB profile: lcms2's allocation is refused at 64 MiB.
  const size_t a2b0 = TagOffset(lut, "A2B0");
  const size_t clut =
      a2b0 + ((uint32_t{static_cast<unsigned char>(lut[a2b0 + 24])} << 24) |
              (uint32_t{static_cast<unsigned char>(lut[a2b0 + 25])} << 16) |
              (uint32_t{static_cast<unsigned char>(lut[a2b0 + 26])} << 8) | static_cast<unsigned char>(lut[a2b0 + 27]));
  cases.push_back({"huge CLUT", jpeg(Patched(lut, clut, std::string("\xFF\xFF\xFF", 3))), ""});
  // JPEG segments: missing, repeated, a thousand, too large in all.
  cases.push_back({"segment missing",
                   testing::JpegWithIccSegments(plain, {testing::IccSegment(1, 3, adobe.substr(0, 200)),
                                                        testing::IccSegment(3, 3, adobe.substr(400))}),
                   "segment 2 of 3 is missing"});
  std::vector<std::string> thousand;
  for (int k = 0; k < 1000; ++k) thousand.push_back(testing::IccSegment(k % 255 + 1, 255, std::string(100, 'x')));
  cases.push_back({"1000 APP2 segments", testing::JpegWithIccSegments(plain, thousand), "appears twice"});
  std::vector<std::string> large;
  for (int k = 0; k < 70; ++k) large.push_back(testing::IccSegment(k + 1, 70, std::string(65000, 'y')));
  cases.push_back({"70 segments of 64 KB", testing::JpegWithIccSegments(plain, large), "over the limit"});
  cases.push_back({"count zero", testing::JpegWithIccSegments(plain, {testing::IccSegment(1, 0, adobe)}), ""});
  // PNG: an iCCP that inflates past 4 MiB (a zlib bomb), and one that does not inflate.
  const std::string png = testing::PngWithProfile(photo, "");
  std::string zeros(20 << 20, '\0');
  uLongf packed_size = compressBound(static_cast<uLong>(zeros.size()));
  std::string packed(packed_size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(zeros.data()),
           static_cast<uLong>(zeros.size()));
  packed.resize(packed_size);
  cases.push_back({"iCCP bomb", WithPngChunk(png, "iCCP", std::string("bomb\0\0", 6) + packed), "more than the limit"});
  cases.push_back(
      {"iCCP not zlib", WithPngChunk(png, "iCCP", std::string("x\0\0", 3) + "not zlib data"), "does not inflate"});
  // Colour spaces that do not fit: a gray profile on a colour image, a CMYK one on an RGB image, Lab.
  cases.push_back({"gray profile on colour", jpeg(testing::GrayTestProfile().bytes), "gray profile on a colour image"});
  cases.push_back({"cmyk profile on rgb", jpeg(testing::CmykTestProfile().bytes), "CMYK profile"});
  cases.push_back({"lab identity", jpeg(testing::ReadFile("/usr/share/color/icc/LCMSLABI.ICM")), ""});
  cases.push_back({"abstract", jpeg(testing::ReadFile("/usr/share/color/icc/CineLogCurve.icc")), "abstract"});
  return cases;
}

TEST(ColorHostileTest, UnusableProfilesAreReportedAndTheImageStillAnswers) {
  for (const Hostile& c : HostileInputs()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Served> served = ServeDecode(c.bytes);
    ASSERT_TRUE(served.ok()) << served.status();
    const ColorDecision& color = served->plan.color;
    std::printf("%-32s -> %s: %s\n", c.name.c_str(), ColorActionName(color.action), color.reason.c_str());
    if (color.action == ColorAction::kInvalid) {
      EXPECT_NE(color.reason, "");
      EXPECT_NE(color.reason.find(c.reason_part), std::string::npos) << color.reason;
      EXPECT_EQ(cv::norm(served->pixels, testing::DecodeLikeServer(c.bytes), cv::NORM_INF), 0);
      // strict_decode refuses it, naming why.
      absl::StatusOr<Served> strict = ServeDecode(c.bytes, ColorPolicy::kConvertToSrgb, DecodeMode::kColor, true);
      EXPECT_TRUE(absl::IsInvalidArgument(strict.status())) << strict.status();
      EXPECT_NE(strict.status().message().find("strict_decode: the input's colour profile is unusable"),
                std::string::npos);
    } else {
      // lcms2 made sense of it (it is lenient where a size is oversized, say): then it converts as lcms2 does.
      EXPECT_TRUE(c.reason_part.empty()) << ColorActionName(color.action);
      EXPECT_TRUE(color.action == ColorAction::kConverted || color.action == ColorAction::kAlreadySrgb);
    }
  }
  // The ones whose breakage lcms2 must see.
  for (const char* must_fail :
       {"truncated profile", "huge tag count", "tag offset out of range", "garbage", "huge CLUT", "lab identity"}) {
    for (const Hostile& c : HostileInputs()) {
      if (c.name == must_fail) EXPECT_EQ(ServeDecode(c.bytes)->plan.color.action, ColorAction::kInvalid) << must_fail;
    }
  }
}

TEST(ColorTransformCacheTest, EachProfileIsBuiltOnceAndTheCacheStaysBounded) {
  const std::vector<TestProfile> profiles = testing::RgbTestProfiles();
  ColorTransformCache cache(3, size_t{8} << 20);
  auto source = [](const std::string& bytes) {
    ColorSource s;
    s.kind = ColorSourceKind::kIcc;
    s.icc = std::make_shared<const std::string>(bytes);
    return s;
  };
  for (int round = 0; round < 3; ++round) {
    ColorTransformCache::Lookup first = cache.Get(source(profiles[0].bytes));
    ASSERT_TRUE(first.transform.ok());
    EXPECT_EQ(first.sha256, Sha256Hex(profiles[0].bytes));
  }
  EXPECT_EQ(cache.builds(), 1);
  EXPECT_EQ(cache.Get(source(profiles[0].bytes)).transform->get(),
            cache.Get(source(profiles[0].bytes)).transform->get());
  for (const TestProfile& p : profiles) ASSERT_TRUE(cache.Get(source(p.bytes)).transform.ok());
  EXPECT_LE(cache.entries(), 3u);
  EXPECT_LE(cache.bytes(), size_t{8} << 20);
  // A refused profile is kept with its error: asked again, it is not parsed again.
  const int64_t builds = cache.builds();
  for (int k = 0; k < 3; ++k) EXPECT_FALSE(cache.Get(source(std::string(4000, 'Z'))).transform.ok());
  EXPECT_EQ(cache.builds(), builds + 1);
}

// The two forms a CUDA kernel can apply (issue 29 item 3), implemented here in float as such a kernel would, and held
// to lcms2's own 8-bit conversion of the same photo.
uint8_t EncodeSrgb(float linear) {
  const float v = std::min(1.0f, std::max(0.0f, linear));
  const float encoded = v <= 0.0031308f ? 12.92f * v : 1.055f * std::pow(v, 1.0f / 2.4f) - 0.055f;
  return static_cast<uint8_t>(std::lround(encoded * 255.0f));
}

cv::Mat ApplyMatrixShaperForm(const ColorTransform::MatrixShaperForm& form, const cv::Mat& bgr) {
  cv::Mat out(bgr.size(), CV_8UC3);
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      const cv::Vec3b in = bgr.at<cv::Vec3b>(y, x);
      const float lin[3] = {form.to_linear[0][in[2]], form.to_linear[1][in[1]], form.to_linear[2][in[0]]};
      cv::Vec3b& o = out.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        const float* row = &form.to_linear_srgb[3 * c];
        o[2 - c] = EncodeSrgb(row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]);
      }
    }
  }
  return out;
}

cv::Mat ApplyLattice(const std::vector<float>& lattice, int grid, const cv::Mat& bgr) {
  cv::Mat out(bgr.size(), CV_8UC3);
  auto at = [&](int r, int g, int b, int c) { return lattice[((size_t(b) * grid + g) * grid + r) * 3 + c]; };
  for (int y = 0; y < bgr.rows; ++y) {
    for (int x = 0; x < bgr.cols; ++x) {
      const cv::Vec3b in = bgr.at<cv::Vec3b>(y, x);
      float pos[3], frac[3];
      int lo[3];
      for (int c = 0; c < 3; ++c) {
        pos[c] = in[2 - c] / 255.0f * (grid - 1);
        lo[c] = std::min(grid - 2, static_cast<int>(pos[c]));
        frac[c] = pos[c] - lo[c];
      }
      cv::Vec3b& o = out.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {  // trilinear
        float v = 0;
        for (int corner = 0; corner < 8; ++corner) {
          const int dr = corner & 1, dg = (corner >> 1) & 1, db = (corner >> 2) & 1;
          const float w = (dr ? frac[0] : 1 - frac[0]) * (dg ? frac[1] : 1 - frac[1]) * (db ? frac[2] : 1 - frac[2]);
          v += w * at(lo[0] + dr, lo[1] + dg, lo[2] + db, c);
        }
        o[2 - c] = static_cast<uint8_t>(std::lround(std::min(1.0f, std::max(0.0f, v)) * 255.0f));
      }
    }
  }
  return out;
}

TEST(ColorDeviceFormTest, CurvesAndMatrixOrALatticeReproduceLcms2) {
  double lowest_matrix = INFINITY, lowest_lattice = INFINITY, lowest_lattice_on_matrix = INFINITY;
  for (int photo_index = 0; photo_index < 2; ++photo_index) {
    for (const TestProfile& profile : testing::RgbTestProfiles()) {
      SCOPED_TRACE(profile.name);
      const cv::Mat stored = RenderFromSrgb(ColorTestPhoto(photo_index), profile);
      absl::StatusOr<std::shared_ptr<const ColorTransform>> transform = ColorTransform::FromIcc(profile.bytes);
      ASSERT_TRUE(transform.ok()) << transform.status();
      cv::Mat lcms(stored.size(), CV_8UC3);
      for (int y = 0; y < stored.rows; ++y) (*transform)->TransformPixels(stored.ptr(y), lcms.ptr(y), stored.cols);
      ASSERT_EQ((*transform)->matrix_shaper_form().has_value(), (*transform)->matrix_shaper());
      if ((*transform)->matrix_shaper()) {
        const double psnr = Psnr(ApplyMatrixShaperForm(*(*transform)->matrix_shaper_form(), stored), lcms);
        EXPECT_GE(psnr, 45.0);
        lowest_matrix = std::min(lowest_matrix, psnr);
      }
      const std::vector<float> lattice = (*transform)->SampleLattice(33);
      ASSERT_EQ(lattice.size(), 33u * 33 * 33 * 3);
      const double psnr = Psnr(ApplyLattice(lattice, 33, stored), lcms);
      if ((*transform)->matrix_shaper()) {
        // Informational: a lattice interpolated across the steep dark end and the gamut clip of a wide-gamut matrix
        // profile falls short (ProPhoto: 41.5 dB), which is why those take the curves and the matrix.
        lowest_lattice_on_matrix = std::min(lowest_lattice_on_matrix, psnr);
      } else {
        EXPECT_GE(psnr, 45.0);
        lowest_lattice = std::min(lowest_lattice, psnr);
      }
    }
  }
  std::printf(
      "against lcms2: curves + matrix (5 matrix/TRC profiles) %.1f dB at worst; 33^3 lattice, trilinear: "
      "%.1f dB on the LUT profile, %.1f dB on the matrix/TRC ones\n",
      lowest_matrix, lowest_lattice, lowest_lattice_on_matrix);
}

// fuzz_color_profile's body on its seeds (tests/fuzz/color_seeds), the real profiles and 3,000 mutations of them:
// what the fuzzer starts from runs clean here too (a crash would end the test binary).
TEST(ColorFuzzSeedsTest, SeedsAndMutationsRunThroughTheFuzzTargetsBody) {
  std::vector<std::string> seeds;
  for (const char* name : {"jpeg_adobe_rgb_3_segments.jpg", "jpeg_prophoto.jpg", "png_iccp_rec709.png", "png_srgb.png",
                           "png_gama_chrm.png", "webp_iccp_wide_gamut.webp"}) {
    seeds.push_back(testing::ReadFile(testing::TestDataPath(std::string("../fuzz/color_seeds/") + name)));
    absl::StatusOr<ImageHeader> header = ReadImageHeader(seeds.back());
    ASSERT_TRUE(header.ok()) << name << ": " << header.status();
    const ColorSource source = ReadColorSource(seeds.back(), *header);
    EXPECT_NE(source.kind, ColorSourceKind::kNone) << name << " " << source.problem;
  }
  for (const TestProfile& profile : testing::RgbTestProfiles()) {
    if (profile.bytes.size() < 65536) seeds.push_back(profile.bytes);
  }
  seeds.push_back(testing::GrayTestProfile().bytes);
  for (const std::string& seed : seeds) {
    fuzz::ColorProfileInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
  std::mt19937 random(29);
  for (int i = 0; i < 3000; ++i) {
    const std::string input = testing::Mutate(seeds, i, random);
    fuzz::ColorProfileInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace imgproc
