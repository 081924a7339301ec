// The JPEG encoder options on the CUDA backend (ctest label gpu): nvJPEG takes progressive, chroma subsampling and
// optimized tables (nvjpegEncoderParamsSetEncoding, SetSamplingFactors, SetOptimizedHuffman); each answer must show
// the option in its bytes and decode close to the CPU backend's answer. Where this nvJPEG refuses an option the
// answer comes from libjpeg-turbo instead, says so (encode_fallback_reason) and is counted in
// imgproc_encode_fallbacks_total; the test accepts either, prints which, and requires the answer, the report and
// the count to agree. AVIF answers are encoded on the CPU after the GPU's chain. Skips, saying why, without a GPU.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/encode_checks.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

pb::ProcessRequest Thumbnail(const std::string& jpeg, int width) {
  pb::ProcessRequest request;
  request.set_image(jpeg);
  pb::Resize* resize = request.add_operations()->mutable_resize();
  resize->set_width(width);
  resize->set_keep_aspect(true);
  resize->set_interpolation(pb::INTERPOLATION_AREA);
  request.set_disable_shrink_on_load(true);  // the CPU's answer from the same full-size decode
  return request;
}

cv::Mat Pixels(const std::string& encoded) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(encoded.size()), CV_8U, const_cast<char*>(encoded.data())),
                      cv::IMREAD_UNCHANGED);
}

TEST(GpuEncodeTest, NvJpegTakesEachJpegOptionOrFallsBackToTheCpuAndSaysSo) {
  SKIP_WITHOUT_GPU();
  ServerProcess gpu({"--backend=cuda"});
  ServerProcess cpu({"--backend=cpu"});
  ASSERT_TRUE(gpu.started() && cpu.started());
  const std::string jpeg = ReadFile(PhotoPath("nature/Storm.jpg"));  // baseline: the JPEG engine decodes it
  struct Case {
    const char* name;
    bool progressive;
    pb::ChromaSubsampling chroma;
    bool optimize;
    int sof, luma_h, luma_v;
  };
  const Case cases[] = {
      {"default", false, pb::CHROMA_SUBSAMPLING_UNSPECIFIED, false, 0xC0, 2, 2},
      {"progressive", true, pb::CHROMA_SUBSAMPLING_UNSPECIFIED, false, 0xC2, 2, 2},
      {"4:4:4", false, pb::CHROMA_SUBSAMPLING_444, false, 0xC0, 1, 1},
      {"4:2:2", false, pb::CHROMA_SUBSAMPLING_422, false, 0xC0, 2, 1},
      {"optimize", false, pb::CHROMA_SUBSAMPLING_UNSPECIFIED, true, 0xC0, 2, 2},
      {"progressive 4:4:4 optimize", true, pb::CHROMA_SUBSAMPLING_444, true, 0xC2, 1, 1},
  };
  size_t default_bytes = 0;
  int fallbacks = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    pb::ProcessRequest request = Thumbnail(jpeg, 960);
    pb::JpegOutput* out = request.mutable_output()->mutable_jpeg();
    out->set_quality(90);
    out->set_progressive(c.progressive);
    out->set_chroma_subsampling(c.chroma);
    out->set_optimize(c.optimize);
    pb::ProcessResponse on_gpu, on_cpu;
    grpc::Status status = CallProcess(*gpu.NewStub(), request, &on_gpu);
    ASSERT_TRUE(status.ok()) << status.error_message();
    status = CallProcess(*cpu.NewStub(), request, &on_cpu);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(on_gpu.device(), "cuda:0");
    const bool fell_back = on_gpu.encode_backend() == pb::BACKEND_CPU;
    EXPECT_EQ(fell_back, !on_gpu.encode_fallback_reason().empty()) << on_gpu.encode_fallback_reason();
    if (!fell_back) EXPECT_EQ(on_gpu.encode_backend(), pb::BACKEND_CUDA);
    fallbacks += fell_back ? 1 : 0;
    std::printf("%-28s encoded by %s%s%s, %zu bytes (CPU backend %zu)\n", c.name,
                BackendName(on_gpu.encode_backend()).c_str(), fell_back ? ": " : "",
                on_gpu.encode_fallback_reason().c_str(), on_gpu.image().size(), on_cpu.image().size());
    const JpegStructure parsed = ParseJpegStructure(on_gpu.image());
    ASSERT_TRUE(parsed.parsed);
    EXPECT_EQ(parsed.sof_marker, c.sof);
    ASSERT_EQ(parsed.components.size(), 3u);
    EXPECT_EQ(parsed.components[0].h, c.luma_h);
    EXPECT_EQ(parsed.components[0].v, c.luma_v);
    if (c.progressive) EXPECT_GT(parsed.scans, 1);
    // nvJPEG's quantization and colour conversion differ slightly from libjpeg's; both are close to each other.
    const double psnr = Psnr(Pixels(on_gpu.image()), Pixels(on_cpu.image()));
    EXPECT_GT(psnr, 38.0);
    if (c.optimize && !c.progressive && default_bytes > 0) EXPECT_LT(on_gpu.image().size(), default_bytes);
    if (std::string(c.name) == "default") {
      default_bytes = on_gpu.image().size();
      EXPECT_FALSE(fell_back);
    }
  }
  EXPECT_EQ(MetricSum(gpu.metrics_port(), "imgproc_encode_fallbacks_total"), fallbacks);
}

