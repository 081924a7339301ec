// GIF, animated WebP and float TIFF: the header predicts what the decoder hands over (size, channels, frames),
// the first frame of an animation decodes exactly, float samples follow [0, 1] -> [0, 255], and hostile or
// truncated files end in INVALID_ARGUMENT before or during decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "imgproc_testing/animation_images.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

const std::vector<cv::Vec3b> kPalette = {{200, 10, 20}, {30, 180, 60}, {90, 40, 250}, {255, 255, 0}};

cv::Mat Indices(int width, int height, int seed) {
  cv::Mat indices(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) indices.at<uchar>(y, x) = static_cast<uchar>((x * 3 + y * 5 + seed) % 4);
  }
  return indices;
}

struct GifCase {
  std::string name;
  int width, height;
  std::vector<GifFrame> frames;
  int channels;  // predicted as stored
};

std::vector<GifCase> GifCases() {
  return {
      {"opaque_still", 17, 9, {GifFrame{0, 0, Indices(17, 9, 0)}}, 3},
      // First frame smaller than the screen, interlaced, with a transparent index: alpha from both.
      {"animated_partial_transparent",
       32,
       16,
       {GifFrame{3, 2, Indices(20, 13, 1), 2, true}, GifFrame{0, 0, Indices(32, 16, 2)},
        GifFrame{1, 1, Indices(4, 4, 3)}},
       4},
      {"animated_opaque", 24, 10, {GifFrame{0, 0, Indices(24, 10, 1)}, GifFrame{0, 0, Indices(24, 10, 3)}}, 3},
  };
}

cv::Mat InMode(const cv::Mat& bgra, DecodeMode mode, int unchanged_channels) {
  cv::Mat out;
  if (mode == DecodeMode::kGrayscale) {
    cv::cvtColor(bgra, out, cv::COLOR_BGRA2GRAY);
  } else if (mode == DecodeMode::kColor || unchanged_channels == 3) {
    cv::cvtColor(bgra, out, cv::COLOR_BGRA2BGR);
  } else {
    out = bgra;
  }
  return out;
}

// ReadImageHeader, DecodedSpec and Decode as the lanes run them, checking that the prediction holds.
absl::StatusOr<cv::Mat> DecodeAsServer(const std::string& bytes, DecodeMode mode, ImageHeader* header_out = nullptr) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  if (!header.ok()) return header.status();
  if (header_out != nullptr) *header_out = *header;
  const ImageSpec expected = DecodedSpec(*header, mode);
  absl::StatusOr<cv::Mat> image = Decode(bytes, *header, mode, expected);
  if (image.ok()) {
    EXPECT_EQ(image->cols, expected.width);
    EXPECT_EQ(image->rows, expected.height);
    EXPECT_EQ(image->channels(), expected.channels);
    EXPECT_EQ(image->depth(), CV_8U);
  }
  return image;
}

TEST(GifTest, HeaderPredictsScreenChannelsAndFramesAndTheFirstFrameDecodesExactly) {
  for (const GifCase& c : GifCases()) {
    const std::string gif = EncodeGif(c.width, c.height, kPalette, c.frames);
    const cv::Mat reference = GifFirstFrameReference(c.width, c.height, kPalette, c.frames[0]);
    for (DecodeMode mode : {DecodeMode::kColor, DecodeMode::kGrayscale, DecodeMode::kUnchanged}) {
      SCOPED_TRACE(c.name + " mode " + DecodeModeName(mode));
      ImageHeader header{};
      absl::StatusOr<cv::Mat> decoded = DecodeAsServer(gif, mode, &header);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(header.format, ImageFormat::kGif);
      EXPECT_EQ(header.width, c.width);
      EXPECT_EQ(header.height, c.height);
      EXPECT_EQ(header.channels, c.channels);
      EXPECT_EQ(header.frames, static_cast<int>(c.frames.size()));
      const PixelDiff diff = Compare(*decoded, InMode(reference, mode, c.channels));
      EXPECT_TRUE(diff.same_shape) << diff.Describe();
      EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
    }
  }
}

std::vector<cv::Mat> WebpFrames(int width, int height, bool with_alpha, int count) {
  std::vector<cv::Mat> frames;
  for (int f = 0; f < count; ++f) {
    cv::Mat bgra(height, width, CV_8UC4);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const uchar alpha = with_alpha ? static_cast<uchar>(std::array<int, 3>{0, 128, 255}[(x + y + f) % 3]) : 255;
        bgra.at<cv::Vec4b>(y, x) = alpha == 0
                                       ? cv::Vec4b(0, 0, 0, 0)
                                       : cv::Vec4b(static_cast<uchar>(x * 9 + f * 40), static_cast<uchar>(y * 17),
                                                   static_cast<uchar>((x ^ y) * 5 + f), alpha);
      }
    }
    frames.push_back(bgra);
  }
  return frames;
}

