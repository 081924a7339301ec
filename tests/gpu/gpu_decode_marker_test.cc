// Issue 28, item 1, through the CUDA backend (ctest label gpu): the same marker check as
// integration.DecodeMarkerTest (common/decode_marker_checks.h). On the CUDA backend every format but JPEG is decoded
// on the CPU inside the GPU lane (codec/codec.h's Decode, the CUDA build's OpenCV), then uploaded: a marker request
// of all 123s, then each file, three rounds, and every answer must be the file's expected pixels. Skips, saying why,
// without a usable GPU.
#include <gtest/gtest.h>

#include "imgproc_testing/decode_marker_checks.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/server_process.h"

namespace imgproc::testing {
namespace {

TEST(GpuDecodeMarkerTest, NoAnswerShowsAnEarlierRequestsPixels) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=1"});
  ASSERT_TRUE(server.started());
  const std::vector<DecodeCase> corpus = MarkerCorpus();
  const MarkerReport report = RunMarkerCheck(server, corpus, 3);
  EXPECT_EQ(report.answers, 3 * static_cast<int>(corpus.size()));
  for (const std::string& failure : report.failures) ADD_FAILURE() << failure;
  EXPECT_EQ(report.worst_marker_share, 0.0);
  std::printf("gpu decode marker check: %d answers, %zu wrong, worst share of marker bytes %.1f%%\n", report.answers,
              report.failures.size(), report.worst_marker_share * 100);
}

}  // namespace
}  // namespace imgproc::testing
