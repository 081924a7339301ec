// GIF, animated WebP and float TIFF through the real server: the first frame's pixels, the frames count in the
// response, the float rule, and hostile files refused with INVALID_ARGUMENT while the server keeps serving.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/animation_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

class FormatsTest : public CpuServerSuite {
 protected:
  // Raw uint8 HWC pixels of the decoded image, so the comparison sees exactly what the decoder produced.
  static grpc::Status ProcessRaw(const std::string& image, pb::DecodeMode mode, pb::ProcessResponse* response) {
    pb::ProcessRequest request;
    request.set_image(image);
    request.set_decode_mode(mode);
    request.mutable_output()->mutable_raw();
    return CallProcess(*server_->NewStub(), request, response);
  }
};

const std::vector<cv::Vec3b> kPalette = {{200, 10, 20}, {30, 180, 60}, {90, 40, 250}, {255, 255, 0}};

cv::Mat Indices(int width, int height, int seed) {
  cv::Mat indices(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) indices.at<uchar>(y, x) = static_cast<uchar>((x * 7 + y * 3 + seed) % 4);
  }
  return indices;
}

cv::Mat Pixels(const pb::ProcessResponse& r) {
  return RawToMat(r.image(), r.width(), r.height(), r.channels(), r.dtype());
}

TEST_F(FormatsTest, AnimatedGifAnswersItsFirstFrameAndSaysHowManyFramesItHad) {
  const GifFrame first{5, 3, Indices(30, 20, 0), 1, true};
  const std::string gif = EncodeGif(48, 27, kPalette,
                                    {first, GifFrame{0, 0, Indices(48, 27, 2)}, GifFrame{0, 0, Indices(48, 27, 3)},
                                     GifFrame{2, 2, Indices(3, 3, 1)}});
  const cv::Mat reference = GifFirstFrameReference(48, 27, kPalette, first);
  pb::ProcessResponse response;
  grpc::Status status = ProcessRaw(gif, pb::DECODE_MODE_UNCHANGED, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.input_frames(), 4);
  EXPECT_EQ(response.width(), 48);
  EXPECT_EQ(response.height(), 27);
  ASSERT_EQ(response.channels(), 4);
  PixelDiff diff = Compare(Pixels(response), reference);
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();

  status = ProcessRaw(gif, pb::DECODE_MODE_COLOR, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  cv::Mat bgr;
  cv::cvtColor(reference, bgr, cv::COLOR_BGRA2BGR);
  diff = Compare(Pixels(response), bgr);
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
}

TEST_F(FormatsTest, AnimatedWebpAnswersItsFirstFrameAndSaysHowManyFramesItHad) {
  std::vector<cv::Mat> frames;
  for (int f = 0; f < 5; ++f) {
    cv::Mat bgra(20, 30, CV_8UC4);
    for (int y = 0; y < bgra.rows; ++y) {
      for (int x = 0; x < bgra.cols; ++x) {
        bgra.at<cv::Vec4b>(y, x) = cv::Vec4b(static_cast<uchar>(x * 8 + f), static_cast<uchar>(y * 12),
                                             static_cast<uchar>(f * 50), static_cast<uchar>((x + y) % 2 ? 255 : 100));
      }
    }
    frames.push_back(bgra);
  }
  pb::ProcessResponse response;
  const grpc::Status status = ProcessRaw(EncodeAnimatedWebp(frames), pb::DECODE_MODE_UNCHANGED, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.input_frames(), 5);
  ASSERT_EQ(response.channels(), 4);
  const PixelDiff diff = Compare(Pixels(response), frames[0]);
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
}

TEST_F(FormatsTest, StillImagesHaveOneFrame) {
  for (const std::string extension : {".jpg", ".png", ".webp", ".tiff", ".bmp"}) {
    pb::ProcessResponse response;
    const grpc::Status status =
        ProcessRaw(EncodeAs(GeneratedImage(40, 30), extension), pb::DECODE_MODE_COLOR, &response);
    ASSERT_TRUE(status.ok()) << extension << ": " << status.error_message();
    EXPECT_EQ(response.input_frames(), 1) << extension;
  }
}

TEST_F(FormatsTest, FloatTiffSamplesMapZeroToOneOntoZeroTo255) {
  cv::Mat gray(25, 33, CV_32FC1), color(25, 33, CV_32FC3);
  cv::randu(gray, -0.2, 1.2);
  cv::randu(color, 0.0, 1.0);
  auto rule = [](const cv::Mat& floats) {  // saturate(round(v * 255)), written out
    cv::Mat out(floats.size(), CV_8UC(floats.channels()));
    for (size_t i = 0; i < floats.total() * floats.channels(); ++i) {
      out.data[i] = static_cast<uchar>(std::lrint(std::min(std::max(floats.ptr<float>()[i], 0.f), 1.f) * 255.f));
    }
    return out;
  };
  pb::ProcessResponse response;
  grpc::Status status = ProcessRaw(EncodeAs(gray, ".tiff"), pb::DECODE_MODE_COLOR, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  cv::Mat expected;
  cv::cvtColor(rule(gray), expected, cv::COLOR_GRAY2BGR);
  PixelDiff diff = Compare(Pixels(response), expected);
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();

  status =
      ProcessRaw(EncodeAs(color, ".tiff", {cv::IMWRITE_TIFF_COMPRESSION, 1}), pb::DECODE_MODE_UNCHANGED, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.channels(), 3);
  diff = Compare(Pixels(response), rule(color));
  EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
  std::printf("float tiff: max abs difference from the rule %g\n", diff.max_abs);
}

TEST_F(FormatsTest, HostileAndTruncatedAnimationsAreInvalidArgumentAndTheServerKeepsServing) {
  const std::string gif =
      EncodeGif(48, 27, kPalette, {GifFrame{0, 0, Indices(48, 27, 0)}, GifFrame{0, 0, Indices(48, 27, 1)}});
  std::vector<cv::Mat> frames = {GeneratedImage(16, 16, 4), GeneratedImage(16, 16, 4)};
  cv::flip(frames[1], frames[1], 0);
  const std::string webp = EncodeAnimatedWebp(frames);
  struct Case {
    std::string name, image, message;
  };
  const std::vector<Case> cases = {
      {"gif_65535_square", EncodeGif(65535, 65535, kPalette, {GifFrame{0, 0, Indices(1, 1, 0)}}),
       "gif image is 65535x65535, over the limits"},
      {"gif_truncated_in_first_frame", gif.substr(0, 60), "could not decode gif data"},
      {"gif_truncated_before_any_frame", gif.substr(0, 20), "malformed gif header"},
      {"gif_frame_beyond_screen", EncodeGif(8, 8, kPalette, {GifFrame{4, 4, Indices(8, 8, 0)}}),
       "unsupported gif image: the first frame"},
      {"webp_truncated", webp.substr(0, webp.size() - 10), "could not decode animated webp data"},
  };
  for (const Case& c : cases) {
    pb::ProcessResponse response;
    const grpc::Status status = ProcessRaw(c.image, pb::DECODE_MODE_COLOR, &response);
    EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT) << c.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.message), std::string::npos) << c.name << ": " << status.error_message();
  }
  pb::ProcessResponse response;
  EXPECT_TRUE(ProcessRaw(gif, pb::DECODE_MODE_COLOR, &response).ok());
  EXPECT_EQ(response.input_frames(), 2);
}

}  // namespace
}  // namespace imgproc::testing
