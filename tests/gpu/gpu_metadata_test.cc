// The metadata policy on the CUDA backend (ctest label gpu): nvJPEG's JPEG answers, and the PNG and WebP answers
// encoded on the CPU after the GPU's chain, carry the same blocks as the CPU backend's, since both splice them into
// the encoded bytes on the CPU (codec/metadata.h); stripped by default. Skips, saying why, without a usable GPU.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

pb::ProcessRequest MetadataRequest(const std::string& image, const std::string& format, bool keep) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.add_operations()->mutable_resize()->set_width(480);
  if (format == "png") request.mutable_output()->mutable_png();
  if (format == "webp") request.mutable_output()->mutable_webp();
  if (format == "jpeg") request.mutable_output()->mutable_jpeg();
  if (keep) {
    // ITULab.icc is a Lab profile, which no RGB photo is in: the default policy (convert to sRGB) reports it unusable
    // and keeps none; IGNORE leaves it unparsed and keeps it byte for byte, on either backend (as
    // integration.MetadataTest).
    request.set_color_policy(pb::COLOR_POLICY_IGNORE);
    pb::MetadataPolicy* policy = request.mutable_output()->mutable_metadata();
    policy->set_keep_icc_profile(true);
    policy->set_exif(pb::EXIF_POLICY_KEEP);
    policy->set_keep_xmp(true);
  }
  return request;
}

TEST(GpuMetadataTest, CudaAnswersCarryTheCpuBackendsBlocksAndNoneByDefault) {
  SKIP_WITHOUT_GPU();
  ServerProcess gpu({"--backend=cuda"});
  ServerProcess cpu({"--backend=cpu"});
  ASSERT_TRUE(gpu.started() && cpu.started());
  cv::Mat photo = cv::imread(NaturePhotos().at(0), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::resize(photo, photo, cv::Size(960, 960 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
  ExifFields fields;
  fields.orientation = 6;
  fields.make = "TestCam";
  fields.copyright = "(c) 2026 The Photographer";
  fields.gps = true;
  fields.pixel_width = photo.cols;
  fields.pixel_height = photo.rows;
  fields.thumbnail = EncodeAs(GeneratedImage(160, 120), ".jpg");
  Metadata written;
  written.exif = ExifBlock(fields);
  written.xmp = XmpPacket("(c) 2026 The Photographer", 6);
  written.icc_profile = IccProfile("ITULab.icc");     // 7 APP2 segments
  const std::string jpeg = JpegWith(photo, written);  // sequential: nvJPEG decodes it
  for (const std::string format : {"jpeg", "png", "webp"}) {
    SCOPED_TRACE(format);
    for (const bool keep : {false, true}) {
      pb::ProcessResponse on_gpu, on_cpu;
      grpc::Status status = CallProcess(*gpu.NewStub(), MetadataRequest(jpeg, format, keep), &on_gpu);
      ASSERT_TRUE(status.ok()) << status.error_message();
      status = CallProcess(*cpu.NewStub(), MetadataRequest(jpeg, format, keep), &on_cpu);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(on_gpu.device().rfind("cuda:", 0), 0u) << on_gpu.device();
      const ReadMetadata from_gpu = ReadAnswerMetadata(on_gpu.image(), FormatName(on_gpu.format()));
      const ReadMetadata from_cpu = ReadAnswerMetadata(on_cpu.image(), FormatName(on_cpu.format()));
      EXPECT_TRUE(from_gpu.decodes);
      EXPECT_EQ(from_gpu.metadata.exif, from_cpu.metadata.exif);
      EXPECT_EQ(from_gpu.metadata.xmp, from_cpu.metadata.xmp);
      EXPECT_EQ(from_gpu.metadata.icc_profile, from_cpu.metadata.icc_profile);
      if (keep) {
        EXPECT_EQ(from_gpu.metadata.icc_profile, written.icc_profile);
        ASSERT_TRUE(from_gpu.metadata.exif.has_value());
        EXPECT_EQ(ParseExif(*from_gpu.metadata.exif).orientation, 1);
        EXPECT_EQ(ParseExif(*from_gpu.metadata.exif).thumbnail_bytes, 0u);
      } else {
        EXPECT_FALSE(from_gpu.metadata.exif || from_gpu.metadata.xmp || from_gpu.metadata.icc_profile);
        // nvJPEG's own header: at most JFIF's APP0.
        for (const std::string& block : from_gpu.blocks) EXPECT_EQ(block, "APP0:JFIF");
      }
    }
  }
}

}  // namespace
}  // namespace imgproc::testing
