#include "codec/tiff_decode.h"

#include <tiffio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "codec/tiff_memory_file.h"

namespace imgproc {
namespace {

absl::Status Unsupported(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported tiff image: ", why));
}

absl::Status Corrupt(absl::string_view what, const TiffMemoryFile& file) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode tiff: ", what,
                                                 file.first_error.empty() ? "" : " (libtiff: ", file.first_error,
                                                 file.first_error.empty() ? "" : ")"));
}

// How one stored sample becomes a value of the working image.
enum class Unpack {
  kU8,      // as is
  kS8,      // + 128
  kU16,     // as is, CV_16U
  kS16,     // + 32768, CV_16U
  kScaled,  // n-bit (n != 8, 16): round(v * 255 / (2^n - 1)), CV_8U
  kIndex,   // palette index of n < 8 bits, CV_8U
  kF32,
  kF64,  // to CV_32F
};

int WorkDepth(Unpack unpack) {
  switch (unpack) {
    case Unpack::kU16:
    case Unpack::kS16: return CV_16U;
    case Unpack::kF32:
    case Unpack::kF64: return CV_32F;
    default: return CV_8U;
  }
}

struct Layout {
  uint32_t width = 0, height = 0;
  uint16_t samples = 1, bits = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photometric = 0;
  int color_samples = 1;  // 1: gray or palette index; 3: RGB (or LogLuv's XYZ)
  bool alpha = false;     // the first extra sample
  Unpack unpack = Unpack::kU8;
  int kept() const { return color_samples + (alpha ? 1 : 0); }
};

// `bits` bits from `row` at `bit_offset`, most significant first (libtiff has undone FillOrder 2 already).
uint32_t ReadBits(const uint8_t* row, uint64_t bit_offset, int bits) {
  uint32_t value = 0;
  for (int b = 0; b < bits; ++b) {
    const uint64_t at = bit_offset + b;
    value = (value << 1) | ((row[at >> 3] >> (7 - (at & 7))) & 1u);
  }
  return value;
}

// Samples of a fixed-width type from a stored row (`chunk_samples` per pixel, `take` of them kept) to the working
// image's row (`kept` channels per pixel), through `convert`.
template <typename In, typename Out, typename Convert>
void Scatter(const uint8_t* row, int chunk_samples, int take, int kept, uint32_t cols, Out* out, Convert convert) {
  for (uint32_t x = 0; x < cols; ++x) {
    for (int s = 0; s < take; ++s) {
      In v;
      std::memcpy(&v, row + (size_t{x} * chunk_samples + s) * sizeof(In), sizeof(In));  // host order (libtiff)
      out[size_t{x} * kept + s] = convert(v);
    }
  }
}

