#include "imgproc_testing/tiff_images.h"

#include <tiffio.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

// A stored sample and the 8-bit level the server must answer for it.
struct Sample {
  double stored;
  int level;
};

// `level` (0-255) as a sample of the layout's type; the offsets in 16-bit samples stay within half a level
// (|d| <= 128 of 257), so that round(v / 257) must give the level back exactly.
Sample Encode(const TiffLayout& l, int level, int x, int y, int c) {
  const int d = (x * 31 + y * 17 + c * 5) % 257 - 128;
  switch (l.samples) {
    case TiffSamples::kFloat: return {level / 255.0, level};
    case TiffSamples::kSigned:
      if (l.bits == 8) return {static_cast<double>(level - 128), level};
      return {static_cast<double>(std::clamp(level * 257 + d, 0, 65535) - 32768), level};
    case TiffSamples::kUnsigned: break;
  }
  if (l.bits == 8) return {static_cast<double>(level), level};
  if (l.bits == 16) return {static_cast<double>(std::clamp(level * 257 + d, 0, 65535)), level};
  const double max_value = (1 << l.bits) - 1;
  const double q = std::lround(level * max_value / 255.0);
  return {q, static_cast<int>(std::lround(q * 255.0 / max_value))};
}

// Writes sample `index` of a packed row: n-bit samples most significant bit first, wider ones in the host's order
// (libtiff swaps them for the file's).
void Put(const TiffLayout& l, std::vector<uint8_t>& row, size_t index, double value) {
  if (l.samples == TiffSamples::kFloat) {
    if (l.bits == 32) {
      const float f = static_cast<float>(value);
      std::memcpy(row.data() + 4 * index, &f, 4);
    } else {
      std::memcpy(row.data() + 8 * index, &value, 8);
    }
  } else if (l.bits == 16) {
    const auto v = static_cast<uint16_t>(static_cast<int32_t>(value));
    std::memcpy(row.data() + 2 * index, &v, 2);
  } else if (l.bits == 8) {
    row[index] = static_cast<uint8_t>(static_cast<int32_t>(value));
  } else {
    const auto v = static_cast<uint32_t>(value);
    for (int b = 0; b < l.bits; ++b) {
      const size_t bit = index * l.bits + b;
      if ((v >> (l.bits - 1 - b)) & 1) row[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    }
  }
}

// 3-3-2 colour cube for 8-bit palettes, a tinted ramp for 4-bit ones: the map's 8-bit levels.
cv::Vec3b PaletteColour(int bits, int index) {  // B, G, R
  if (bits == 8) {
    return cv::Vec3b(static_cast<uchar>((index & 3) * 85), static_cast<uchar>(((index >> 2) & 7) * 255 / 7),
                     static_cast<uchar>(((index >> 5) & 7) * 255 / 7));
  }
  return cv::Vec3b(static_cast<uchar>((index * 53) % 256), static_cast<uchar>(255 - index * 17),
                   static_cast<uchar>(index * 17));
}

int PaletteIndex(int bits, const cv::Vec3b& bgr, int gray) {
  if (bits == 8) return ((bgr[2] >> 5) << 5) | ((bgr[1] >> 5) << 2) | (bgr[0] >> 6);
  return gray >> 4;
}

std::string ReadAndRemove(const std::string& path) {
  std::string bytes = ReadFile(path);
  std::remove(path.c_str());
  return bytes;
}

}  // namespace

cv::Mat Upright(const cv::Mat& stored, int orientation) {
  // 1: row 0 is the top, column 0 the left. 2-4 mirror that; 5-8 store rows as the picture's columns.
  cv::Mat out = stored.clone();
  if (orientation >= 5) cv::transpose(out, out);
  const int flip = orientation == 2 || orientation == 6   ? 1   // row 0 is the visual right (6) or mirrored (2)
                   : orientation == 3 || orientation == 7 ? -1  // both
                   : orientation == 4 || orientation == 8 ? 0   // column 0 is the visual bottom
                                                          : 2;  // none
  if (flip != 2) cv::flip(out, out, flip);
  return out;
}

