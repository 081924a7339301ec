#include "codec/color_profile.h"

#include <tiffio.h>
#include <zlib.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/tiff_memory_file.h"

namespace imgproc {
namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

ColorSource Problem(std::string why) {
  ColorSource source;
  source.problem = std::move(why);
  return source;
}

ColorSource Icc(std::string bytes) {
  ColorSource source;
  source.kind = ColorSourceKind::kIcc;
  source.icc = std::make_shared<const std::string>(std::move(bytes));
  return source;
}

std::string TooLarge(size_t bytes) {
  return absl::StrCat("the ICC profile is ", bytes, " bytes, over the limit of ", kMaxColorProfileBytes);
}

// APP2 segments "ICC_PROFILE\0", sequence number (1-based), count, then a piece of the profile (ICC.1 B.4): taken
// when every piece from 1 to the count is there once and all agree on the count, as libjpeg's
// jpeg_read_icc_profile does. Markers are walked up to the first scan, where libjpeg stops reading them.
ColorSource ReadJpegIcc(const unsigned char* p, size_t n) {
  constexpr unsigned char kIccTag[] = {'I', 'C', 'C', '_', 'P', 'R', 'O', 'F', 'I', 'L', 'E', 0};
  constexpr size_t kOverhead = sizeof(kIccTag) + 2;
  struct Piece {
    const unsigned char* data = nullptr;
    size_t size = 0;
  };
  std::vector<Piece> pieces;  // by sequence number - 1, sized by the first segment's count (at most 255)
  int count = 0, segments = 0;
  size_t total = 0;
  std::string problem;
  for (size_t i = 2; i + 4 <= n;) {
    if (p[i] != 0xFF) break;
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) break;
    const size_t length = Be16(p + i + 2);
    if (length < 2 || length > n - i - 2) break;  // the header walk refused such data already
    if (marker == 0xE2 && length >= 2 + kOverhead && std::memcmp(p + i + 4, kIccTag, sizeof(kIccTag)) == 0 &&
        problem.empty()) {
      const int sequence = p[i + 4 + sizeof(kIccTag)], declared = p[i + 5 + sizeof(kIccTag)];
      ++segments;
      if (count == 0) {
        count = declared;
        pieces.resize(static_cast<size_t>(count));
      }
      if (declared == 0) {
        problem = absl::StrCat("ICC_PROFILE segment ", segments, " declares a count of 0 segments");
      } else if (declared != count) {
        problem =
            absl::StrCat("ICC_PROFILE segment ", segments, " declares ", declared, " segments, the first ", count);
      } else if (sequence < 1 || sequence > count) {
        problem = absl::StrCat("ICC_PROFILE segment number ", sequence, " outside 1..", count);
      } else if (pieces[sequence - 1].data != nullptr) {
        problem = absl::StrCat("ICC_PROFILE segment number ", sequence, " appears twice");
      } else {
        pieces[sequence - 1] = Piece{p + i + 4 + kOverhead, length - 2 - kOverhead};
        total += length - 2 - kOverhead;
        if (total > kMaxColorProfileBytes) problem = TooLarge(total);
      }
    }
    i += 2 + length;
  }
  if (!problem.empty()) return Problem(std::move(problem));
  if (count == 0) return ColorSource{};
  for (int k = 0; k < count; ++k) {
    if (pieces[k].data == nullptr) {
      return Problem(absl::StrCat("ICC_PROFILE segment ", k + 1, " of ", count, " is missing"));
    }
  }
  std::string profile;
  profile.reserve(total);
  for (const Piece& piece : pieces) profile.append(reinterpret_cast<const char*>(piece.data), piece.size);
  return Icc(std::move(profile));
}

// iCCP: a name (1-79 bytes), a zero, compression method 0, then the zlib stream, inflated to no more than
// kMaxColorProfileBytes (a small chunk can inflate to gigabytes).
ColorSource InflateIccp(const unsigned char* data, size_t size) {
  const void* zero = std::memchr(data, 0, std::min<size_t>(size, 80));
  if (zero == nullptr) return Problem("iCCP chunk without a profile name");
  const size_t name_end = static_cast<size_t>(static_cast<const unsigned char*>(zero) - data);
  if (name_end + 2 > size || data[name_end + 1] != 0) return Problem("iCCP chunk with an unknown compression method");
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return Problem("iCCP: zlib could not start");
  stream.next_in = const_cast<unsigned char*>(data + name_end + 2);
  stream.avail_in = static_cast<uInt>(size - name_end - 2);
  std::string profile;
  int rc = Z_OK;
  while (rc == Z_OK) {
    const size_t have = profile.size();
    if (have >= kMaxColorProfileBytes) break;
    profile.resize(std::min(kMaxColorProfileBytes, have + 64 * 1024 + have));
    stream.next_out = reinterpret_cast<unsigned char*>(&profile[have]);
    stream.avail_out = static_cast<uInt>(profile.size() - have);
    rc = inflate(&stream, Z_NO_FLUSH);
    profile.resize(profile.size() - stream.avail_out);
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // the stream ends without its end
  }
  inflateEnd(&stream);
  if (rc == Z_STREAM_END) return Icc(std::move(profile));
  if (profile.size() >= kMaxColorProfileBytes) {
    return Problem(
        absl::StrCat("iCCP: the ICC profile inflates to more than the limit of ", kMaxColorProfileBytes, " bytes"));
  }
  return Problem(
      absl::StrCat("iCCP: the zlib stream does not inflate (", stream.msg != nullptr ? stream.msg : "truncated", ")"));
}

