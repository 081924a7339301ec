#pragma once
// Reading encoded answers back independently of the server: a JPEG's frame and scan markers parsed from its bytes,
// and an AVIF decoded with libavif's own decoder.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace imgproc::testing {

struct JpegStructure {
  int sof_marker = 0;  // 0xC0 baseline, 0xC1 extended, 0xC2 progressive; 0 when there is none
  struct Component {
    int id = 0, h = 0, v = 0;
  };
  std::vector<Component> components;
  int scans = 0;           // SOS markers
  int huffman_tables = 0;  // DHT segments
  bool parsed = false;     // markers walked from SOI to EOI
};
// Walks the markers (segment lengths, entropy-coded data to the next marker).
JpegStructure ParseJpegStructure(const std::string& jpeg);

struct AvifDecoded {
  bool ok = false;
  std::string error;
  cv::Mat pixels;       // BGR, BGRA (with an alpha plane) or gray (monochrome), 8-bit
  int yuv_format = -1;  // libavif's avifPixelFormat: 1 YUV444, 2 YUV422, 3 YUV420, 4 YUV400
  int depth = 0;
  bool has_alpha = false;
  std::string icc_profile;  // the colr 'prof' box's profile; "" when none
  std::string xmp;
};
// Decodes with libavif (dav1d or aom, whichever libavif picks) into 8-bit BGR(A) or gray.
AvifDecoded DecodeAvif(const std::string& avif);

}  // namespace imgproc::testing