// Writes samples [0, cols) of one stored row (chunk_samples per pixel, the first of them being channel
// `first_channel`) into the working image's row from column `x0`; channels beyond `kept` are dropped.
void UnpackRow(const uint8_t* row, const Layout& l, int chunk_samples, int first_channel, uint32_t cols, uint32_t x0,
               uint8_t* out_row) {
  const int kept = l.kept();
  const int take = std::min(chunk_samples, kept - first_channel);
  if (take <= 0) return;
  const size_t first = size_t{x0} * kept + first_channel;  // in samples
  const bool as_stored = l.unpack == Unpack::kU8 || l.unpack == Unpack::kU16 || l.unpack == Unpack::kF32;
  if (as_stored && take == kept && chunk_samples == kept) {  // contiguous, nothing dropped: the row as it is
    const size_t sample_bytes = l.unpack == Unpack::kU8 ? 1 : l.unpack == Unpack::kU16 ? 2 : 4;
    std::memcpy(out_row + first * sample_bytes, row, size_t{cols} * kept * sample_bytes);
    return;
  }
  auto same = [](auto v) { return v; };
  switch (l.unpack) {
    case Unpack::kU8: Scatter<uint8_t>(row, chunk_samples, take, kept, cols, out_row + first, same); break;
    case Unpack::kS8:
      Scatter<uint8_t>(row, chunk_samples, take, kept, cols, out_row + first,
                       [](uint8_t v) { return static_cast<uint8_t>(v ^ 0x80); });
      break;
    case Unpack::kU16:
      Scatter<uint16_t>(row, chunk_samples, take, kept, cols, reinterpret_cast<uint16_t*>(out_row) + first, same);
      break;
    case Unpack::kS16:
      Scatter<uint16_t>(row, chunk_samples, take, kept, cols, reinterpret_cast<uint16_t*>(out_row) + first,
                        [](uint16_t v) { return static_cast<uint16_t>(v ^ 0x8000); });
      break;
    case Unpack::kF32:
      Scatter<float>(row, chunk_samples, take, kept, cols, reinterpret_cast<float*>(out_row) + first, same);
      break;
    case Unpack::kF64:
      Scatter<double>(row, chunk_samples, take, kept, cols, reinterpret_cast<float*>(out_row) + first,
                      [](double v) { return static_cast<float>(v); });
      break;
    case Unpack::kScaled:
    case Unpack::kIndex: {
      const uint32_t max_value = (1u << l.bits) - 1;
      for (uint32_t x = 0; x < cols; ++x) {
        for (int s = 0; s < take; ++s) {
          const uint32_t v = ReadBits(row, (uint64_t{x} * chunk_samples + s) * l.bits, l.bits);
          out_row[first + size_t{x} * kept + s] = static_cast<uint8_t>(
              l.unpack == Unpack::kIndex ? v : (v * 510 + max_value) / (2 * max_value));  // round(v * 255 / max)
        }
      }
      break;
    }
  }
}

