// codec/png_decode.h against cv::imdecode: every PNG colour type and bit depth, with and without tRNS and gAMA,
// interlaced or not, made with libpng's writer from real photos, decoded in each of the server's modes; the
// pixels must be OpenCV 4.6's exactly (type and every value). And libpng's limits hold.
#include "codec/png_decode.h"

#include <gtest/gtest.h>
#include <png.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "imgproc_testing/bounds_images.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

struct PngKind {
  const char* name;
  int color_type;
  int bit_depth;
  bool transparency = false;  // a tRNS chunk
  bool gamma = false;         // a gAMA chunk (libpng's RGB-to-gray then works in linear light)
};

void AppendToString(png_structp png, png_bytep data, size_t size) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), size);
}

// One sample of `bit_depth` bits from an 8-bit value; 16-bit samples get a low byte from the position, so that
// both bytes matter.
uint32_t Sample(int value, int bit_depth, int x, int y) {
  if (bit_depth == 16) return (static_cast<uint32_t>(value) << 8) | static_cast<uint32_t>((x * 31 + y * 17) & 0xFF);
  return static_cast<uint32_t>(value) >> (8 - bit_depth);
}

// `bgr` (8-bit) written as a PNG of `kind`; palette images take the colour's top bits as their index.
std::string WritePng(const cv::Mat& bgr, const PngKind& kind, bool interlaced) {
  const int w = bgr.cols, h = bgr.rows;
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  const int palette_size = kind.color_type == PNG_COLOR_TYPE_PALETTE ? std::min(1 << kind.bit_depth, 64) : 0;
  std::vector<std::vector<uint32_t>> samples(h);  // per row, the samples in file order
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      const int alpha = (x * 5 + y * 3) & 0xFF;
      auto add = [&](int v) { samples[y].push_back(Sample(v, kind.bit_depth, x, y)); };
      switch (kind.color_type) {
        case PNG_COLOR_TYPE_GRAY: add(gray.at<uchar>(y, x)); break;
        case PNG_COLOR_TYPE_GRAY_ALPHA:
          add(gray.at<uchar>(y, x));
          add(alpha);
          break;
        case PNG_COLOR_TYPE_RGB: add(p[2]), add(p[1]), add(p[0]); break;
        case PNG_COLOR_TYPE_RGB_ALPHA: add(p[2]), add(p[1]), add(p[0]), add(alpha); break;
        case PNG_COLOR_TYPE_PALETTE:
          samples[y].push_back(
              static_cast<uint32_t>(((p[0] >> 6) << 4 | (p[1] >> 6) << 2 | (p[2] >> 6)) % palette_size));
          break;
      }
    }
  }
  std::vector<std::string> rows(h);
  for (int y = 0; y < h; ++y) {
    std::string& row = rows[y];
    if (kind.bit_depth == 16) {
      for (uint32_t s : samples[y]) row += {static_cast<char>(s >> 8), static_cast<char>(s & 0xFF)};
    } else {  // MSB first, padded to a byte
      uint32_t bits = 0;
      int filled = 0;
      for (uint32_t s : samples[y]) {
        bits = (bits << kind.bit_depth) | s;
        filled += kind.bit_depth;
        if (filled == 8) row += static_cast<char>(bits), bits = 0, filled = 0;
      }
      if (filled > 0) row += static_cast<char>(bits << (8 - filled));
    }
  }
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng could not write " << kind.name;
    return "";
  }
  png_set_write_fn(png, &out, AppendToString, nullptr);
  png_set_IHDR(png, info, w, h, kind.bit_depth, kind.color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette(palette_size);
  std::vector<png_byte> palette_alpha;
  for (int i = 0; i < palette_size; ++i) {
    palette[i] = {static_cast<png_byte>((i & 3) * 85), static_cast<png_byte>(((i >> 2) & 3) * 85),
                  static_cast<png_byte>(((i >> 4) & 3) * 85)};
    if (i < 10) palette_alpha.push_back(static_cast<png_byte>(i * 37 & 0xFF));  // a tRNS shorter than the palette
  }
  if (palette_size > 0) png_set_PLTE(png, info, palette.data(), palette_size);
  if (kind.transparency) {
    // Gray and RGB: the first pixel's own value is the transparent one, so that some pixels match it.
    png_color_16 key{};
    key.gray = static_cast<png_uint_16>(samples[0][0]);
    if (kind.color_type == PNG_COLOR_TYPE_RGB) {
      key.red = static_cast<png_uint_16>(samples[0][0]);
      key.green = static_cast<png_uint_16>(samples[0][1]);
      key.blue = static_cast<png_uint_16>(samples[0][2]);
    }
    png_set_tRNS(png, info, palette_alpha.data(), static_cast<int>(palette_alpha.size()), &key);
  }
  if (kind.gamma) png_set_gAMA(png, info, 1 / 2.2);
  png_write_info(png, info);
  const int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (int y = 0; y < h; ++y) png_write_row(png, reinterpret_cast<png_const_bytep>(rows[y].data()));
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

const std::vector<PngKind>& Kinds() {
  static const std::vector<PngKind> kinds = {
      {"gray1", PNG_COLOR_TYPE_GRAY, 1},
      {"gray2", PNG_COLOR_TYPE_GRAY, 2},
      {"gray4", PNG_COLOR_TYPE_GRAY, 4},
      {"gray8", PNG_COLOR_TYPE_GRAY, 8},
      {"gray16", PNG_COLOR_TYPE_GRAY, 16},
      {"gray8_trns", PNG_COLOR_TYPE_GRAY, 8, true},
      {"gray16_trns", PNG_COLOR_TYPE_GRAY, 16, true},
      {"gray_alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8},
      {"gray_alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16},
      {"rgb8", PNG_COLOR_TYPE_RGB, 8},
      {"rgb16", PNG_COLOR_TYPE_RGB, 16},
      {"rgb8_trns", PNG_COLOR_TYPE_RGB, 8, true},
      {"rgb16_trns", PNG_COLOR_TYPE_RGB, 16, true},
      {"rgb8_gamma", PNG_COLOR_TYPE_RGB, 8, false, true},
      {"rgb16_gamma", PNG_COLOR_TYPE_RGB, 16, false, true},
      {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8},
      {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16},
      {"rgba8_gamma", PNG_COLOR_TYPE_RGB_ALPHA, 8, false, true},
      {"palette1", PNG_COLOR_TYPE_PALETTE, 1},
      {"palette2", PNG_COLOR_TYPE_PALETTE, 2},
      {"palette4", PNG_COLOR_TYPE_PALETTE, 4},
      {"palette8", PNG_COLOR_TYPE_PALETTE, 8},
      {"palette2_trns", PNG_COLOR_TYPE_PALETTE, 2, true},
      {"palette8_trns", PNG_COLOR_TYPE_PALETTE, 8, true},
      {"palette8_trns_gamma", PNG_COLOR_TYPE_PALETTE, 8, true, true},
  };
  return kinds;
}

// Two photos at odd sizes (interlacing's passes leave partial blocks at the edges).
std::vector<cv::Mat> Photos() {
  std::vector<cv::Mat> photos;
  for (const auto& [name, size] :
       {std::pair{"nature/Dune.jpg", cv::Size(157, 93)}, std::pair{"nature/LadyBird.jpg", cv::Size(64, 41)}}) {
    const std::string jpeg = ReadFile(PhotoPath(name));
    cv::Mat decoded = cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())),
                                   cv::IMREAD_COLOR);
    cv::Mat small;
    cv::resize(decoded, small, size, 0, 0, cv::INTER_AREA);
    photos.push_back(small);
  }
  return photos;
}

