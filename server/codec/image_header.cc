#include "codec/image_header.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "codec/orientation.h"
#include "codec/tiff_header.h"

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
    header = ReadTiffHeader(p, n);
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