// Every strip or tile of every plane the output needs, into `work` (zeroed by the caller): a chunk that libtiff
// cannot decode in full fails the whole image, so no row is left as it was.
absl::Status ReadChunks(TIFF* tiff, const Layout& l, TiffMemoryFile& file, cv::Mat& work) {
  const bool separate = l.planar == PLANARCONFIG_SEPARATE && l.samples > 1;
  const int chunk_samples = separate ? 1 : l.samples;
  const int planes = separate ? std::min<int>(l.samples, l.kept()) : 1;
  const bool tiled = TIFFIsTiled(tiff) != 0;
  uint32_t chunk_width = l.width, chunk_height = 0;
  if (tiled) {
    if (!TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &chunk_width) ||
        !TIFFGetField(tiff, TIFFTAG_TILELENGTH, &chunk_height) || chunk_width == 0 || chunk_height == 0) {
      return Corrupt("tiled image without a tile size", file);
    }
  } else {
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ROWSPERSTRIP, &chunk_height);
    chunk_height = std::clamp<uint32_t>(chunk_height, 1, l.height);
  }
  // Below 2^32 pixels x 2^16 samples x 64 bits: no overflow. The products with a height are checked by division.
  const uint64_t row_bytes = (uint64_t{chunk_width} * chunk_samples * l.bits + 7) / 8;
  const uint64_t image_row_bytes = (uint64_t{l.width} * l.samples * l.bits + 7) / 8;
  constexpr uint64_t kHuge = uint64_t{1} << 60;
  const uint64_t budget =
      (image_row_bytes > kHuge / l.height ? kHuge : image_row_bytes * l.height) + (uint64_t{16} << 20);
  // A tile is at most 2^32 pixels on a side: one far larger than the image is a hostile declaration, refused
  // before it is allocated. Legitimate tiles overhang the image by less than one tile (at least 16x16).
  if (row_bytes > budget / chunk_height) {
    return Unsupported(absl::StrCat(chunk_width, "x", chunk_height, " tiles for a ", l.width, "x", l.height,
                                    " image (larger than the image needs)"));
  }
  std::vector<uint8_t> chunk(row_bytes * chunk_height);
  for (int plane = 0; plane < planes; ++plane) {
    for (uint32_t y0 = 0; y0 < l.height; y0 += chunk_height) {
      const uint32_t rows = std::min(chunk_height, l.height - y0);
      for (uint32_t x0 = 0; x0 < l.width; x0 += chunk_width) {
        const uint32_t cols = std::min(chunk_width, l.width - x0);
        const uint64_t need = row_bytes * rows;
        tmsize_t got;
        if (tiled) {
          const uint32_t tile = TIFFComputeTile(tiff, x0, y0, 0, static_cast<uint16_t>(plane));
          got = TIFFReadEncodedTile(tiff, tile, chunk.data(), static_cast<tmsize_t>(chunk.size()));
        } else {
          const uint32_t strip = TIFFComputeStrip(tiff, y0, static_cast<uint16_t>(plane));
          got = TIFFReadEncodedStrip(tiff, strip, chunk.data(), static_cast<tmsize_t>(need));
        }
        if (got < 0 || static_cast<uint64_t>(got) < need) {
          return Corrupt(absl::StrCat(tiled ? "tile" : "strip", " at row ", y0, ", column ", x0, ", plane ", plane,
                                      " is short or damaged"),
                         file);
        }
        for (uint32_t r = 0; r < rows; ++r) {
          UnpackRow(chunk.data() + r * row_bytes, l, chunk_samples, plane, cols, x0, work.ptr(y0 + r));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Layout> ReadLayout(TIFF* tiff) {
  Layout l;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &l.width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &l.height);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &l.planar);
  if (!TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &l.photometric)) {
    l.photometric = l.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  }
  if (l.photometric == PHOTOMETRIC_LOGL || l.photometric == PHOTOMETRIC_LOGLUV) {
    // SGI's log encodings decode to floats (Y, or CIE XYZ) when asked; libtiff then reports 32-bit float samples.
    if (!TIFFSetField(tiff, TIFFTAG_SGILOGDATAFMT, SGILOGDATAFMT_FLOAT)) {
      return Unsupported("LogL/LogLuv data without SGILog compression");
    }
  }
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &l.bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &l.format);
  if (l.width == 0 || l.height == 0) return absl::InvalidArgumentError("could not decode tiff: no image size");
  switch (l.photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_PALETTE:
    case PHOTOMETRIC_LOGL: l.color_samples = 1; break;
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_LOGLUV: l.color_samples = 3; break;
    default: l.color_samples = 0;  // through libtiff's RGBA interface
  }
  if (l.color_samples == 0) return l;
  if (l.samples < l.color_samples) {
    return Unsupported(absl::StrCat("photometric interpretation ", l.photometric, " with ", l.samples, " sample(s)"));
  }
  l.alpha = l.samples > l.color_samples;
  const int bits = l.bits;
  switch (l.format) {
    case SAMPLEFORMAT_IEEEFP:
      if (bits == 32)
        l.unpack = Unpack::kF32;
      else if (bits == 64)
        l.unpack = Unpack::kF64;
      else
        return Unsupported(absl::StrCat(bits, "-bit floating-point samples"));
      break;
    case SAMPLEFORMAT_INT:
      if (l.photometric == PHOTOMETRIC_PALETTE) return Unsupported("signed palette indices");
      if (bits == 8)
        l.unpack = Unpack::kS8;
      else if (bits == 16)
        l.unpack = Unpack::kS16;
      else
        return Unsupported(absl::StrCat("signed ", bits, "-bit samples"));
      break;
    case SAMPLEFORMAT_UINT:
    case SAMPLEFORMAT_VOID:
      if (l.photometric == PHOTOMETRIC_PALETTE) {
        if (bits > 8) return Unsupported(absl::StrCat(bits, "-bit palette indices"));
        l.unpack = bits == 8 ? Unpack::kU8 : Unpack::kIndex;
      } else if (bits == 8) {
        l.unpack = Unpack::kU8;
      } else if (bits == 16) {
        l.unpack = Unpack::kU16;
      } else if (bits >= 1 && bits < 16) {
        l.unpack = Unpack::kScaled;
      } else {
        return Unsupported(absl::StrCat(bits, "-bit integer samples"));
      }
      break;
    default: return Unsupported(absl::StrCat("sample format ", l.format, " (complex samples)"));
  }
  if ((l.photometric == PHOTOMETRIC_LOGL || l.photometric == PHOTOMETRIC_LOGLUV) && l.unpack != Unpack::kF32) {
    return Unsupported("LogL/LogLuv data that libtiff does not hand over as floats");
  }
  return l;
}

