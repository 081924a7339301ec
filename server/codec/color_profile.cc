#include "codec/color_profile.h"

#include <lcms2.h>
#include <tiffio.h>
#include <zlib.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/heif_header.h"
#include "codec/jpeg_segments.h"
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
  ForEachJpegSegmentBeforeScan(p, n, [&](unsigned char marker, absl::string_view payload) {
    if (marker != 0xE2 || payload.size() < kOverhead || std::memcmp(payload.data(), kIccTag, sizeof(kIccTag)) != 0 ||
        !problem.empty()) {
      return;
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(payload.data());
    const int sequence = bytes[sizeof(kIccTag)], declared = bytes[sizeof(kIccTag) + 1];
    ++segments;
    if (count == 0) {
      count = declared;
      pieces.resize(static_cast<size_t>(count));
    }
    if (declared == 0) {
      problem = absl::StrCat("ICC_PROFILE segment ", segments, " declares a count of 0 segments");
    } else if (declared != count) {
      problem = absl::StrCat("ICC_PROFILE segment ", segments, " declares ", declared, " segments, the first ", count);
    } else if (sequence < 1 || sequence > count) {
      problem = absl::StrCat("ICC_PROFILE segment number ", sequence, " outside 1..", count);
    } else if (pieces[sequence - 1].data != nullptr) {
      problem = absl::StrCat("ICC_PROFILE segment number ", sequence, " appears twice");
    } else {
      pieces[sequence - 1] = Piece{bytes + kOverhead, payload.size() - kOverhead};
      total += payload.size() - kOverhead;
      if (total > kMaxColorProfileBytes) problem = TooLarge(total);
    }
  });
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

// An RGB profile from nclx code points: D65 white, the primaries' chromaticities, and the transfer as lcms2's
// parametric curve type 4 (a power segment and a linear toe).
ColorSource NclxProfile(const HeifStructure& heif) {
  const uint16_t primaries = heif.nclx_primaries, transfer = heif.nclx_transfer;
  if (transfer == 16 || transfer == 18) {
    return Problem(absl::StrCat("heif nclx transfer ", transfer == 16 ? "PQ (16)" : "HLG (18)",
                                ": HDR content is not tone-mapped here"));
  }
  const bool srgb_curve = transfer == 13 || transfer == 2;  // 2: unspecified, taken as sRGB
  const bool bt709_curve = transfer == 1 || transfer == 6 || transfer == 14 || transfer == 15;
  if (!srgb_curve && !bt709_curve) return Problem(absl::StrCat("heif nclx transfer characteristics ", transfer));
  cmsCIExyYTRIPLE xy;
  switch (primaries) {
    case 1:
    case 2: return ColorSource{};  // BT.709 (or unspecified): sRGB's primaries, and sRGB's curve is taken as theirs
    case 12: xy = {{0.680, 0.320, 1.0}, {0.265, 0.690, 1.0}, {0.150, 0.060, 1.0}}; break;  // Display P3
    case 9: xy = {{0.708, 0.292, 1.0}, {0.170, 0.797, 1.0}, {0.131, 0.046, 1.0}}; break;   // BT.2020
    default: return Problem(absl::StrCat("heif nclx colour primaries ", primaries));
  }
  const cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
  const double srgb[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
  const double bt709[5] = {1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(nullptr, 4, srgb_curve ? srgb : bt709);
  if (curve == nullptr) return Problem("heif nclx: lcms2 could not build the transfer curve");
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE profile = cmsCreateRGBProfile(&d65, &xy, curves);
  cmsFreeToneCurve(curve);
  if (profile == nullptr) return Problem("heif nclx: lcms2 could not build the profile");
  cmsMLU* description = cmsMLUalloc(nullptr, 1);
  const std::string name = absl::StrCat(primaries == 12 ? "Display P3" : "BT.2020",
                                        srgb_curve ? " (sRGB transfer)" : " (BT.709 transfer)", ", from HEIF nclx");
  cmsMLUsetASCII(description, "en", "US", name.c_str());
  cmsWriteTag(profile, cmsSigProfileDescriptionTag, description);
  cmsMLUfree(description);
  cmsUInt32Number size = 0;
  std::string bytes;
  if (cmsSaveProfileToMem(profile, nullptr, &size)) {
    bytes.resize(size);
    if (!cmsSaveProfileToMem(profile, bytes.data(), &size)) bytes.clear();
  }
  cmsCloseProfile(profile);
  if (bytes.empty()) return Problem("heif nclx: lcms2 could not save the profile");
  ColorSource source = Icc(std::move(bytes));
  source.heif_nclx = true;
  return source;
}

ColorSource ReadHeifColor(absl::string_view bytes) {
  absl::StatusOr<HeifStructure> heif = ReadHeifStructure(bytes);
  if (!heif.ok()) return ColorSource{};  // the header read refused it already
  if (!heif->icc.empty()) {
    if (heif->icc.size() > kMaxColorProfileBytes) return Problem(TooLarge(heif->icc.size()));
    return Icc(std::string(heif->icc));
  }
  if (heif->nclx) return NclxProfile(*heif);
  return ColorSource{};
}

}  // namespace

ColorSource ReadColorSource(absl::string_view bytes, const ImageHeader& header) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (header.format) {
    case ImageFormat::kJpeg: return ReadJpegIcc(p, bytes.size());
    case ImageFormat::kPng: return ReadPngColor(p, bytes.size());
    case ImageFormat::kWebp: return ReadWebpIcc(p, bytes.size());
    case ImageFormat::kTiff: return ReadTiffIcc(bytes);
    case ImageFormat::kHeif: return ReadHeifColor(bytes);
    case ImageFormat::kBmp:
    case ImageFormat::kGif: break;
  }
  return ColorSource{};
}

}  // namespace imgproc