TEST(GpuEncodeTest, AvifAndHeicAnswersOfTheGpuChainAreEncodedOnTheCpu) {
  SKIP_WITHOUT_GPU();
  ServerProcess gpu({"--backend=cuda"});
  ASSERT_TRUE(gpu.started());
  pb::ProcessRequest request = Thumbnail(ReadFile(PhotoPath("nature/Dune.jpg")), 320);
  request.mutable_output()->mutable_raw();
  pb::ProcessResponse raw, avif, heic;
  ASSERT_TRUE(CallProcess(*gpu.NewStub(), request, &raw).ok());
  const cv::Mat pixels = RawToMat(raw.image(), raw.width(), raw.height(), raw.channels(), pb::DTYPE_UINT8);
  request.mutable_output()->mutable_avif();
  ASSERT_TRUE(CallProcess(*gpu.NewStub(), request, &avif).ok());
  EXPECT_EQ(avif.format(), pb::IMAGE_FORMAT_AVIF);
  EXPECT_EQ(avif.encode_backend(), pb::BACKEND_CPU);
  EXPECT_TRUE(avif.encode_fallback_reason().empty());
  const AvifDecoded decoded = DecodeAvif(avif.image());
  ASSERT_TRUE(decoded.ok) << decoded.error;
  ASSERT_EQ(decoded.pixels.cols, raw.width());
  ASSERT_EQ(decoded.pixels.rows, raw.height());
  // The CPU backend's answer measured 30.7 dB against its raw answer (integration.EncodeTest); Dune's sand is the
  // hardest texture of the photos at the default quality.
  const double avif_psnr = Psnr(decoded.pixels, pixels);
  EXPECT_GT(avif_psnr, 28.0);

  request.mutable_output()->mutable_heic();
  ASSERT_TRUE(CallProcess(*gpu.NewStub(), request, &heic).ok());
  EXPECT_EQ(heic.format(), pb::IMAGE_FORMAT_HEIC);
  EXPECT_EQ(heic.encode_backend(), pb::BACKEND_CPU);
  const HeicDecoded heic_decoded = DecodeHeic(heic.image());
  ASSERT_TRUE(heic_decoded.ok) << heic_decoded.error;
  ASSERT_EQ(heic_decoded.pixels.size(), pixels.size());
  const double heic_psnr = Psnr(heic_decoded.pixels, pixels);
  EXPECT_GT(heic_psnr, 29.0) << "31.5 dB on the CPU backend";
  std::printf("Dune 320 wide on the GPU chain: avif %zu bytes %.2f dB, heic %zu bytes %.2f dB\n", avif.image().size(),
              avif_psnr, heic.image().size(), heic_psnr);
}

}  // namespace
}  // namespace imgproc::testing