// Palette indices to BGR(A) through the colour map. Colour maps are 16-bit; old writers stored 8-bit values in
// them, which libtiff's RGBA interface (and so OpenCV) detects when every entry is below 256: done the same here.
absl::StatusOr<cv::Mat> ApplyPalette(TIFF* tiff, const Layout& l, const cv::Mat& indices, TiffMemoryFile& file) {
  uint16_t *red = nullptr, *green = nullptr, *blue = nullptr;
  if (!TIFFGetField(tiff, TIFFTAG_COLORMAP, &red, &green, &blue))
    return Corrupt("palette image without a colour map", file);
  const int entries = 1 << l.bits;
  bool eight_bit = true;
  for (int i = 0; i < entries; ++i) eight_bit = eight_bit && red[i] < 256 && green[i] < 256 && blue[i] < 256;
  auto level = [&](uint16_t c) { return static_cast<uint8_t>(eight_bit ? c : (c + 128) / 257); };
  cv::Mat out(indices.rows, indices.cols, l.alpha ? CV_8UC4 : CV_8UC3);
  const int in_channels = indices.channels(), out_channels = out.channels();
  for (int y = 0; y < indices.rows; ++y) {
    const uint8_t* in = indices.ptr<uint8_t>(y);
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < indices.cols; ++x, in += in_channels, o += out_channels) {
      const int i = in[0] < entries ? in[0] : 0;
      o[0] = level(blue[i]);
      o[1] = level(green[i]);
      o[2] = level(red[i]);
      if (l.alpha) o[3] = in[1];
    }
  }
  return out;
}

void InvertFirstChannel(cv::Mat& work) {
  const int channels = work.channels();
  for (int y = 0; y < work.rows; ++y) {
    for (int x = 0; x < work.cols; ++x) {
      const size_t at = static_cast<size_t>(x) * channels;
      switch (work.depth()) {
        case CV_8U: work.ptr<uint8_t>(y)[at] = 255 - work.ptr<uint8_t>(y)[at]; break;
        case CV_16U: work.ptr<uint16_t>(y)[at] = 65535 - work.ptr<uint16_t>(y)[at]; break;
        default: work.ptr<float>(y)[at] = 1.0f - work.ptr<float>(y)[at]; break;
      }
    }
  }
}

// The working image (samples in stored order) to the output's channels: gray, BGR or BGRA.
cv::Mat ToBgr(const cv::Mat& work, const Layout& l) {
  cv::Mat out;
  switch (work.channels()) {
    case 1: return work;
    case 2: {
      out.create(work.rows, work.cols, CV_MAKETYPE(work.depth(), 4));
      const int from_to[] = {0, 0, 0, 1, 0, 2, 1, 3};
      cv::mixChannels(&work, 1, &out, 1, from_to, 4);
      return out;
    }
    case 3:
      cv::cvtColor(work, out, l.photometric == PHOTOMETRIC_LOGLUV ? cv::COLOR_XYZ2BGR : cv::COLOR_RGB2BGR);
      return out;
    default: cv::cvtColor(work, out, cv::COLOR_RGBA2BGRA); return out;
  }
}

