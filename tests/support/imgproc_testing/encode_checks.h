#pragma once
// Reading encoded answers back independently of the server: a JPEG's frame and scan markers parsed from its bytes,
// an AVIF decoded with libavif's own decoder, a HEIC with libheif's.

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

struct HeicDecoded {
  bool ok = false;
  std::string error;
  cv::Mat pixels;              // BGR or BGRA (with an alpha image), 8-bit
  int chroma_format_idc = -1;  // the hvcC box's: 0 4:0:0, 1 4:2:0, 2 4:2:2, 3 4:4:4
  int luma_bits = 0;
  bool has_alpha = false;
  std::string icc_profile;  // the colr 'prof' box's profile; "" when none
  std::string exif;         // the Exif item's TIFF structure (its 4-byte offset skipped); "" when none
  std::string xmp;          // the XMP item ("application/rdf+xml"); "" when none
};
// Decodes the primary image with libheif (libde265) into 8-bit BGR(A).
HeicDecoded DecodeHeic(const std::string& heic);

}  // namespace imgproc::testing