TEST(AnimatedWebpTest, HeaderPredictsCanvasChannelsAndFramesAndTheFirstFrameDecodesExactly) {
  for (bool with_alpha : {false, true}) {
    const std::vector<cv::Mat> frames = WebpFrames(24, 12, with_alpha, 3);
    const std::string webp = EncodeAnimatedWebp(frames);
    for (DecodeMode mode : {DecodeMode::kColor, DecodeMode::kGrayscale, DecodeMode::kUnchanged}) {
      SCOPED_TRACE(std::string(with_alpha ? "alpha" : "opaque") + " mode " + DecodeModeName(mode));
      ImageHeader header{};
      absl::StatusOr<cv::Mat> decoded = DecodeAsServer(webp, mode, &header);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(header.format, ImageFormat::kWebp);
      EXPECT_TRUE(header.webp_animated);
      EXPECT_EQ(header.width, 24);
      EXPECT_EQ(header.height, 12);
      EXPECT_EQ(header.channels, with_alpha ? 4 : 3);
      EXPECT_EQ(header.frames, 3);
      const PixelDiff diff = Compare(*decoded, InMode(frames[0], mode, with_alpha ? 4 : 3));
      EXPECT_TRUE(diff.same_shape) << diff.Describe();
      EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
    }
  }
}

// The rule the server states for float samples, written out per element: uint8 = saturate(round(v * 255)),
// NaN -> 0.
cv::Mat FloatRule(const cv::Mat& floats) {
  cv::Mat out(floats.size(), CV_8UC(floats.channels()));
  const float* in = floats.ptr<float>();
  for (size_t i = 0; i < floats.total() * floats.channels(); ++i) {
    const float v = std::isnan(in[i]) ? 0.f : std::min(std::max(in[i], 0.f), 1.f);
    out.data[i] = static_cast<uchar>(std::lrint(v * 255.f));
  }
  return out;
}

cv::Mat FloatImage(int width, int height, int channels) {
  cv::Mat floats(height, width, CV_32FC(channels));
  cv::randu(floats, -0.25, 1.25);  // a quarter of the values outside [0, 1]: clamped
  float* v = floats.ptr<float>();
  v[0] = 0.f, v[1] = 1.f, v[2] = 0.5f, v[3] = std::nanf(""), v[4] = INFINITY, v[5] = -INFINITY;
  return floats;
}

TEST(FloatTiffTest, SamplesMapZeroToOneOntoZeroTo255InEveryMode) {
  const cv::Mat gray = FloatImage(37, 21, 1), color = FloatImage(37, 21, 3);
  struct Case {
    std::string name, tiff;
    cv::Mat floats;
  };
  std::vector<Case> cases = {
      {"gray_float32", EncodeAs(gray, ".tiff"), gray},
      {"rgb_float32_uncompressed", EncodeAs(color, ".tiff", {cv::IMWRITE_TIFF_COMPRESSION, 1}), color},
  };
  // OpenCV writes a 3-channel float image as LogLuv by default, which stores an approximation: the reference is
  // the floats libtiff reads back.
  const std::string logluv = EncodeAs(cv::min(cv::max(color, 0.0), 1.0), ".tiff");
  cases.push_back({"rgb_float32_logluv", logluv, DecodeLikeServer(logluv, DecodeMode::kUnchanged)});
  for (const Case& c : cases) {
    ASSERT_EQ(c.floats.depth(), CV_32F) << c.name;
    const cv::Mat expected_unchanged = FloatRule(c.floats);
    for (DecodeMode mode : {DecodeMode::kColor, DecodeMode::kGrayscale, DecodeMode::kUnchanged}) {
      SCOPED_TRACE(c.name + " mode " + DecodeModeName(mode));
      ImageHeader header{};
      absl::StatusOr<cv::Mat> decoded = DecodeAsServer(c.tiff, mode, &header);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_TRUE(header.tiff_float);
      EXPECT_EQ(header.channels, c.floats.channels());
      cv::Mat expected = expected_unchanged;
      if (mode == DecodeMode::kColor && expected.channels() == 1) cv::cvtColor(expected, expected, cv::COLOR_GRAY2BGR);
      if (mode == DecodeMode::kGrayscale && expected.channels() == 3)
        cv::cvtColor(expected, expected, cv::COLOR_BGR2GRAY);
      const PixelDiff diff = Compare(*decoded, expected);
      EXPECT_TRUE(diff.same_shape) << diff.Describe();
      EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
    }
  }
}

