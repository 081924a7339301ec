// 16-bit images (issue 30, item 3) through the CUDA backend (ctest label gpu): a JPEG's 16-bit decode is the CPU
// decoder's x257 (nvJPEG decodes 8 bits only), the kernels that declare uint16 run it on the GPU and the others fall
// back to the CPU, and the answers match the CPU backend's. Skips, saying why, without a usable GPU.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// A photo at 16 bits whose low byte matters.
std::string Png16() {
  cv::Mat photo = cv::imread(PhotoPath("nature/TwoWings.jpg"), cv::IMREAD_COLOR);
  cv::resize(photo, photo, cv::Size(640, 400), 0, 0, cv::INTER_AREA);
  cv::Mat wide;
  photo.convertTo(wide, CV_16U, 256.0);
  for (int y = 0; y < wide.rows; ++y) {
    for (int x = 0; x < wide.cols * 3; ++x) wide.ptr<uint16_t>(y)[x] += static_cast<uint16_t>((x * 7 + y * 3) & 255);
  }
  return EncodeAs(wide, ".png");
}

pb::ProcessResponse Call(ServerProcess& server, const pb::ProcessRequest& request) {
  pb::ProcessResponse response;
  const grpc::Status status = CallProcess(*server.NewStub(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

cv::Mat Pixels(const pb::ProcessResponse& r) {
  return RawToMat(r.image(), r.width(), r.height(), r.channels(), r.dtype());
}

TEST(GpuSixteenBitTest, Uint16ChainsMatchTheCpuBackendAndDeclinedKernelsFallBack) {
  SKIP_WITHOUT_GPU();
  ServerProcess gpu({"--backend=cuda", "--cuda_workers=1"});
  ServerProcess cpu({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(gpu.started() && cpu.started());
  const std::string png = Png16();
  struct Case {
    std::string label;
    std::string chain;  // text format of the operations
    bool on_gpu;        // the CUDA kernel takes uint16
    int tolerance;      // max |GPU - CPU|, in uint16 levels
  };
  // Flips are copies; OpenCV CUDA's bilinear warp and the CPU's resize round differently (a few 16-bit levels, a
  // hundredth of an 8-bit one); a Gaussian on uint16 falls back to the CPU kernel, so it is exact.
  const std::vector<Case> cases = {
      {"flip twice", "flip { axis: AXIS_BOTH } } operations { flip { axis: AXIS_BOTH }", true, 0},
      {"resize linear", "resize { width: 320 height: 200 }", true, 32},
      {"gaussian (CPU fallback)", "gaussian_blur { kernel_width: 5 sigma_x: 1.5 }", false, 0},
  };
  for (const Case& c : cases) {
    pb::ProcessRequest request;
    request.set_image(png);
    request.set_decode_depth(pb::SAMPLE_DEPTH_16);
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString("operations { " + c.chain + " }", &request)) << c.label;
    request.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_UINT16);
    const pb::ProcessResponse on_gpu = Call(gpu, request), on_cpu = Call(cpu, request);
    EXPECT_EQ(on_gpu.device(), "cuda:0");
    EXPECT_EQ(on_gpu.dtype(), pb::DTYPE_UINT16);
    EXPECT_EQ(on_gpu.cpu_fallback_operations_size() == 0, c.on_gpu) << c.label;
    const PixelDiff diff = Compare(Pixels(on_gpu), Pixels(on_cpu));
    EXPECT_LE(diff.max_abs, c.tolerance) << c.label << ": " << diff.Describe();
  }
}

TEST(GpuSixteenBitTest, AJpegAt16BitsIsDecodedOnTheCpuAndItsJpegAnswerEncodedThere) {
  SKIP_WITHOUT_GPU();
  ServerProcess gpu({"--backend=cuda", "--cuda_workers=1"});
  ServerProcess cpu({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(gpu.started() && cpu.started());
  const std::string jpeg = ReadFile(PhotoPath("nature/Dune.jpg"));
  pb::ProcessRequest request;
  request.set_image(jpeg);
  request.set_decode_depth(pb::SAMPLE_DEPTH_16);
  request.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_UINT16);
  const pb::ProcessResponse raw = Call(gpu, request);
  pb::ProcessRequest eight = request;  // the CPU backend's 8-bit decode: libjpeg-turbo's, as the GPU lane's here
  eight.set_decode_depth(pb::SAMPLE_DEPTH_8);
  eight.mutable_output()->mutable_raw()->set_dtype(pb::DTYPE_UINT8);
  cv::Mat expected;
  Pixels(Call(cpu, eight)).convertTo(expected, CV_16U, 257.0);
  EXPECT_EQ(Compare(Pixels(raw), expected).max_abs, 0);
  request.mutable_output()->mutable_jpeg();
  const pb::ProcessResponse answer = Call(gpu, request);
  EXPECT_EQ(answer.format(), pb::IMAGE_FORMAT_JPEG);
  EXPECT_EQ(answer.encode_backend(), pb::BACKEND_CPU);
}

}  // namespace
}  // namespace imgproc::testing
