// Issue 30 through the CUDA backend (ctest label gpu): HEIC and AVIF decode on the lanes' host side (libheif,
// libavif) and are uploaded, so a CUDA server's answer is the CPU codec's decode exactly (a flip twice is exact on
// both backends); DeviceInfo.codecs says where they decode. Skips, saying why, without a usable GPU.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/heif_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

cv::Mat CpuCodecDecode(const std::string& file, DecodeMode mode) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(file);
  EXPECT_TRUE(header.ok()) << header.status();
  absl::StatusOr<cv::Mat> pixels = Decode(file, *header, mode, DecodedSpec(*header, mode));
  EXPECT_TRUE(pixels.ok()) << pixels.status();
  return pixels.ok() ? *pixels : cv::Mat();
}

TEST(GpuHeifTest, HeicAndAvifDecodeOnTheHostAndUploadExactly) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  cv::Mat photo = cv::imread(PhotoPath("nature/TwoWings.jpg"), cv::IMREAD_COLOR);
  cv::resize(photo, photo, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  cv::Mat bgra;
  cv::cvtColor(photo, bgra, cv::COLOR_BGR2BGRA);
  const std::vector<std::pair<std::string, pb::DecodeMode>> inputs = {
      {EncodeHeifGrid(photo, 512, {HeifCodec::kHevc, 8, 90}, /*irot_quarters=*/3), pb::DECODE_MODE_COLOR},
      {EncodeHeif(bgra, {HeifCodec::kAv1, 10, 90}), pb::DECODE_MODE_UNCHANGED},
  };
  for (const auto& [file, mode] : inputs) {
    pb::ProcessRequest request;
    request.set_image(file);
    request.set_decode_mode(mode);
    request.add_operations()->mutable_flip();
    request.add_operations()->mutable_flip();
    request.mutable_output()->mutable_raw();
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.device(), "cuda:0");
    const cv::Mat answer =
        RawToMat(response.image(), response.width(), response.height(), response.channels(), response.dtype());
    const cv::Mat expected =
        CpuCodecDecode(file, mode == pb::DECODE_MODE_UNCHANGED ? DecodeMode::kUnchanged : DecodeMode::kColor);
    ASSERT_EQ(answer.size(), expected.size());
    ASSERT_EQ(answer.channels(), expected.channels());
    const PixelDiff diff = Compare(answer, expected);
    EXPECT_EQ(diff.max_abs, 0) << diff.Describe();
  }
  pb::GetServerInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  ASSERT_GT(info.devices_size(), 0);
  EXPECT_NE(info.devices(0).codecs().find("HEIC/AVIF decode: CPU"), std::string::npos) << info.devices(0).codecs();
}

}  // namespace
}  // namespace imgproc::testing
