// The CPU's JPEG codec (codec/jpeg_turbo.h) calls libjpeg-turbo directly instead of going through OpenCV. It must
// be OpenCV's result exactly: the same pixels for every photo at every libjpeg scale in colour and gray, the same
// bytes for every encode, the same outcome for corrupted streams (failure, or the same pixels), and a full-size
// image, the same each time, for a stream cut inside its scan.
#include "codec/jpeg_turbo.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

int OpenCvFlags(bool grayscale, int shrink_factor) {
  int flags = cv::IMREAD_IGNORE_ORIENTATION | (grayscale ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (shrink_factor == 2) flags |= cv::IMREAD_REDUCED_GRAYSCALE_2;
  if (shrink_factor == 4) flags |= cv::IMREAD_REDUCED_GRAYSCALE_4;
  if (shrink_factor == 8) flags |= cv::IMREAD_REDUCED_GRAYSCALE_8;
  return flags;
}

cv::Mat OpenCvDecode(const std::string& jpeg, bool grayscale, int shrink_factor) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())),
                      OpenCvFlags(grayscale, shrink_factor));
}

void ExpectSamePixels(const cv::Mat& got, const cv::Mat& want) {
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.type(), want.type());
  EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0);
}

TEST(JpegTurboTest, EveryPhotoDecodesToOpenCvsPixelsAtEveryScaleInColourAndGray) {
  std::vector<std::string> jpegs;
  for (const std::string& path : NaturePhotos()) jpegs.push_back(ReadFile(path));
  jpegs.push_back(ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg")));
  const cv::Mat photo = OpenCvDecode(jpegs[0], false, 2);
  cv::Mat gray;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  jpegs.push_back(EncodeAs(gray, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}));  // one component
  jpegs.push_back(EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  for (size_t i = 0; i < jpegs.size(); ++i) {
    for (const bool grayscale : {false, true}) {
      for (const int factor : {1, 2, 4, 8}) {
        SCOPED_TRACE(::testing::Message() << "input " << i << (grayscale ? " gray" : " colour") << " 1/" << factor);
        absl::StatusOr<cv::Mat> got = DecodeJpegBgr(jpegs[i], grayscale, factor);
        ASSERT_TRUE(got.ok()) << got.status();
        ExpectSamePixels(*got, OpenCvDecode(jpegs[i], grayscale, factor));
      }
    }
  }
}

TEST(JpegTurboTest, EncodesTheBytesOpenCvEncodes) {
  const cv::Mat photo = OpenCvDecode(ReadFile(PhotoPath("nature/Storm.jpg")), false, 4);
  cv::Mat gray, bgra;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(photo, bgra, cv::COLOR_BGR2BGRA);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int* at) { p[3] = static_cast<uchar>(at[1] * 7); });
  const cv::Mat view = photo(cv::Rect(3, 5, 101, 77));  // rows that are not contiguous, odd sizes
  const std::pair<std::string, cv::Mat> images[] = {{"bgr", photo}, {"gray", gray}, {"bgra", bgra}, {"view", view}};
  for (const auto& [name, image] : images) {
    for (const int quality : {1, 50, 90, 95, 100}) {
      SCOPED_TRACE(::testing::Message() << name << " q" << quality);
      absl::StatusOr<std::string> got = EncodeJpegBgr(image, quality);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_TRUE(*got == EncodeAs(image, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality})) << "bytes differ";
    }
  }
  EXPECT_EQ(EncodeJpegBgr(cv::Mat(8, 8, CV_16UC3), 90).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpegBgr(cv::Mat(8, 8, CV_8UC2), 90).status().code(), absl::StatusCode::kInvalidArgument);
}

