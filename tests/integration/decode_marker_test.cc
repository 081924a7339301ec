// Issue 28, item 1, through a real server (CPU backend): a request whose image is all value 123 and then a file of
// each layout that once came back with part of its output unwritten (strip-planar 16-bit RGB/RGBA TIFF, and every
// other TIFF layout, 16-bit PNG, BMP including OS/2 palettes, WebP, GIF), three rounds: every answer is exactly the
// file's expected pixels (common/tiff_images.h computes them from the photo), so none shows the marker. One worker,
// so that the marker's freed buffers are the ones the next decode is offered (where 554eee8 answered 67-75% 123s).
#include <gtest/gtest.h>

#include "imgproc_testing/decode_marker_checks.h"
#include "imgproc_testing/server_process.h"

namespace imgproc::testing {
namespace {

TEST(DecodeMarkerTest, NoAnswerShowsAnEarlierRequestsPixels) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1"});
  ASSERT_TRUE(server.started());
  const std::vector<DecodeCase> corpus = MarkerCorpus();
  const MarkerReport report = RunMarkerCheck(server, corpus, 3);
  EXPECT_EQ(report.answers, 3 * static_cast<int>(corpus.size()));
  for (const std::string& failure : report.failures) ADD_FAILURE() << failure;
  EXPECT_EQ(report.worst_marker_share, 0.0);
  std::printf("decode marker check: %d answers, %zu wrong, worst share of marker bytes %.1f%%\n", report.answers,
              report.failures.size(), report.worst_marker_share * 100);
}

}  // namespace
}  // namespace imgproc::testing
