// Issue 29 through the CUDA backend (ctest label gpu). Inputs it decodes on the CPU (PNG, WebP, TIFF, CMYK JPEGs) are
// converted there before the upload, as on the CPU backend: held to lcms2's conversion of the same decoded pixels
// (45 dB). A JPEG that nvJPEG or the JPEG engine decodes is converted too (until item 3's device transform, through
// lcms2 on the CPU): held to lcms2's conversion of libjpeg's decode, which nvJPEG's differs from by a level here and
// there (40 dB). Skips, saying why, without a usable GPU.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/color_images.h"
#include "common/gpu_test_support.h"
#include "common/server_process.h"
#include "common/test_support.h"

namespace imgproc::testing {
namespace {

TEST(GpuColorTest, EveryInputConvertsAsLcms2Does) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--gpu_workers=1"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  for (const TestProfile& profile : RgbTestProfiles()) {
    const cv::Mat rendered = RenderFromSrgb(ColorTestPhoto(0, 1280, 800), profile);
    for (const std::string& image : {PngWithProfile(rendered, profile.bytes), WebpWithProfile(rendered, profile.bytes),
                                     JpegWithProfile(rendered, profile.bytes)}) {
      pb::ProcessRequest request;
      request.set_image(image);
      request.add_operations()->mutable_flip();
      request.mutable_output()->mutable_raw();
      pb::ProcessResponse response;
      const grpc::Status status = CallProcess(*stub, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      const cv::Mat answer =
          RawToMat(response.image(), response.width(), response.height(), response.channels(), response.dtype());
      cv::Mat flipped;
      cv::flip(answer, flipped, 0);
      const bool jpeg = image.compare(0, 2, "\xFF\xD8") == 0;
      std::printf("%-14s %-4s -> %s%s\n", profile.name.c_str(), jpeg ? "jpeg" : "cpu",
                  response.color().action().c_str(),
                  response.color().reason().empty() ? "" : (": " + response.color().reason()).c_str());
      EXPECT_EQ(response.color().action(), "converted") << profile.name << " " << response.color().reason();
      EXPECT_GE(Psnr(flipped, LcmsToSrgb(DecodeLikeServer(image), profile)), jpeg ? 40.0 : 45.0) << profile.name;
    }
  }
}

}  // namespace
}  // namespace imgproc::testing
