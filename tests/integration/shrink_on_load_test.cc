// Fidelity of shrink-on-load on the real photos, through the real server: each chain that starts with a
// downscale, answered with and without ProcessRequest.disable_shrink_on_load, the two answers compared by PSNR.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>

#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// The bar the README states for the shrunk path against the full-size one.
constexpr double kMinPsnrDb = 35;

struct Chain {
  const char* name;
  pb::Resize resize;
};

// Chains that shrink on load on every test photo (the plan's rule, pipeline/plan.cc).
std::vector<Chain> DownscaleChains() {
  std::vector<Chain> chains(5);
  chains[0].name = "W1 scale 0.5 linear";
  chains[0].resize.set_scale(0.5);
  chains[1].name = "thumbnail 320 wide, area";
  chains[1].resize.set_width(320);
  chains[1].resize.set_interpolation(pb::INTERPOLATION_AREA);
  chains[2].name = "W3 224x224 area";
  chains[2].resize.set_width(224);
  chains[2].resize.set_height(224);
  chains[2].resize.set_interpolation(pb::INTERPOLATION_AREA);
  chains[3].name = "fit 400x400 area";
  chains[3].resize.set_width(400);
  chains[3].resize.set_height(400);
  chains[3].resize.set_keep_aspect(true);
  chains[3].resize.set_interpolation(pb::INTERPOLATION_AREA);
  chains[4].name = "icon 64 wide, area";  // 1/8 for the photos 2560 wide
  chains[4].resize.set_width(64);
  chains[4].resize.set_interpolation(pb::INTERPOLATION_AREA);
  return chains;
}

class ShrinkOnLoadFidelityTest : public CpuServerSuite {
 protected:
  // The chain on `image` with and without shrink-on-load; returns the PSNR of the two answers and the factor used.
  static std::pair<double, int> Compare(const std::string& image, const Chain& chain) {
    auto stub = server_->NewStub();
    pb::ProcessRequest request;
    request.set_image(image);
    *request.add_operations()->mutable_resize() = chain.resize;
    request.mutable_output()->mutable_raw();
    pb::ProcessResponse shrunk, full;
    grpc::Status status = CallProcess(*stub, request, &shrunk);
    EXPECT_TRUE(status.ok()) << status.error_message();
    request.set_disable_shrink_on_load(true);
    status = CallProcess(*stub, request, &full);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(full.decode_shrink_factor(), 1);
    EXPECT_EQ(shrunk.width(), full.width());
    EXPECT_EQ(shrunk.height(), full.height());
    if (shrunk.width() != full.width() || shrunk.height() != full.height()) return {0, shrunk.decode_shrink_factor()};
    auto as_mat = [](const pb::ProcessResponse& r) {
      return RawToMat(r.image(), r.width(), r.height(), r.channels(), pb::DTYPE_UINT8);
    };
    return {Psnr(as_mat(shrunk), as_mat(full)), shrunk.decode_shrink_factor()};
  }
};

TEST_F(ShrinkOnLoadFidelityTest, EveryPhotoOver35DbAsJpeg) {
  std::vector<std::string> photos = NaturePhotos();
  photos.push_back(PhotoPath("abstract/Elephants_3840x2160.jpg"));
  for (const Chain& chain : DownscaleChains()) {
    double lowest = 1e9;
    for (const std::string& path : photos) {
      const auto [psnr, factor] = Compare(ReadFile(path), chain);
      EXPECT_GT(factor, 1) << chain.name << " on " << path;
      EXPECT_GE(psnr, kMinPsnrDb) << chain.name << " on " << path;
      lowest = std::min(lowest, psnr);
      std::printf("shrink-on-load %-28s 1/%d  %6.2f dB  %s\n", chain.name, factor, psnr,
                  path.substr(path.rfind('/') + 1).c_str());
    }
    std::printf("shrink-on-load %-28s lowest %.2f dB over %zu photos\n", chain.name, lowest, photos.size());
  }
}

// Point-sampling resizes further than half alias on the full-size image; a shrunk decode would not, so they stay
// at full size and the answer is bit-exact with the full path.
TEST_F(ShrinkOnLoadFidelityTest, PointSamplingDownscalesDecodeAtFullSize) {
  Chain linear{"thumbnail 320 wide, linear", {}};
  linear.resize.set_width(320);
  Chain cubic{"scale 0.5 cubic", {}};
  cubic.resize.set_scale(0.5);
  cubic.resize.set_interpolation(pb::INTERPOLATION_CUBIC);
  for (const Chain& chain : {linear, cubic}) {
    const auto [psnr, factor] = Compare(ReadFile(PhotoPath("nature/Dune.jpg")), chain);
    EXPECT_EQ(factor, 1) << chain.name;
    EXPECT_TRUE(std::isinf(psnr)) << chain.name << ": " << psnr << " dB";
  }
}

// Operators see how often inputs shrink, by factor, and what the server says its CPU codecs do.
TEST_F(ShrinkOnLoadFidelityTest, MetricsCountShrunkDecodesByFactor) {
  const std::string series = "imgproc_shrink_on_load_decodes_total";
  const std::string twice = SeriesKey(series, {{"device", "cpu"}, {"factor", "2"}});
  auto count = [&] {
    const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server_->metrics_port(), "/metrics"));
    const auto it = metrics.find(twice);
    return it == metrics.end() ? 0.0 : it->second;
  };
  const double before = count();
  Chain half{"half", {}};
  half.resize.set_scale(0.5);
  const std::string photo = ReadFile(PhotoPath("nature/Storm.jpg"));
  EXPECT_EQ(Compare(photo, half).second, 2);  // one shrunk request and one at full size
  EXPECT_EQ(count(), before + 1);

  auto stub = server_->NewStub();
  grpc::ClientContext context;
  pb::GetServerInfoResponse info;
  ASSERT_TRUE(stub->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  ASSERT_GE(info.devices_size(), 1);
  EXPECT_NE(info.devices(0).codecs().find("shrink on load"), std::string::npos) << info.devices(0).codecs();
}

// The same photos as WebP (encoded here from the decoded JPEGs): libwebp's rescaler does the shrinking.
TEST_F(ShrinkOnLoadFidelityTest, EveryPhotoOver35DbAsWebp) {
  const std::vector<Chain> chains = DownscaleChains();
  std::vector<double> lowest(chains.size(), 1e9);
  for (const std::string& path : NaturePhotos()) {
    const std::string webp = EncodeAs(DecodeLikeServer(ReadFile(path)), ".webp", {cv::IMWRITE_WEBP_QUALITY, 90});
    for (size_t i = 0; i < chains.size(); ++i) {
      const Chain& chain = chains[i];
      const auto [psnr, factor] = Compare(webp, chain);
      lowest[i] = std::min(lowest[i], psnr);
      EXPECT_GT(factor, 1) << chain.name << " on " << path;
      EXPECT_GE(psnr, kMinPsnrDb) << chain.name << " on " << path << " as WebP";
      std::printf("shrink-on-load webp %-28s 1/%d  %6.2f dB  %s\n", chain.name, factor, psnr,
                  path.substr(path.rfind('/') + 1).c_str());
    }
  }
  for (size_t i = 0; i < chains.size(); ++i) {
    std::printf("shrink-on-load webp %-28s lowest %.2f dB over %zu photos\n", chains[i].name, lowest[i],
                NaturePhotos().size());
  }
}

}  // namespace
}  // namespace imgproc::testing
