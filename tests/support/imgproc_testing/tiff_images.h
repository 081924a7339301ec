#pragma once
// TIFF files of the layouts the server decodes (issue 28), written with libtiff from a real photo, and the pixels the
// server must answer for each, computed here from the photo's 8-bit levels and README's stated rules ("TIFF"), not
// from any decoder: n-bit integers round(v * 255 / (2^n - 1)), signed ones shifted by 2^(n-1) first, floats
// round(v * 255), the first extra sample as alpha, a palette through its colour map, the Orientation tag applied.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace imgproc::testing {

enum class TiffColour { kGray, kMinIsWhite, kRgb, kPalette };
enum class TiffSamples { kUnsigned, kSigned, kFloat };

struct TiffLayout {
  std::string name;
  TiffColour colour = TiffColour::kRgb;
  int bits = 8;
  TiffSamples samples = TiffSamples::kUnsigned;
  int extra_samples = 0;  // the first is the alpha
  int alpha_kind = 2;     // the first one's ExtraSamples value: 0 unspecified, 1 associated, 2 unassociated alpha
  bool separate_planes = false;
  int tile = 0;  // tile side (a multiple of 16); 0: strips of rows_per_strip rows
  int rows_per_strip = 8;
  int compression = 1;  // the Compression tag: 1 none, 5 LZW, 8 Deflate, 32773 PackBits
  int orientation = 1;
  bool bigtiff = false;
};

struct TiffFile {
  std::string name;
  std::string bytes;
  cv::Mat unchanged;  // DECODE_MODE_UNCHANGED's answer: 8-bit gray, BGR or BGRA, upright
  cv::Mat gray;       // DECODE_MODE_GRAYSCALE's answer, upright
};

// Planar contiguous and separate, strips and tiles, 1/2/4/8/12/16-bit, signed 8/16, float 32/64, extra samples,
// gray+alpha, palette (4 and 8 bits), MinIsWhite, orientations 1-8, BigTIFF; compressed and not.
std::vector<TiffLayout> TiffLayouts();
// `photo`: 8-bit BGR.
TiffFile WriteTiff(const TiffLayout& layout, const cv::Mat& photo);
// Every layout, from a real photo (nature/, downscaled to 61x37: odd sides, so the last tiles and strips overhang).
std::vector<TiffFile> TiffFiles();
// The TIFF Orientation tag (1-8) applied to a stored image, per its definition in TIFF 6.0 (which row and column
// of the stored image are the visual top and left).
cv::Mat Upright(const cv::Mat& stored, int orientation);

}  // namespace imgproc::testing