// Not a rule of ours but OpenCV's, kept and stated in README.md: 16-bit samples become round(v / 257), except a
// one-channel 16-bit TIFF read as GRAYSCALE, which OpenCV's TIFF decoder takes the high byte of (v >> 8).
TEST(SixteenBitTiffTest, KeepsOpenCvsScaling) {
  cv::Mat color(256, 256, CV_16UC3), gray(256, 256, CV_16UC1);
  for (int i = 0; i < 65536; ++i) {
    color.at<cv::Vec3w>(i / 256, i % 256) = cv::Vec3w(i, 65535 - i, (i * 7) & 0xFFFF);
    gray.at<uint16_t>(i / 256, i % 256) = static_cast<uint16_t>(i);
  }
  cv::Mat color_u8, gray_u8, gray_high(gray.size(), CV_8UC1);
  color.convertTo(color_u8, CV_8U, 1.0 / 257);
  gray.convertTo(gray_u8, CV_8U, 1.0 / 257);
  for (int i = 0; i < 65536; ++i) gray_high.at<uchar>(i / 256, i % 256) = static_cast<uchar>(i >> 8);
  for (DecodeMode mode : {DecodeMode::kColor, DecodeMode::kUnchanged}) {
    absl::StatusOr<cv::Mat> decoded = DecodeAsServer(EncodeAs(color, ".tiff"), mode);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(Compare(*decoded, color_u8).max_abs, 0) << DecodeModeName(mode);
  }
  absl::StatusOr<cv::Mat> unchanged = DecodeAsServer(EncodeAs(gray, ".tiff"), DecodeMode::kUnchanged);
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_EQ(Compare(*unchanged, gray_u8).max_abs, 0);
  absl::StatusOr<cv::Mat> grayscale = DecodeAsServer(EncodeAs(gray, ".tiff"), DecodeMode::kGrayscale);
  ASSERT_TRUE(grayscale.ok()) << grayscale.status();
  EXPECT_EQ(Compare(*grayscale, gray_high).max_abs, 0);
}

absl::Status Plan(const std::string& image) { return BuildPlan(Request(image), ImageLimits{}).status(); }

TEST(HostileAnimationTest, AHugeLogicalScreenIsRefusedFromTheHeader) {
  const std::string gif = EncodeGif(65535, 65535, kPalette, {GifFrame{0, 0, Indices(1, 1, 0)}});
  const absl::Status status = Plan(gif);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("gif image is 65535x65535, over the limits"), std::string::npos) << status;
}

TEST(HostileAnimationTest, AFirstFrameBeyondTheScreenIsRefusedAsUnsupported) {
  const std::string gif = EncodeGif(8, 8, kPalette, {GifFrame{4, 0, Indices(8, 8, 0)}});
  const absl::Status status = Plan(gif);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("unsupported gif image: the first frame (8x8 at 4,0) extends beyond the logical "
                                  "screen (8x8)"),
            std::string::npos)
      << status;
}

TEST(HostileAnimationTest, EveryTruncationFailsAsInvalidArgumentOrDecodesTheFirstFrame) {
  const GifCase gif_case = GifCases()[1];
  const std::string gif = EncodeGif(gif_case.width, gif_case.height, kPalette, gif_case.frames);
  // The same file with the first frame alone ends, before its trailer byte, where the first frame's data ends.
  const size_t first_frame_end = EncodeGif(gif_case.width, gif_case.height, kPalette, {gif_case.frames[0]}).size() - 1;
  const std::string webp = EncodeAnimatedWebp(WebpFrames(24, 12, true, 3));
  for (const auto& [name, bytes, must_fail_below] :
       {std::tuple<std::string, std::string, size_t>{"gif", gif, first_frame_end}, {"webp", webp, webp.size()}}) {
    int refused = 0;
    for (size_t length = 1; length < bytes.size(); ++length) {
      absl::StatusOr<cv::Mat> decoded = DecodeAsServer(bytes.substr(0, length), DecodeMode::kUnchanged);
      // Cut into the first frame, a GIF cannot decode; later frames are never read. Any cut of a WebP fails the
      // demuxer, which checks the RIFF size.
      if (length < must_fail_below) {
        ASSERT_FALSE(decoded.ok()) << name << " cut to " << length << " bytes decoded";
      }
      if (decoded.ok()) continue;
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << name << " at " << length;
      ++refused;
    }
    std::printf("%s: %d of %zu truncations refused (all below %zu bytes must be)\n", name.c_str(), refused,
                bytes.size() - 1, must_fail_below);
  }
}

TEST(UnknownFormatTest, TheMessageListsTheAcceptedFormats) {
  const absl::Status status = Plan("not an image at all");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("accepted: JPEG, PNG, WebP (still or animated), TIFF, BMP, GIF"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace imgproc::testing