std::vector<TiffLayout> TiffLayouts() {
  using C = TiffColour;
  using S = TiffSamples;
  std::vector<TiffLayout> layouts = {
      {"rgb8_contig_strips"},
      {"rgb16_separate_strips", C::kRgb, 16, S::kUnsigned, 0, 2, true},
      {"rgba16_separate_strips", C::kRgb, 16, S::kUnsigned, 1, 2, true},
      {"rgba16_separate_strips_deflate", C::kRgb, 16, S::kUnsigned, 1, 1, true, 0, 5, 8},
      {"rgb16_separate_tiles", C::kRgb, 16, S::kUnsigned, 0, 2, true, 16},
      {"rgba16_contig_tiles_lzw", C::kRgb, 16, S::kUnsigned, 1, 2, false, 16, 8, 5},
      {"rgb16_contig_strips", C::kRgb, 16},
      {"rgb8_separate_tiles_packbits", C::kRgb, 8, S::kUnsigned, 0, 2, true, 32, 8, 32773},
      {"rgb8_separate_alpha_and_unspecified_extra", C::kRgb, 8, S::kUnsigned, 2, 2, true},
      {"rgb8_separate_unspecified_extra", C::kRgb, 8, S::kUnsigned, 1, 0, true},
      {"rgb16_separate_alpha_and_extra_tiles", C::kRgb, 16, S::kUnsigned, 2, 1, true, 16},
      {"gray8_signed", C::kGray, 8, S::kSigned},
      {"rgb8_signed_separate", C::kRgb, 8, S::kSigned, 0, 2, true},
      {"gray16_signed", C::kGray, 16, S::kSigned},
      {"rgb16_signed_tiles", C::kRgb, 16, S::kSigned, 0, 2, false, 16},
      {"gray1", C::kGray, 1},
      {"gray2", C::kGray, 2},
      {"gray4_tiles", C::kGray, 4, S::kUnsigned, 0, 2, false, 16},
      {"gray12", C::kGray, 12},
      {"rgb12_separate", C::kRgb, 12, S::kUnsigned, 0, 2, true},
      {"gray4_miniswhite", C::kMinIsWhite, 4},
      {"gray8_miniswhite_lzw", C::kMinIsWhite, 8, S::kUnsigned, 0, 2, false, 0, 8, 5},
      {"gray8", C::kGray, 8},
      {"gray16", C::kGray, 16},
      {"gray8_alpha", C::kGray, 8, S::kUnsigned, 1},
      {"palette8", C::kPalette, 8},
      {"palette4_tiles", C::kPalette, 4, S::kUnsigned, 0, 2, false, 16},
      {"rgb_float32", C::kRgb, 32, S::kFloat},
      {"rgba_float32_separate_tiles", C::kRgb, 32, S::kFloat, 1, 2, true, 16},
      {"gray_float64", C::kGray, 64, S::kFloat},
      {"bigtiff_rgb16_separate_tiles", C::kRgb, 16, S::kUnsigned, 0, 2, true, 16, 8, 1, 1, true},
      {"bigtiff_gray8_deflate", C::kGray, 8, S::kUnsigned, 0, 2, false, 0, 8, 8, 1, true},
  };
  for (int orientation = 1; orientation <= 8; ++orientation) {
    layouts.push_back({"rgb8_orientation_" + std::to_string(orientation), C::kRgb, 8, S::kUnsigned, 0, 2, false, 0, 8,
                       8, orientation});
  }
  layouts.push_back({"rgba16_separate_tiles_orientation_6", C::kRgb, 16, S::kUnsigned, 1, 2, true, 16, 8, 1, 6});
  return layouts;
}

