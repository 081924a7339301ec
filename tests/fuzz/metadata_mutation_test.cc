// fuzz_metadata's properties (tests/fuzz/fuzz_metadata.cc, linked in here) on a bounded, deterministic set of inputs:
// its seeds, images written with the formats' libraries carrying every block, and their mutations. A broken
// property aborts the test binary, as it would the fuzzer.
#include <gtest/gtest.h>

#include <random>

#include "imgproc_testing/metadata_images.h"
#include "imgproc_testing/test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace imgproc::testing {
namespace {

TEST(MetadataMutationTest, SeedsAndTheirMutationsKeepTheFuzzTargetsProperties) {
  std::vector<std::string> seeds;
  for (const char* name : {"exif_camera_ii.tiff", "exif_camera_mm.tiff", "jpeg_exif_xmp_icc.jpg",
                           "png_iccp_exif_itxt.png", "webp_iccp_exif_xmp.webp"}) {
    seeds.push_back(ReadFile(TestDataPath(std::string("../fuzz/metadata_seeds/") + name)));
  }
  const cv::Mat image = GeneratedImage(48, 32);
  ExifFields fields;
  fields.orientation = 8;
  fields.copyright = "(c) test";
  fields.gps = true;
  fields.pixel_width = 48;
  fields.pixel_height = 32;
  fields.thumbnail = EncodeAs(GeneratedImage(16, 12), ".jpg");
  Metadata metadata;
  metadata.exif = ExifBlock(fields);
  metadata.xmp = XmpPacket("(c) test", 8);
  metadata.icc_profile = IccProfile("colord/AdobeRGB1998.icc");
  seeds.push_back(*metadata.exif);
  seeds.push_back(JpegWith(image, metadata));
  seeds.push_back(PngWith(image, metadata));
  seeds.push_back(WebpWith(image, metadata));
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
  std::mt19937 random(29);  // fixed: the same inputs on every run
  for (int i = 0; i < 4000; ++i) {
    const std::string input = Mutate(seeds, i, random);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace imgproc::testing
