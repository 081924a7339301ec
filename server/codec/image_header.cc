#include "codec/image_header.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "codec/orientation.h"

namespace imgproc {

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kTiff: return "tiff";
    case ImageFormat::kBmp: return "bmp";
    case ImageFormat::kGif: return "gif";
  }
  return "unknown";
}

namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le16(const unsigned char* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t Le24(const unsigned char* p) { return Le16(p) | (uint32_t{p[2]} << 16); }
uint32_t Le32(const unsigned char* p) { return Le16(p) | (Le16(p + 2) << 16); }

absl::Status Malformed(ImageFormat format, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", ImageFormatName(format), " header: ", why));
}

// Well-formed but beyond what the decoder takes: the client learns it is not a damaged file.
absl::Status Unsupported(ImageFormat format, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported ", ImageFormatName(format), " image: ", why));
}

// Start-of-scan markers from offset `i` (a marker) to the end of the image: each scan's entropy-coded data is
// skipped to the next marker that is not a stuffed 0xFF00 or a restart. Linear in the file, no decoding.
int CountJpegScans(const unsigned char* p, size_t n, size_t i) {
  int scans = 0;
  while (i + 4 <= n && p[i] == 0xFF) {
    const unsigned char marker = p[i + 1];
    if (marker == 0xD9) break;  // end of image
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    i += 2 + Be16(p + i + 2);
    if (marker != 0xDA) continue;
    ++scans;
    for (;;) {  // the scan's data
      const void* found = i < n ? std::memchr(p + i, 0xFF, n - i) : nullptr;
      if (found == nullptr) return scans;
      i = static_cast<size_t>(static_cast<const unsigned char*>(found) - p);
      if (i + 1 >= n) return scans;
      const unsigned char next = p[i + 1];
      if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) break;
      i += next == 0xFF ? 1 : 2;
    }
  }
  return scans;
}

absl::StatusOr<ImageHeader> ReadJpeg(const unsigned char* p, size_t n) {
  // Walk the markers up to the first start-of-frame, which holds the size and component count.
  size_t i = 2;
  int exif_orientation = 1;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return Malformed(ImageFormat::kJpeg, "marker expected");
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length
      i += 2;
      continue;
    }
    const uint32_t length = Be16(p + i + 2);
    if (length < 2) return Malformed(ImageFormat::kJpeg, "segment length < 2");
    const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    // EXIF comes in APP1 before the frame header: "Exif\0\0", then a TIFF structure.
    constexpr unsigned char kExif[] = {'E', 'x', 'i', 'f', 0, 0};
    if (marker == 0xE1 && length >= 2 + sizeof(kExif) && i + 2 + length <= n &&
        std::memcmp(p + i + 4, kExif, sizeof(kExif)) == 0) {
      exif_orientation = ParseExifOrientation(p + i + 4 + sizeof(kExif), length - 2 - sizeof(kExif));
    }
    if (start_of_frame) {
      if (i + 10 > n) break;
      ImageHeader h{ImageFormat::kJpeg};
      h.exif_orientation = exif_orientation;
      h.height = static_cast<int>(Be16(p + i + 5));
      h.width = static_cast<int>(Be16(p + i + 7));
      h.channels = p[i + 9];
      h.jpeg_sequential = marker == 0xC0 || marker == 0xC1;
      if (marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE) {  // progressive
        h.jpeg_scans = CountJpegScans(p, n, i + 2 + length);
      }
      return h;
    }
    if (marker == 0xD9 || marker == 0xDA) break;  // end of image or scan before any frame header
    i += 2 + length;
  }
  return Malformed(ImageFormat::kJpeg, "no frame header (truncated or not a JPEG)");
}