TiffFile WriteTiff(const TiffLayout& l, const cv::Mat& photo) {
  const int width = photo.cols, height = photo.rows;
  cv::Mat gray;
  cv::cvtColor(photo, gray, cv::COLOR_BGR2GRAY);
  const int colour_samples = l.colour == TiffColour::kRgb ? 3 : 1;
  const int samples = colour_samples + l.extra_samples;
  const bool alpha = l.extra_samples > 0;
  const int out_channels = (l.colour == TiffColour::kRgb || l.colour == TiffColour::kPalette ? 3 : 1) + (alpha ? 1 : 0);
  // Gray with alpha comes back as BGRA.
  const int expected_channels = out_channels == 2 ? 4 : out_channels;

  std::vector<double> stored(static_cast<size_t>(width) * height * samples);
  cv::Mat expected(height, width, CV_8UC(expected_channels));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const cv::Vec3b bgr = photo.at<cv::Vec3b>(y, x);
      const int g = gray.at<uchar>(y, x);
      double* s = &stored[(static_cast<size_t>(y) * width + x) * samples];
      uchar* e = expected.ptr<uchar>(y) + static_cast<size_t>(x) * expected_channels;
      int colour_levels[3] = {g, g, g};  // B, G, R of the answer
      if (l.colour == TiffColour::kRgb) {
        for (int c = 0; c < 3; ++c) {  // stored R, G, B
          const Sample v = Encode(l, bgr[2 - c], x, y, c);
          s[c] = v.stored;
          colour_levels[2 - c] = v.level;
        }
      } else if (l.colour == TiffColour::kPalette) {
        const int index = PaletteIndex(l.bits, bgr, g);
        s[0] = index;
        const cv::Vec3b colour = PaletteColour(l.bits, index);
        for (int c = 0; c < 3; ++c) colour_levels[c] = colour[c];
      } else {
        const Sample v = Encode(l, g, x, y, 0);
        const double max_value = std::ldexp(1.0, l.bits) - 1;  // bits is up to 64 (float64 layouts)
        s[0] = l.colour == TiffColour::kMinIsWhite ? max_value - v.stored : v.stored;  // 0 is white
        colour_levels[0] = colour_levels[1] = colour_levels[2] = v.level;
      }
      for (int c = 0; c < 3 && c < expected_channels; ++c) e[c] = static_cast<uchar>(colour_levels[c]);
      for (int extra = 0; extra < l.extra_samples; ++extra) {
        const int level = extra == 0 ? (x * 7 + y * 13) & 255 : (x * 3) & 255;
        const Sample v = Encode(l, level, x, y, colour_samples + extra);
        s[colour_samples + extra] = v.stored;
        if (extra == 0) e[3] = static_cast<uchar>(v.level);
      }
    }
  }

  char path[] = "/tmp/imgproc_tiff_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  TIFF* tiff = TIFFOpen(path, l.bigtiff ? "w8" : "w");
  if (tiff == nullptr) throw std::runtime_error("TIFFOpen failed for " + l.name);
  const uint16_t sample_format = l.samples == TiffSamples::kFloat    ? SAMPLEFORMAT_IEEEFP
                                 : l.samples == TiffSamples::kSigned ? SAMPLEFORMAT_INT
                                                                     : SAMPLEFORMAT_UINT;
  const uint16_t photometric = l.colour == TiffColour::kRgb          ? PHOTOMETRIC_RGB
                               : l.colour == TiffColour::kPalette    ? PHOTOMETRIC_PALETTE
                               : l.colour == TiffColour::kMinIsWhite ? PHOTOMETRIC_MINISWHITE
                                                                     : PHOTOMETRIC_MINISBLACK;
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(width));
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(height));
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(l.bits));
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(samples));
  TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, sample_format);
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, photometric);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, l.separate_planes ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
  TIFFSetField(tiff, TIFFTAG_COMPRESSION, static_cast<uint16_t>(l.compression));
  TIFFSetField(tiff, TIFFTAG_ORIENTATION, static_cast<uint16_t>(l.orientation));
  if (l.extra_samples > 0) {
    std::vector<uint16_t> kinds(l.extra_samples, EXTRASAMPLE_UNSPECIFIED);
    kinds[0] = static_cast<uint16_t>(l.alpha_kind);
    TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, static_cast<uint16_t>(kinds.size()), kinds.data());
  }
  std::vector<uint16_t> map_red, map_green, map_blue;
  if (l.colour == TiffColour::kPalette) {
    for (int i = 0; i < (1 << l.bits); ++i) {
      const cv::Vec3b colour = PaletteColour(l.bits, i);
      map_blue.push_back(static_cast<uint16_t>(colour[0] * 257));
      map_green.push_back(static_cast<uint16_t>(colour[1] * 257));
      map_red.push_back(static_cast<uint16_t>(colour[2] * 257));
    }
    TIFFSetField(tiff, TIFFTAG_COLORMAP, map_red.data(), map_green.data(), map_blue.data());
  }
  const int planes = l.separate_planes ? samples : 1;
  const int chunk_samples = l.separate_planes ? 1 : samples;
  const int chunk_width = l.tile > 0 ? l.tile : width, chunk_height = l.tile > 0 ? l.tile : l.rows_per_strip;
  if (l.tile > 0) {
    TIFFSetField(tiff, TIFFTAG_TILEWIDTH, static_cast<uint32_t>(l.tile));
    TIFFSetField(tiff, TIFFTAG_TILELENGTH, static_cast<uint32_t>(l.tile));
  } else {
    TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, static_cast<uint32_t>(l.rows_per_strip));
  }
  const size_t row_bytes = (static_cast<size_t>(chunk_width) * chunk_samples * l.bits + 7) / 8;
  for (int plane = 0; plane < planes; ++plane) {
    for (int y0 = 0; y0 < height; y0 += chunk_height) {
      for (int x0 = 0; x0 < width; x0 += chunk_width) {
        const int rows = l.tile > 0 ? chunk_height : std::min(chunk_height, height - y0);
        std::vector<uint8_t> chunk(row_bytes * rows);
        for (int r = 0; r < rows && y0 + r < height; ++r) {
          std::vector<uint8_t> row(row_bytes);
          for (int x = 0; x < chunk_width && x0 + x < width; ++x) {
            for (int c = 0; c < chunk_samples; ++c) {
              const int sample = l.separate_planes ? plane : c;
              Put(l, row, static_cast<size_t>(x) * chunk_samples + c,
                  stored[(static_cast<size_t>(y0 + r) * width + x0 + x) * samples + sample]);
            }
          }
          std::memcpy(chunk.data() + r * row_bytes, row.data(), row_bytes);
        }
        const tmsize_t written =
            l.tile > 0 ? TIFFWriteEncodedTile(tiff, TIFFComputeTile(tiff, x0, y0, 0, static_cast<uint16_t>(plane)),
                                              chunk.data(), static_cast<tmsize_t>(chunk.size()))
                       : TIFFWriteEncodedStrip(tiff, TIFFComputeStrip(tiff, y0, static_cast<uint16_t>(plane)),
                                               chunk.data(), static_cast<tmsize_t>(chunk.size()));
        if (written < 0) throw std::runtime_error("libtiff could not write " + l.name);
      }
    }
  }
  TIFFClose(tiff);

  TiffFile file{l.name, ReadAndRemove(path), Upright(expected, l.orientation), cv::Mat()};
  // GRAYSCALE: a one-channel 16-bit image gives its samples' high byte (README), anything else the unchanged
  // answer's gray (of levels, after their rule).
  if (l.colour == TiffColour::kGray && l.bits == 16 && l.extra_samples == 0) {
    cv::Mat high(height, width, CV_8UC1);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const double s = stored[static_cast<size_t>(y) * width + x];
        const int unsigned_value =
            l.samples == TiffSamples::kSigned ? static_cast<int>(s) + 32768 : static_cast<int>(s);
        high.at<uchar>(y, x) = static_cast<uchar>(unsigned_value >> 8);
      }
    }
    file.gray = Upright(high, l.orientation);
  } else if (file.unchanged.channels() == 1) {
    file.gray = file.unchanged;
  } else {
    cv::cvtColor(file.unchanged, file.gray, file.unchanged.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  }
  return file;
}

std::vector<TiffFile> TiffFiles() {
  static const std::vector<TiffFile> files = [] {
    const cv::Mat full = cv::imread(PhotoPath("nature/Dune.jpg"), cv::IMREAD_COLOR);
    cv::Mat photo;
    cv::resize(full, photo, cv::Size(61, 37), 0, 0, cv::INTER_AREA);
    std::vector<TiffFile> out;
    for (const TiffLayout& layout : TiffLayouts()) out.push_back(WriteTiff(layout, photo));
    return out;
  }();
  return files;
}

}  // namespace imgproc::testing