// Flipped bytes: where OpenCV gives up, the decode is INVALID_ARGUMENT with libjpeg's reason; where OpenCV returns
// what libjpeg made of the stream, the pixels are the same. A stream cut inside its scan decodes at full size; the
// rows after the end of the data differ from OpenCV 4.6's (its source manager repeats the last colour decoded,
// libjpeg's memory source pads the stream, which gives mid-gray) and are the same from one decode to the next.
TEST(JpegTurboTest, BrokenStreamsEndAsOpenCvsDoAndTruncatedScansDecodeTheSameEachTime) {
  const cv::Mat photo = OpenCvDecode(ReadFile(PhotoPath("nature/Aqua.jpg")), false, 8);
  const std::string jpeg = EncodeAs(photo, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  std::mt19937 random(7);
  int failed = 0, decoded = 0;
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE(::testing::Message() << "mutation " << i);
    std::string mutated = jpeg;
    for (int flips = 0; flips < 1 + i % 4; ++flips) mutated[random() % mutated.size()] = static_cast<char>(random());
    const cv::Mat want = OpenCvDecode(mutated, false, 1);
    absl::StatusOr<cv::Mat> got = DecodeJpegBgr(mutated, false, 1);
    if (want.empty()) {
      ++failed;
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(got.status().message().find("could not decode jpeg data (corrupt or truncated): "), std::string::npos)
          << got.status();
    } else {
      ++decoded;
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectSamePixels(*got, want);
    }
  }
  EXPECT_GT(failed, 10);
  EXPECT_GT(decoded, 10);

  // OpenCV versions differ on truncations (4.6 decodes a stream cut right after its scan header, 4.14 does not), so
  // these are checked against the stream's structure: cut before the scan's data, INVALID_ARGUMENT; after, a full
  // size image, the same from one decode to the next.
  const size_t scan_header = jpeg.find("\xFF\xDA");
  ASSERT_NE(scan_header, std::string::npos);
  const size_t scan_data =
      scan_header + 2 +
      ((static_cast<uint8_t>(jpeg[scan_header + 2]) << 8) | static_cast<uint8_t>(jpeg[scan_header + 3]));
  int partial = 0;
  for (size_t cut = 1; cut < jpeg.size(); cut += jpeg.size() / 40 + 1) {
    SCOPED_TRACE(::testing::Message() << "cut at " << cut << " of " << jpeg.size() << ", scan data at " << scan_data);
    const std::string truncated = jpeg.substr(0, cut);
    absl::StatusOr<cv::Mat> got = DecodeJpegBgr(truncated, false, 1);
    if (cut < scan_data) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status();
    ++partial;
    EXPECT_EQ(got->size(), photo.size());
    absl::StatusOr<cv::Mat> again = DecodeJpegBgr(truncated, false, 1);
    ASSERT_TRUE(again.ok());
    ExpectSamePixels(*again, *got);
  }
  EXPECT_GT(partial, 30);
  EXPECT_EQ(DecodeJpegBgr("", false, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeJpegBgr(jpeg, false, 3).status().code(), absl::StatusCode::kInvalidArgument);
}

// CMYK and YCCK need OpenCV's conversion (codec.cc falls back to it): this decoder says so instead of guessing.
TEST(JpegTurboTest, FourComponentJpegsAreLeftToOpenCv) {
  absl::StatusOr<cv::Mat> got = DecodeJpegBgr(ReadFile(TestDataPath("cmyk_64x48.jpg")), false, 1);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnimplemented) << got.status();
}

// OpenCV's reader leaves the rows of a CMYK stream that ends early unwritten (fuzz_decode_pattern found it with
// tests/fuzz/header_seeds/cmyk_jpeg_scan_cut_short.jpg): such a stream is refused before it reaches OpenCV, and a
// whole one passes, at every scale.
TEST(JpegTurboTest, OnlyWholeCmykJpegsReachOpenCv) {
  const std::string whole = ReadFile(TestDataPath("cmyk_64x48.jpg"));
  for (const int factor : {1, 2, 4, 8}) EXPECT_TRUE(CheckCmykJpegDecodes(whole, factor).ok()) << factor;
  for (const size_t cut : {whole.size() / 2, whole.size() * 9 / 10}) {
    const absl::Status status = CheckCmykJpegDecodes(whole.substr(0, cut), 1);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << cut << ": " << status;
    EXPECT_NE(status.message().find("damaged or truncated CMYK/YCCK JPEG"), std::string::npos) << status;
  }
  const std::string fuzzed = ReadFile(TestDataPath("../fuzz/header_seeds/cmyk_jpeg_scan_cut_short.jpg"));
  EXPECT_EQ(CheckCmykJpegDecodes(fuzzed, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckCmykJpegDecodes(ReadFile(PhotoPath("nature/Dune.jpg")), 1).code(),
            absl::StatusCode::kInvalidArgument);  // three components: not CMYK
}

}  // namespace
}  // namespace imgproc::testing