absl::StatusOr<ImageHeader> ReadPng(const unsigned char* p, size_t n) {
  if (n < 33 || std::string_view(reinterpret_cast<const char*>(p + 12), 4) != "IHDR") {
    return Malformed(ImageFormat::kPng, "no IHDR chunk");
  }
  ImageHeader h{ImageFormat::kPng};
  h.width = static_cast<int>(std::min<uint32_t>(Be32(p + 16), INT32_MAX));
  h.height = static_cast<int>(std::min<uint32_t>(Be32(p + 20), INT32_MAX));
  switch (p[25]) {  // colour type
    case 0: h.channels = 1; break;
    case 4: h.channels = 2; break;
    case 2:
    case 3: h.channels = 3; break;
    case 6: h.channels = 4; break;
    default: return Malformed(ImageFormat::kPng, absl::StrCat("colour type ", p[25]));
  }
  if (p[25] == 3) {
    // A palette with a tRNS chunk (before the first IDAT) carries transparency, which OpenCV decodes as a fourth
    // channel: predicting 3 would have the alpha dropped to match.
    for (size_t i = 33; i + 8 <= n;) {
      const uint32_t length = Be32(p + i);
      const std::string_view type(reinterpret_cast<const char*>(p + i + 4), 4);
      if (type == "tRNS") {
        h.channels = 4;
        break;
      }
      if (type == "IDAT" || type == "IEND" || length > n) break;
      i += 12 + static_cast<size_t>(length);
    }
  }
  return h;
}

absl::StatusOr<ImageHeader> ReadWebp(const unsigned char* p, size_t n) {
  if (n < 30) return Malformed(ImageFormat::kWebp, "truncated");
  const std::string_view chunk(reinterpret_cast<const char*>(p + 12), 4);
  ImageHeader h{ImageFormat::kWebp};
  if (chunk == "VP8 ") {
    if (p[23] != 0x9D || p[24] != 0x01 || p[25] != 0x2A) return Malformed(ImageFormat::kWebp, "bad VP8 start code");
    h.width = Le16(p + 26) & 0x3FFF;
    h.height = Le16(p + 28) & 0x3FFF;
    h.channels = 3;
  } else if (chunk == "VP8L") {
    if (p[20] != 0x2F) return Malformed(ImageFormat::kWebp, "bad VP8L signature");
    const uint32_t bits = Le32(p + 21);
    h.width = static_cast<int>((bits & 0x3FFF) + 1);
    h.height = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
    h.channels = (bits >> 28) & 1 ? 4 : 3;
  } else if (chunk == "VP8X") {
    h.width = static_cast<int>(Le24(p + 24) + 1);
    h.height = static_cast<int>(Le24(p + 27) + 1);
    h.channels = (p[20] & 0x10) ? 4 : 3;
    h.webp_animated = (p[20] & 0x02) != 0;
    if (h.webp_animated) {
      // Frames are ANMF chunks; the walk reads chunk headers only, so it is linear in the chunk count.
      h.frames = 0;
      bool first_covers_canvas = false;
      for (size_t i = 12; i + 8 <= n;) {
        const std::string_view type(reinterpret_cast<const char*>(p + i), 4);
        const size_t size = Le32(p + i + 4);
        if (type == "ANMF") {
          if (h.frames == 0 && i + 8 + 12 <= n) {
            const unsigned char* f = p + i + 8;
            first_covers_canvas = Le24(f) == 0 && Le24(f + 3) == 0 && static_cast<int>(Le24(f + 6) + 1) == h.width &&
                                  static_cast<int>(Le24(f + 9) + 1) == h.height;
          }
          ++h.frames;
        }
        if (size > n) break;
        i += 8 + size + (size & 1);
      }
      if (h.frames == 0) return Malformed(ImageFormat::kWebp, "animation without frames (truncated?)");
      // What the first frame leaves uncovered is transparent on the canvas.
      if (!first_covers_canvas) h.channels = 4;
    }
  } else {
    return Malformed(ImageFormat::kWebp, "unknown chunk");
  }
  return h;
}

