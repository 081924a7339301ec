#include "codec/tiff_header.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le16(const unsigned char* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t Le32(const unsigned char* p) { return Le16(p) | (Le16(p + 2) << 16); }

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed tiff header: ", why));
}

}  // namespace

absl::StatusOr<ImageHeader> ReadTiffHeader(const unsigned char* p, size_t n) {
  const bool le = p[0] == 'I';
  auto u16 = [&](uint64_t at) -> uint64_t { return le ? Le16(p + at) : Be16(p + at); };
  auto u32 = [&](uint64_t at) -> uint64_t { return le ? Le32(p + at) : Be32(p + at); };
  auto u64 = [&](uint64_t at) -> uint64_t {
    return le ? u32(at) | (u32(at + 4) << 32) : (u32(at) << 32) | u32(at + 4);
  };
  const bool big = u16(2) == 43;
  if (big && (n < 16 || u16(4) != 8 || u16(6) != 0)) return Malformed("bad BigTIFF header");
  const uint64_t ifd = big ? u64(8) : u32(4);
  const uint64_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12, inline_size = big ? 8 : 4;
  if (ifd < (big ? 16u : 8u) || ifd > n || n - ifd < count_size) {
    return Malformed("first directory outside the data");
  }
  const uint64_t entries = big ? u64(ifd) : u16(ifd);
  // The entries, then the next directory's offset.
  if (entries > (n - ifd - count_size) / entry_size || n - ifd - count_size - entries * entry_size < inline_size) {
    return Malformed(absl::StrCat("directory of ", entries, " entries runs past the end of the data (", n, " bytes)"));
  }
  struct Value {
    uint64_t type = 0, count = 0, at = 0;  // at: where the value's bytes are
  };
  auto type_size = [](uint64_t type) -> uint64_t {
    switch (type) {
      case 1:
      case 2:
      case 6:
      case 7: return 1;  // BYTE, ASCII, SBYTE, UNDEFINED
      case 3:
      case 8: return 2;  // SHORT, SSHORT
      case 4:
      case 9:
      case 11:
      case 13: return 4;  // LONG, SLONG, FLOAT, IFD
      case 5:
      case 10:
      case 12:
      case 16:
      case 17:
      case 18: return 8;  // RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
      default: return 0;  // unknown types are skipped, as libtiff does
    }
  };
  auto number = [&](const Value& v, uint64_t i) -> uint64_t {
    switch (v.type) {
      case 1: return p[v.at + i];
      case 3: return u16(v.at + 2 * i);
      case 4:
      case 13: return u32(v.at + 4 * i);
      case 16:
      case 18: return u64(v.at + 8 * i);
      default: return 0;
    }
  };
  enum { kPhotometric, kSamples, kOffsets, kByteCounts, kExtraSamples, kSampleFormat, kKeptTags };
  Value tags[kKeptTags];
  bool have[kKeptTags] = {};
  uint64_t width = 0, height = 0, rows_per_strip = UINT32_MAX, tile_width = 0, tile_height = 0, orientation = 1,
           planar = 1;
  bool tiled = false;
  for (uint64_t e = 0; e < entries; ++e) {
    const uint64_t at = ifd + count_size + e * entry_size;
    const uint64_t tag = u16(at);
    Value v{u16(at + 2), big ? u64(at + 4) : u32(at + 4), at + (big ? 12 : 8)};
    const uint64_t size = type_size(v.type);
    if (size == 0) continue;
    if (v.count > n / size) {
      return Malformed(
          absl::StrCat("tag ", tag, " declares ", v.count, " values, more than the ", n, " bytes of data hold"));
    }
    if (v.count * size > inline_size) {
      v.at = big ? u64(v.at) : u32(v.at);
      if (v.at > n || v.count * size > n - v.at) {
        return Malformed(absl::StrCat("tag ", tag, "'s value (", v.count * size, " bytes at offset ", v.at,
                                      ") lies beyond the data (", n, " bytes)"));
      }
    }
    const uint64_t first = v.count > 0 ? number(v, 0) : 0;
    switch (tag) {
      case 256: width = first; break;
      case 257: height = first; break;
      case 262: tags[kPhotometric] = v, have[kPhotometric] = true; break;
      case 273:
      case 324: tags[kOffsets] = v, have[kOffsets] = true, tiled = tag == 324; break;
      case 274: orientation = first; break;
      case 277: tags[kSamples] = v, have[kSamples] = true; break;
      case 278: rows_per_strip = first; break;
      case 279:
      case 325: tags[kByteCounts] = v, have[kByteCounts] = true; break;
      case 284: planar = first; break;
      case 322: tile_width = first; break;
      case 323: tile_height = first; break;
      case 338: tags[kExtraSamples] = v, have[kExtraSamples] = true; break;
      case 339: tags[kSampleFormat] = v, have[kSampleFormat] = true; break;
      default: break;
    }
  }
  if (width > UINT32_MAX || height > UINT32_MAX) {
    return Malformed(absl::StrCat("size ", width, "x", height, " beyond TIFF's 32-bit dimensions"));
  }
  ImageHeader h{ImageFormat::kTiff};
  h.width = static_cast<int>(std::min<uint64_t>(width, INT32_MAX));
  h.height = static_cast<int>(std::min<uint64_t>(height, INT32_MAX));
  if (h.width <= 0 || h.height <= 0) return Malformed("no image size");
  const uint64_t samples = have[kSamples] && tags[kSamples].count > 0 ? number(tags[kSamples], 0) : 1;
  const uint64_t photometric = have[kPhotometric] && tags[kPhotometric].count > 0
                                   ? number(tags[kPhotometric], 0)
                                   : (samples >= 3 ? 2 : 1);  // libtiff's guess when the tag is missing
  const uint64_t sample_format =
      have[kSampleFormat] && tags[kSampleFormat].count > 0 ? number(tags[kSampleFormat], 0) : 1;
  if (samples == 0) return Malformed("zero samples per pixel");
  // What codec/tiff_decode.h hands over: gray or palette/RGB colour, and an alpha from the first extra sample.
  switch (photometric) {
    case 0:
    case 1:
    case 4:
    case 32844: h.channels = samples > 1 ? 2 : 1; break;  // gray, mask, LogL
    case 2:
    case 32845: h.channels = samples > 3 ? 4 : 3; break;                                 // RGB, LogLuv
    case 3: h.channels = samples > 1 ? 4 : 3; break;                                     // palette: BGR from the map
    default: h.channels = have[kExtraSamples] && tags[kExtraSamples].count > 0 ? 4 : 3;  // YCbCr, CMYK, Lab
  }
  h.tiff_float = sample_format == 3 || photometric == 32844 || photometric == 32845;
  h.exif_orientation = orientation >= 1 && orientation <= 8 ? static_cast<int>(orientation) : 1;

  // Every strip or tile the image needs lies within the data.
  if (!have[kOffsets]) return Malformed("no strip or tile offsets");
  const uint64_t planes = planar == 2 ? samples : 1;
  uint64_t needed = 0;
  if (tiled) {
    if (tile_width == 0 || tile_height == 0) return Malformed("tiles without a tile size");
    needed = ((width + tile_width - 1) / tile_width) * ((height + tile_height - 1) / tile_height) * planes;
  } else {
    if (rows_per_strip == 0 || rows_per_strip > height) rows_per_strip = height;
    needed = ((height + rows_per_strip - 1) / rows_per_strip) * planes;
  }
  const Value& offsets = tags[kOffsets];
  if (offsets.count < needed) {
    return Malformed(absl::StrCat(offsets.count, tiled ? " tiles" : " strips", " declared; the image needs ", needed));
  }
  // Without byte counts libtiff estimates them (old writers omitted them); the offsets alone are checked then.
  const Value* counts = have[kByteCounts] ? &tags[kByteCounts] : nullptr;
  if (counts != nullptr && counts->count < needed) {
    return Malformed(absl::StrCat(counts->count, " byte counts for ", needed, tiled ? " tiles" : " strips"));
  }
  for (uint64_t i = 0; i < needed; ++i) {
    const uint64_t offset = number(offsets, i), bytes = counts != nullptr ? number(*counts, i) : 0;
    if (bytes == 0 && counts != nullptr) continue;  // an empty (sparse) chunk: libtiff refuses or fills it itself
    if (offset > n || bytes > n - offset) {
      return Malformed(absl::StrCat(tiled ? "tile " : "strip ", i, " (", bytes, " bytes at offset ", offset,
                                    ") lies beyond the data (", n, " bytes): truncated?"));
    }
  }
  return h;
}

}  // namespace imgproc
