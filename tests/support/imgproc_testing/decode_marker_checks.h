#pragma once
// Issue 28's "marker" check, shared by integration.DecodeMarkerTest (CPU backend) and gpu.GpuDecodeMarkerTest (the
// CUDA backend's CPU decode path): a request whose image is all value 123 goes first, then a file of one of the
// layouts that once came back with part of their output unwritten, repeatedly; every answer must be exactly the
// file's expected pixels, so that no answer can show the marker (an earlier request's pixels).

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "imgproc_testing/server_process.h"

namespace imgproc::testing {

struct DecodeCase {
  std::string name;
  std::string bytes;
  cv::Mat unchanged;  // DECODE_MODE_UNCHANGED's answer, 8-bit
};

// Every TIFF layout (common/tiff_images.h) and a file of each other decoder: 16-bit PNG, PNG with alpha, BMP,
// OS/2 palette and 24-bit BMP, lossless WebP, GIF; from a real photo.
std::vector<DecodeCase> MarkerCorpus();

// An OS/2 1.x bitmap (BITMAPCOREHEADER): `image` is CV_8UC1 palette indices for bits 1, 4 or 8 (with
// `palette_bgr`), or CV_8UC3 for bits 24.
std::string EncodeOs2Bmp(const cv::Mat& image, const std::vector<cv::Vec3b>& palette_bgr, int bits);

struct MarkerReport {
  int answers = 0;
  std::vector<std::string> failures;  // one line per wrong answer: the case, the round and what was wrong
  double worst_marker_share = 0;      // the largest share of an answer's bytes that were 123 where 123 was not due
};

// `rounds` times over `cases`: the marker request, then the case, both DECODE_MODE_UNCHANGED with raw output.
MarkerReport RunMarkerCheck(const ServerProcess& server, const std::vector<DecodeCase>& cases, int rounds);

}  // namespace imgproc::testing