TEST(PngDecodeTest, EveryKindDecodesToOpenCvsPixelsInEveryMode) {
  const std::vector<cv::Mat> photos = Photos();
  const std::pair<const char*, int> modes[] = {{"color", cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION},
                                               {"grayscale", cv::IMREAD_GRAYSCALE | cv::IMREAD_IGNORE_ORIENTATION},
                                               {"unchanged", cv::IMREAD_UNCHANGED}};
  int compared = 0;
  for (size_t p = 0; p < photos.size(); ++p) {
    for (const PngKind& kind : Kinds()) {
      for (bool interlaced : {false, true}) {
        const std::string png = WritePng(photos[p], kind, interlaced);
        ASSERT_FALSE(png.empty());
        for (const auto& [mode, flags] : modes) {
          SCOPED_TRACE(::testing::Message()
                       << "photo " << p << ", " << kind.name << (interlaced ? " interlaced" : "") << ", " << mode);
          const cv::Mat want =
              cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8U, const_cast<char*>(png.data())), flags);
          ASSERT_FALSE(want.empty());
          absl::StatusOr<cv::Mat> got = DecodePng(png, flags, photos[p].cols, photos[p].rows);
          ASSERT_TRUE(got.ok()) << got.status();
          ASSERT_EQ(got->type(), want.type());
          ASSERT_EQ(got->size(), want.size());
          EXPECT_EQ(cv::norm(*got, want, cv::NORM_INF), 0);
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 2 * 25 * 2 * 3);
}

TEST(PngDecodeTest, TheServersDecodeOfAPngIsOpenCvsConformed) {
  // Through codec::Decode, as a lane calls it: the PNG path there is DecodePng, then the usual Conform.
  const cv::Mat photo = Photos()[0];
  const std::string png = WritePng(photo, {"rgb16_trns", PNG_COLOR_TYPE_RGB, 16, true}, true);
  absl::StatusOr<ImageHeader> header = ReadImageHeader(png);
  ASSERT_TRUE(header.ok()) << header.status();
  const ImageSpec spec = DecodedSpec(*header, DecodeMode::kUnchanged);
  absl::StatusOr<cv::Mat> decoded = Decode(png, *header, DecodeMode::kUnchanged, spec);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  cv::Mat want = cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8U, const_cast<char*>(png.data())),
                              cv::IMREAD_UNCHANGED);
  want.convertTo(want, CV_8U, 1.0 / 257.0);
  cv::cvtColor(want, want, cv::COLOR_BGRA2BGR);  // the header predicts 3 channels for RGB, tRNS or not
  ASSERT_EQ(decoded->type(), want.type());
  EXPECT_EQ(cv::norm(*decoded, want, cv::NORM_INF), 0);
}