// The colour chunks come before the first IDAT (PNG 11.3.3). The PNG specification's precedence: iCCP, then
// sRGB, each overriding gAMA and cHRM.
ColorSource ReadPngColor(const unsigned char* p, size_t n) {
  const unsigned char* iccp = nullptr;
  size_t iccp_size = 0;
  bool srgb = false;
  ColorSource gamma;
  for (size_t i = 8; i + 12 <= n;) {
    const uint32_t length = Be32(p + i);
    if (length > n - i - 12) break;
    const std::string_view type(reinterpret_cast<const char*>(p + i + 4), 4);
    const unsigned char* data = p + i + 8;
    if (type == "IDAT" || type == "IEND") break;
    if (type == "iCCP" && iccp == nullptr) iccp = data, iccp_size = length;
    if (type == "sRGB") srgb = true;
    if (type == "gAMA" && length == 4 && Be32(data) != 0) {
      gamma.kind = ColorSourceKind::kPngGamma;
      gamma.png_gamma = Be32(data);
    }
    if (type == "cHRM" && length == 32) {
      std::array<uint32_t, 8> values;
      for (int k = 0; k < 8; ++k) values[k] = Be32(data + 4 * k);
      gamma.png_chromaticities = values;
    }
    i += 12 + size_t{length};
  }
  if (iccp != nullptr) return InflateIccp(iccp, iccp_size);
  if (srgb) {
    ColorSource source;
    source.kind = ColorSourceKind::kPngSrgb;
    return source;
  }
  if (gamma.kind == ColorSourceKind::kPngGamma) return gamma;
  return ColorSource{};  // cHRM alone says nothing of the transfer curve: taken as sRGB, as browsers do
}

// A VP8X file's ICCP chunk (its flag 0x20 says there is one; the chunk is taken where present).
ColorSource ReadWebpIcc(const unsigned char* p, size_t n) {
  if (n < 30 || std::memcmp(p + 12, "VP8X", 4) != 0) return ColorSource{};
  const size_t end = std::min<size_t>(n, size_t{8} + Le32(p + 4));
  for (size_t i = 12; i + 8 <= end;) {
    const uint32_t size = Le32(p + i + 4);
    if (size > end - i - 8) break;
    if (std::memcmp(p + i, "ICCP", 4) == 0) {
      if (size > kMaxColorProfileBytes) return Problem(TooLarge(size));
      return Icc(std::string(reinterpret_cast<const char*>(p + i + 8), size));
    }
    i += 8 + size_t{size} + (size & 1);
  }
  return ColorSource{};
}

// Tag 34675 of the first directory, through libtiff, which read it with the directory.
ColorSource ReadTiffIcc(absl::string_view bytes) {
  TiffMemoryFile file;
  file.data = reinterpret_cast<const unsigned char*>(bytes.data());
  file.size = bytes.size();
  TiffHandle tiff = OpenTiffInMemory(&file);
  if (tiff == nullptr) return ColorSource{};  // the decoder will say why
  uint32_t size = 0;
  void* data = nullptr;
  if (TIFFGetField(tiff.get(), TIFFTAG_ICCPROFILE, &size, &data) != 1 || data == nullptr || size == 0) {
    return ColorSource{};
  }
  if (size > kMaxColorProfileBytes) return Problem(TooLarge(size));
  return Icc(std::string(static_cast<const char*>(data), size));
}

}  // namespace

ColorSource ReadColorSource(absl::string_view bytes, const ImageHeader& header) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (header.format) {
    case ImageFormat::kJpeg: return ReadJpegIcc(p, bytes.size());
    case ImageFormat::kPng: return ReadPngColor(p, bytes.size());
    case ImageFormat::kWebp: return ReadWebpIcc(p, bytes.size());
    case ImageFormat::kTiff: return ReadTiffIcc(bytes);
    case ImageFormat::kBmp:
    case ImageFormat::kGif: break;
  }
  return ColorSource{};
}

}  // namespace imgproc
