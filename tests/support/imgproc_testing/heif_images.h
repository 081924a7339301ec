#pragma once
// HEIC and AVIF files made by the tests (issue 30): HEIC encoded with libheif's API and its x265 plugin, AVIF with
// libavif's API (aom underneath), and grids, rotations and hostile layouts assembled box by box from them.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace imgproc::testing {

enum class HeifCodec { kHevc, kAv1 };

struct HeifEncodeOptions {
  HeifCodec codec = HeifCodec::kHevc;
  int bit_depth = 8;  // 8 or 10
  int quality = 90;
  // HEVC only (libheif's encoder): an nclx colr (ISO/IEC 23091-2 code points; 0: libheif's default, BT.709/sRGB),
  // or an ICC profile written as a 'prof' colr instead.
  int nclx_primaries = 0, nclx_transfer = 0;
  std::string icc;
  bool monochrome = false;  // AV1 only: YUV 4:0:0 (pixi says one channel), from the picture's luma
  // EncodeHeifRotated only: an Exif item (this TIFF structure) describing the image ('cdsc').
  std::string exif;
};

// One coded image of a BGR or BGRA 8-bit picture (alpha kept as an auxiliary image), 4:2:0, as the encoders write it.
std::string EncodeHeif(const cv::Mat& bgr, const HeifEncodeOptions& options);

// A file whose primary item is a grid of tile_size x tile_size tiles of `bgr` (the last row and column padded by
// edge replication), each tile encoded by EncodeHeif, with an irot (quarter turns anticlockwise) and an imir
// (axis 0: top to bottom, 1: left to right; -1 none) on the grid.
std::string EncodeHeifGrid(const cv::Mat& bgr, int tile_size, const HeifEncodeOptions& options, int irot_quarters = 0,
                           int imir_axis = -1);

// A single coded image with an irot/imir added to it (re-assembled from EncodeHeif's output).
std::string EncodeHeifRotated(const cv::Mat& bgr, const HeifEncodeOptions& options, int irot_quarters,
                              int imir_axis = -1);

// Hostile layouts, a few hundred bytes: a grid of rows x columns tiles of tile_width x tile_height whose output (and
// ispe) is width x height, with tiles whose data is `tile_bytes` of junk; `self_reference` makes the grid's first
// tile the grid itself.
std::string HostileHeifGrid(uint32_t width, uint32_t height, int rows, int columns, uint32_t tile_width,
                            uint32_t tile_height, bool self_reference = false);

}  // namespace imgproc::testing