// YCbCr (JPEG-compressed or not), CMYK, CIE L*a*b*: libtiff's RGBA interface converts them, 8 bits per channel.
absl::StatusOr<cv::Mat> DecodeThroughRgba(TIFF* tiff, const Layout& l, TiffMemoryFile& file) {
  char message[1024] = {};
  if (!TIFFRGBAImageOK(tiff, message)) return Unsupported(message);
  uint16_t extra_count = 0;
  uint16_t* extra_types = nullptr;
  TIFFGetFieldDefaulted(tiff, TIFFTAG_EXTRASAMPLES, &extra_count, &extra_types);
  TIFFRGBAImage image{};
  if (!TIFFRGBAImageBegin(&image, tiff, /*stop_on_error=*/1, message)) return Corrupt(message, file);
  // The raster in stored order (the plan applies the Orientation tag): no flip from the interface.
  image.orientation = ORIENTATION_TOPLEFT;
  image.req_orientation = ORIENTATION_TOPLEFT;
  std::vector<uint32_t> raster(size_t{l.width} * l.height);  // zeroed
  const int ok = TIFFRGBAImageGet(&image, raster.data(), l.width, l.height);
  TIFFRGBAImageEnd(&image);
  if (!ok) return Corrupt("libtiff's RGBA interface failed", file);
  const bool alpha = extra_count > 0;
  cv::Mat out(static_cast<int>(l.height), static_cast<int>(l.width), alpha ? CV_8UC4 : CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    const uint32_t* in = raster.data() + static_cast<size_t>(y) * l.width;
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x, o += out.channels()) {
      o[0] = static_cast<uint8_t>(TIFFGetB(in[x]));
      o[1] = static_cast<uint8_t>(TIFFGetG(in[x]));
      o[2] = static_cast<uint8_t>(TIFFGetR(in[x]));
      if (alpha) o[3] = static_cast<uint8_t>(TIFFGetA(in[x]));
    }
  }
  return out;
}

absl::StatusOr<cv::Mat> DecodeOpen(TIFF* tiff, TiffMemoryFile& file, bool gray16_high_byte) {
  absl::StatusOr<Layout> layout = ReadLayout(tiff);
  if (!layout.ok()) return layout.status();
  const Layout& l = *layout;
  if (l.width > INT32_MAX || l.height > INT32_MAX) return Unsupported("image too large");
  if (l.color_samples == 0) return DecodeThroughRgba(tiff, l, file);
  // Zeroed, and then written in full by ReadChunks: no byte of it comes from an earlier allocation.
  cv::Mat work =
      cv::Mat::zeros(static_cast<int>(l.height), static_cast<int>(l.width), CV_MAKETYPE(WorkDepth(l.unpack), l.kept()));
  if (absl::Status s = ReadChunks(tiff, l, file, work); !s.ok()) return s;
  if (l.photometric == PHOTOMETRIC_PALETTE) return ApplyPalette(tiff, l, work, file);
  if (l.photometric == PHOTOMETRIC_MINISWHITE) InvertFirstChannel(work);
  if (gray16_high_byte && work.type() == CV_16UC1) {
    cv::Mat high(work.rows, work.cols, CV_8UC1);
    for (int y = 0; y < work.rows; ++y) {
      for (int x = 0; x < work.cols; ++x) high.at<uint8_t>(y, x) = static_cast<uint8_t>(work.at<uint16_t>(y, x) >> 8);
    }
    return high;
  }
  return ToBgr(work, l);
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeTiff(absl::string_view bytes, bool gray16_high_byte) {
  TiffMemoryFile file;
  file.data = reinterpret_cast<const unsigned char*>(bytes.data());
  file.size = bytes.size();
  TiffHandle tiff = OpenTiffInMemory(&file);
  if (tiff == nullptr) return Corrupt("libtiff could not open it", file);
  try {
    return DecodeOpen(tiff.get(), file, gray16_high_byte);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("could not decode tiff: ", e.what()));
  }
}

}  // namespace imgproc