TEST(PngDecodeTest, AnImageOverTheUserLimitsIsRefusedByLibpng) {
  const std::string png = EncodeAs(GeneratedImage(64, 48), ".png");
  absl::StatusOr<cv::Mat> decoded = DecodePng(png, cv::IMREAD_COLOR, 63, 48);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("exceeds user limit"), std::string::npos) << decoded.status();
  EXPECT_TRUE(DecodePng(png, cv::IMREAD_COLOR, 64, 48).ok());
}

TEST(PngDecodeTest, LargeTextChunksAreSkippedUnread) {
  // 5 MiB of iTXt and of tEXt, really in the file (the header stage lets them through): skipped, the image decodes.
  const std::string png =
      InsertAfterIhdr(EncodeAs(GeneratedImage(64, 48), ".png"),
                      PngChunk("iTXt", std::string(5 << 20, 'x')) + PngChunk("tEXt", std::string(5 << 20, 'y')));
  absl::StatusOr<cv::Mat> decoded = DecodePng(png, cv::IMREAD_COLOR, 64, 48);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(cv::norm(*decoded, GeneratedImage(64, 48), cv::NORM_INF), 0);
}

TEST(PngDecodeTest, CompressedBombsDecodeToThePixelsAlone) {
  // zTXt chunks that inflate to 3 MiB each and an iCCP profile that would inflate to 64 MiB: the image decodes as
  // if they were not there (the text is skipped unread; the profile is over libpng's limit, a warning).
  const cv::Mat want = GeneratedImage(64, 48);
  for (const std::string& png : {ZtxtBombPng(20, size_t{3} << 20), IccpBombPng(size_t{64} << 20)}) {
    absl::StatusOr<cv::Mat> decoded = DecodePng(png, cv::IMREAD_COLOR, 64, 48);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(cv::norm(*decoded, want, cv::NORM_INF), 0);
  }
}

TEST(PngDecodeTest, TruncatedAndCorruptDataAreInvalidArgument) {
  const std::string png = EncodeAs(GeneratedImage(64, 48), ".png");
  for (const std::string& bad :
       {png.substr(0, png.size() / 2), png.substr(0, 40), std::string(png).replace(45, 8, 8, 'z')}) {
    absl::StatusOr<cv::Mat> decoded = DecodePng(bad, cv::IMREAD_COLOR, 64, 48);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find("could not decode png data"), std::string::npos) << decoded.status();
  }
}

}  // namespace
}  // namespace imgproc::testing