// TIFF and BigTIFF: the first directory's tags, each value checked to lie within the data, and every strip or tile
// (offset + byte count) too, so that a truncated or hostile file is refused here, before anything is allocated for
// it, instead of decoding in part. The walk reads each entry and each offset once: linear in the data's size,
// whatever the counts claim (a count is checked against the bytes that remain before it is used).
absl::StatusOr<ImageHeader> ReadTiff(const unsigned char* p, size_t n) {
  const bool le = p[0] == 'I';
  auto u16 = [&](uint64_t at) -> uint64_t { return le ? Le16(p + at) : Be16(p + at); };
  auto u32 = [&](uint64_t at) -> uint64_t { return le ? Le32(p + at) : Be32(p + at); };
  auto u64 = [&](uint64_t at) -> uint64_t {
    return le ? u32(at) | (u32(at + 4) << 32) : (u32(at) << 32) | u32(at + 4);
  };
  const bool big = u16(2) == 43;
  if (big && (n < 16 || u16(4) != 8 || u16(6) != 0)) return Malformed(ImageFormat::kTiff, "bad BigTIFF header");
  const uint64_t ifd = big ? u64(8) : u32(4);
  const uint64_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12, inline_size = big ? 8 : 4;
  if (ifd < (big ? 16u : 8u) || ifd > n || n - ifd < count_size) {
    return Malformed(ImageFormat::kTiff, "first directory outside the data");
  }
  const uint64_t entries = big ? u64(ifd) : u16(ifd);
  // The entries, then the next directory's offset.
  if (entries > (n - ifd - count_size) / entry_size || n - ifd - count_size - entries * entry_size < inline_size) {
    return Malformed(ImageFormat::kTiff,
                     absl::StrCat("directory of ", entries, " entries runs past the end of the data (", n, " bytes)"));
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
      return Malformed(ImageFormat::kTiff, absl::StrCat("tag ", tag, " declares ", v.count, " values, more than the ",
                                                        n, " bytes of data hold"));
    }
    if (v.count * size > inline_size) {
      v.at = big ? u64(v.at) : u32(v.at);
      if (v.at > n || v.count * size > n - v.at) {
        return Malformed(ImageFormat::kTiff,
                         absl::StrCat("tag ", tag, "'s value (", v.count * size, " bytes at offset ", v.at,
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
  ImageHeader h{ImageFormat::kTiff};
  h.width = static_cast<int>(std::min<uint64_t>(width, INT32_MAX));
  h.height = static_cast<int>(std::min<uint64_t>(height, INT32_MAX));
  if (h.width <= 0 || h.height <= 0) return Malformed(ImageFormat::kTiff, "no image size");
  const uint64_t samples = have[kSamples] && tags[kSamples].count > 0 ? number(tags[kSamples], 0) : 1;
  const uint64_t photometric = have[kPhotometric] && tags[kPhotometric].count > 0
                                   ? number(tags[kPhotometric], 0)
                                   : (samples >= 3 ? 2 : 1);  // libtiff's guess when the tag is missing
  const uint64_t sample_format =
      have[kSampleFormat] && tags[kSampleFormat].count > 0 ? number(tags[kSampleFormat], 0) : 1;
  if (samples == 0) return Malformed(ImageFormat::kTiff, "zero samples per pixel");
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
  if (!have[kOffsets]) return Malformed(ImageFormat::kTiff, "no strip or tile offsets");
  const uint64_t planes = planar == 2 ? samples : 1;
  uint64_t needed = 0;
  if (tiled) {
    if (tile_width == 0 || tile_height == 0) return Malformed(ImageFormat::kTiff, "tiles without a tile size");
    needed = ((width + tile_width - 1) / tile_width) * ((height + tile_height - 1) / tile_height) * planes;
  } else {
    if (rows_per_strip == 0 || rows_per_strip > height) rows_per_strip = height;
    needed = ((height + rows_per_strip - 1) / rows_per_strip) * planes;
  }
  const Value& offsets = tags[kOffsets];
  if (offsets.count < needed) {
    return Malformed(ImageFormat::kTiff,
                     absl::StrCat(offsets.count, tiled ? " tiles" : " strips", " declared; the image needs ", needed));
  }
  // Without byte counts libtiff estimates them (old writers omitted them); the offsets alone are checked then.
  const Value* counts = have[kByteCounts] ? &tags[kByteCounts] : nullptr;
  if (counts != nullptr && counts->count < needed) {
    return Malformed(ImageFormat::kTiff,
                     absl::StrCat(counts->count, " byte counts for ", needed, tiled ? " tiles" : " strips"));
  }
  for (uint64_t i = 0; i < needed; ++i) {
    const uint64_t offset = number(offsets, i), bytes = counts != nullptr ? number(*counts, i) : 0;
    if (bytes == 0 && counts != nullptr) continue;  // an empty (sparse) chunk: libtiff refuses or fills it itself
    if (offset > n || bytes > n - offset) {
      return Malformed(ImageFormat::kTiff, absl::StrCat(tiled ? "tile " : "strip ", i, " (", bytes, " bytes at offset ",
                                                        offset, ") lies beyond the data (", n, " bytes): truncated?"));
    }
  }
  return h;
}

// BMP: the size, and (item 2 of issue 28) pixel data that an uncompressed file's rows need lying within the data,
// so that a truncated BMP is refused here rather than decoded in part. OS/2 1.x bitmaps (BITMAPCOREHEADER, 12 bytes)
// have 16-bit sizes and 3-byte palette entries; codec/os2_bmp.h decodes them.
absl::StatusOr<ImageHeader> ReadBmp(const unsigned char* p, size_t n) {
  if (n < 30) return Malformed(ImageFormat::kBmp, "truncated");
  ImageHeader h{ImageFormat::kBmp};
  const uint32_t dib = Le32(p + 14);
  const bool core = dib == 12;
  uint32_t compression = 0;
  if (core) {
    h.width = static_cast<int>(Le16(p + 18));
    h.height = static_cast<int>(Le16(p + 20));
  } else {
    if (n < 34) return Malformed(ImageFormat::kBmp, "truncated");
    h.width = static_cast<int32_t>(Le32(p + 18));
    h.height = static_cast<int32_t>(Le32(p + 22));
    if (h.height < 0 && h.height != INT32_MIN) h.height = -h.height;  // top-down rows
    compression = Le32(p + 30);
  }
  const uint32_t bits = Le16(p + (core ? 24 : 28));
  h.channels = bits == 32 ? 4 : 3;
  // Uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS), each padded to 4 bytes; the last row's padding
  // may be missing, as some writers leave it out.
  if ((compression == 0 || compression == 3 || compression == 6) && h.width > 0 && h.height > 0 && bits > 0) {
    const uint64_t offset = Le32(p + 10);
    const uint64_t width = static_cast<uint32_t>(h.width), height = static_cast<uint32_t>(h.height);
    const uint64_t row_bytes = (width * bits + 7) / 8, stride = (width * bits + 31) / 32 * 4;
    const uint64_t needed = offset + stride * (height - 1) + row_bytes;
    if (needed > n) {
      return Malformed(ImageFormat::kBmp, absl::StrCat(h.width, "x", h.height, " pixels of ", bits, " bits need ",
                                                       needed, " bytes, the data has ", n, " (truncated?)"));
    }
  }
  return h;
}

// The logical screen is the canvas; the blocks are walked to count the frames, skipping every data sub-block by
// its length (no LZW decoding), so the work is linear in the file whatever it claims.
absl::StatusOr<ImageHeader> ReadGif(const unsigned char* p, size_t n) {
  if (n < 13) return Malformed(ImageFormat::kGif, "truncated before the logical screen descriptor");
  ImageHeader h{ImageFormat::kGif};
  h.width = static_cast<int>(Le16(p + 6));
  h.height = static_cast<int>(Le16(p + 8));
  const bool global_colours = (p[10] & 0x80) != 0;
  size_t i = 13 + (global_colours ? 3 * (size_t{2} << (p[10] & 7)) : 0);
  auto skip_sub_blocks = [&] {
    while (i < n) {
      const size_t size = p[i];
      i += 1 + size;
      if (size == 0) break;
    }
  };
  h.frames = 0;
  bool transparent_next = false, first_transparent = false, first_covers_screen = false, first_has_colours = false;
  uint32_t first_left = 0, first_top = 0, first_width = 0, first_height = 0;
  while (i < n && p[i] != 0x3B) {  // trailer
    if (p[i] == 0x21) {            // extension
      if (i + 2 > n) break;
      const unsigned char label = p[i + 1];
      i += 2;
      // Graphics control: its transparency flag applies to the next image.
      if (label == 0xF9 && i + 5 <= n && p[i] >= 4) transparent_next = (p[i + 1] & 1) != 0;
      skip_sub_blocks();
    } else if (p[i] == 0x2C) {  // image descriptor
      if (i + 10 > n) break;
      const unsigned char packed = p[i + 9];
      if (h.frames == 0) {
        first_left = Le16(p + i + 1);
        first_top = Le16(p + i + 3);
        first_width = Le16(p + i + 5);
        first_height = Le16(p + i + 7);
        first_transparent = transparent_next;
        first_has_colours = global_colours || (packed & 0x80) != 0;
        first_covers_screen = first_left == 0 && first_top == 0 && static_cast<int>(first_width) == h.width &&
                              static_cast<int>(first_height) == h.height;
      }
      ++h.frames;
      transparent_next = false;
      i += 10 + ((packed & 0x80) ? 3 * (size_t{2} << (packed & 7)) : 0) + 1;  // + LZW minimum code size
      skip_sub_blocks();
    } else {
      break;  // not a GIF block: what follows is not read
    }
  }
  if (h.frames == 0) return Malformed(ImageFormat::kGif, "no image descriptor (truncated?)");
  if (first_left + first_width > static_cast<uint32_t>(h.width) ||
      first_top + first_height > static_cast<uint32_t>(h.height)) {
    // Decoders disagree on such files (clip, or grow the screen); decoding pixels off the canvas is work for nothing.
    return Unsupported(ImageFormat::kGif,
                       absl::StrCat("the first frame (", first_width, "x", first_height, " at ", first_left, ",",
                                    first_top, ") extends beyond the logical screen (", h.width, "x", h.height, ")"));
  }
  if (!first_has_colours) return Unsupported(ImageFormat::kGif, "the first frame has no colour table");
  // Transparent pixels, and the screen outside the first frame, become alpha.
  h.channels = first_transparent || !first_covers_screen ? 4 : 3;
  return h;
}

}  // namespace

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("image is empty");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  absl::StatusOr<ImageHeader> header = absl::InvalidArgumentError("");
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    header = ReadJpeg(p, n);
  } else if (n >= 8 && bytes.substr(0, 8) == absl::string_view("\x89PNG\r\n\x1a\n", 8)) {
    header = ReadPng(p, n);
  } else if (n >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") {
    header = ReadWebp(p, n);
  } else if (n >= 8 && (bytes.substr(0, 4) == absl::string_view("II*\0", 4) ||
                        bytes.substr(0, 4) == absl::string_view("MM\0*", 4) ||
                        bytes.substr(0, 4) == absl::string_view("II+\0", 4) ||  // BigTIFF
                        bytes.substr(0, 4) == absl::string_view("MM\0+", 4))) {
    header = ReadTiff(p, n);
  } else if (n >= 2 && bytes.substr(0, 2) == "BM") {
    header = ReadBmp(p, n);
  } else if (n >= 6 && (bytes.substr(0, 6) == "GIF87a" || bytes.substr(0, 6) == "GIF89a")) {
    header = ReadGif(p, n);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unrecognized image format (first bytes: ", absl::BytesToHexString(bytes.substr(0, 8)),
                     "); accepted: JPEG, PNG, WebP (still or animated), TIFF, BMP, GIF"));
  }
  if (header.ok() && (header->width <= 0 || header->height <= 0)) {
    return Malformed(header->format, absl::StrCat("size ", header->width, "x", header->height));
  }
  return header;
}

}  // namespace imgproc
