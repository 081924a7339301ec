#include "codec/image_header.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/heif_header.h"
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
    case ImageFormat::kHeif: return "heif";
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

// Refused where the data ends inside a length-declared structure: what was sent is a fragment, or a forged length.
absl::Status Truncated(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode ", what, " data (truncated): ", why));
}

std::string DeclaredBeyondEnd(absl::string_view what, size_t at, uint64_t declared, size_t remaining) {
  return absl::StrCat(what, " at offset ", at, " declares ", declared, " bytes; ", remaining, " remain");
}

std::string ChunkName(const unsigned char* p) {
  return absl::StrCat("chunk '", absl::CHexEscape(absl::string_view(reinterpret_cast<const char*>(p), 4)), "'");
}

std::string MarkerName(unsigned char marker) { return absl::StrFormat("segment 0xFF%02X", marker); }

// EXIF blocks: PNG's eXIf and WebP's EXIF hold the TIFF structure itself; some writers keep JPEG's "Exif\0\0" prefix.
int ExifBlockOrientation(const unsigned char* p, size_t size) {
  constexpr unsigned char kExif[] = {'E', 'x', 'i', 'f', 0, 0};
  if (size >= sizeof(kExif) && std::memcmp(p, kExif, sizeof(kExif)) == 0) {
    p += sizeof(kExif);
    size -= sizeof(kExif);
  }
  return ParseExifOrientation(p, size);
}

// From the frame header at `i` to the end-of-image marker: the segments' lengths are checked, each scan's
// entropy-coded data is skipped to the next marker that is not a stuffed 0xFF00 or a restart, and the scans are
// counted. Linear in the file, no decoding. Data that ends before the end-of-image marker leaves
// `header.truncation` set, since libjpeg decodes what came (the rest gray): an error only before the first scan,
// where libjpeg has no pixels to give.
absl::Status WalkJpegScans(const unsigned char* p, size_t n, size_t i, ImageHeader& header) {
  int scans = 0;
  auto cut = [&](const std::string& where) -> absl::Status {
    if (scans == 0) return Truncated("jpeg", absl::StrCat("the jpeg data ends ", where, ", before the first scan"));
    header.jpeg_scans = scans;
    header.truncation =
        absl::StrCat("the jpeg data ends ", where, " (after ", scans, " scan(s), no end-of-image marker)");
    return absl::OkStatus();
  };
  for (;;) {
    if (i + 2 > n) return cut("after a segment");
    if (p[i] != 0xFF) {  // stray bytes between segments: libjpeg skips them to the next marker, with a warning
      const void* found = std::memchr(p + i, 0xFF, n - i);
      if (found == nullptr) return cut("in stray bytes after a segment");
      i = static_cast<size_t>(static_cast<const unsigned char*>(found) - p);
      continue;
    }
    const unsigned char marker = p[i + 1];
    if (marker == 0xD9) break;  // end of image
    if (marker == 0xFF) {       // fill byte
      ++i;
      continue;
    }
    if ((marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {  // no length
      i += 2;
      continue;
    }
    if (i + 4 > n) return cut(absl::StrCat("inside the length of ", MarkerName(marker), " at offset ", i));
    const uint32_t length = Be16(p + i + 2);
    if (length < 2) return Malformed(ImageFormat::kJpeg, absl::StrCat(MarkerName(marker), " length < 2"));
    if (length > n - i - 2) {
      return cut(absl::StrCat("inside ", DeclaredBeyondEnd(MarkerName(marker), i, length, n - i - 2)));
    }
    i += 2 + length;
    if (marker != 0xDA) continue;
    ++scans;
    for (;;) {  // the scan's data
      const void* found = i < n ? std::memchr(p + i, 0xFF, n - i) : nullptr;
      if (found == nullptr) return cut(absl::StrCat("inside scan ", scans));
      i = static_cast<size_t>(static_cast<const unsigned char*>(found) - p);
      if (i + 1 >= n) return cut(absl::StrCat("inside scan ", scans));
      const unsigned char next = p[i + 1];
      if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) break;
      i += next == 0xFF ? 1 : 2;
    }
  }
  if (scans == 0) return Malformed(ImageFormat::kJpeg, "end of image before any scan");
  header.jpeg_scans = scans;
  return absl::OkStatus();
}

absl::StatusOr<ImageHeader> ReadJpeg(const unsigned char* p, size_t n) {
  // Walk the markers up to the first start-of-frame, which holds the size and component count.
  size_t i = 2;
  int exif_orientation = 1;
  for (;;) {
    if (i + 4 > n) return Truncated("jpeg", "the data ends before the frame header");
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
    if (marker == 0xD9 || marker == 0xDA) break;  // end of image or scan before any frame header
    const uint32_t length = Be16(p + i + 2);
    if (length < 2) return Malformed(ImageFormat::kJpeg, "segment length < 2");
    if (length > n - i - 2) {
      return Truncated("jpeg", DeclaredBeyondEnd(MarkerName(marker), i, length, n - i - 2));
    }
    const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    // EXIF comes in APP1 before the frame header: "Exif\0\0", then a TIFF structure.
    constexpr unsigned char kExif[] = {'E', 'x', 'i', 'f', 0, 0};
    if (marker == 0xE1 && length >= 2 + sizeof(kExif) && std::memcmp(p + i + 4, kExif, sizeof(kExif)) == 0) {
      exif_orientation = ParseExifOrientation(p + i + 4 + sizeof(kExif), length - 2 - sizeof(kExif));
    }
    if (start_of_frame) {
      if (length < 8) return Malformed(ImageFormat::kJpeg, "frame header shorter than 8 bytes");
      // libjpeg-turbo is built for 8-bit samples; a 12-bit (or 16-bit lossless) JPEG is a valid file it cannot read.
      if (const int precision = p[i + 4]; precision != 8) {
        return absl::InvalidArgumentError(absl::StrCat(precision, "-bit JPEG not supported: the frame header (SOF",
                                                       marker - 0xC0, ") says ", precision,
                                                       "-bit samples; this server decodes 8-bit JPEGs"));
      }
      ImageHeader h{ImageFormat::kJpeg};
      h.exif_orientation = exif_orientation;
      h.height = static_cast<int>(Be16(p + i + 5));
      h.width = static_cast<int>(Be16(p + i + 7));
      h.channels = p[i + 9];
      h.jpeg_sequential = marker == 0xC0 || marker == 0xC1;
      const bool progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
      // A sequential JPEG that ends with its end-of-image marker is whole (0xFFD9 cannot occur inside entropy-coded
      // data), and its scans need no count: the walk (about 1 ms for 8 MB) is for the others.
      const bool ends_with_end_of_image = p[n - 2] == 0xFF && p[n - 1] == 0xD9;
      if (progressive || !ends_with_end_of_image) {
        if (absl::Status s = WalkJpegScans(p, n, i + 2 + length, h); !s.ok()) return s;
      }
      if (!progressive) h.jpeg_scans = 0;
      return h;
    }
    i += 2 + length;
  }
  return Malformed(ImageFormat::kJpeg, "no frame header (truncated or not a JPEG)");
}

// Every chunk up to IEND is walked by its length: one that declares more than remains is refused here, before
// libpng would allocate by it (a 57-byte file declaring a 1 GiB tEXt took 1 GiB in OpenCV's decoder).
absl::StatusOr<ImageHeader> ReadPng(const unsigned char* p, size_t n) {
  if (n < 33 || std::string_view(reinterpret_cast<const char*>(p + 12), 4) != "IHDR" || Be32(p + 8) != 13) {
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
  bool image_data = false;
  for (size_t i = 8;;) {
    if (i + 8 > n) {
      return Truncated("png", i == n ? "the data ends before the IEND chunk"
                                     : absl::StrCat("a chunk header at offset ", i, " is cut short"));
    }
    const uint32_t length = Be32(p + i);
    const std::string_view type(reinterpret_cast<const char*>(p + i + 4), 4);
    if (const size_t remaining = n - i - 8; remaining < 4 || length > remaining - 4) {  // its data and CRC must fit
      return Truncated("png",
                       DeclaredBeyondEnd(ChunkName(p + i + 4), i, length, remaining) + " (the CRC's 4 included)");
    }
    if (type == "IEND") break;
    if (type == "IDAT") image_data = true;
    // A palette with a tRNS chunk (before the first IDAT) carries transparency, which OpenCV decodes as a fourth
    // channel: predicting 3 would have the alpha dropped to match.
    if (type == "tRNS" && p[25] == 3 && !image_data) h.channels = 4;
    if (type == "eXIf") h.exif_orientation = ExifBlockOrientation(p + i + 8, length);
    i += 12 + static_cast<size_t>(length);
  }
  if (!image_data) return Malformed(ImageFormat::kPng, "no IDAT chunk");
  return h;
}

// The RIFF size and every chunk within it are checked against the data (libwebp refuses a file cut short too, after
// allocating for it); VP8X files are walked for their EXIF chunk and, when animated, their frames.
absl::StatusOr<ImageHeader> ReadWebp(const unsigned char* p, size_t n) {
  if (n < 30) return Malformed(ImageFormat::kWebp, "truncated");
  const std::string_view chunk(reinterpret_cast<const char*>(p + 12), 4);
  const char* what = chunk == "VP8X" && (p[20] & 0x02) != 0 ? "animated webp" : "webp";
  const uint32_t riff_size = Le32(p + 4);
  if (riff_size < 4 + 8) return Malformed(ImageFormat::kWebp, absl::StrCat("RIFF size ", riff_size));
  if (riff_size > n - 8) return Truncated(what, DeclaredBeyondEnd("the RIFF container", 0, riff_size, n - 8));
  const size_t end = size_t{8} + riff_size;  // bytes after the RIFF container are not the image's
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
  } else {
    return Malformed(ImageFormat::kWebp, "unknown chunk");
  }
  // The chunks' headers only: linear in the chunk count.
  if (h.webp_animated) h.frames = 0;
  bool first_covers_canvas = false;
  for (size_t i = 12; i < end;) {
    if (i + 8 > end) return Truncated(what, absl::StrCat("a chunk header at offset ", i, " is cut short"));
    const std::string_view type(reinterpret_cast<const char*>(p + i), 4);
    const uint32_t size = Le32(p + i + 4);
    if (size > end - i - 8) return Truncated(what, DeclaredBeyondEnd(ChunkName(p + i), i, size, end - i - 8));
    if (type == "EXIF" && chunk == "VP8X") h.exif_orientation = ExifBlockOrientation(p + i + 8, size);
    if (type == "ANMF" && h.webp_animated) {
      if (h.frames == 0 && size >= 12) {
        const unsigned char* f = p + i + 8;
        first_covers_canvas = Le24(f) == 0 && Le24(f + 3) == 0 && static_cast<int>(Le24(f + 6) + 1) == h.width &&
                              static_cast<int>(Le24(f + 9) + 1) == h.height;
      }
      ++h.frames;
    }
    i += 8 + size + (size & 1);
  }
  if (h.webp_animated) {
    if (h.frames == 0) return Malformed(ImageFormat::kWebp, "animation without frames (truncated?)");
    // What the first frame leaves uncovered is transparent on the canvas.
    if (!first_covers_canvas) h.channels = 4;
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
  h.frames = 0;
  bool first_frame_read = false;
  // False when the data ends first (no zero-length terminator within it).
  auto skip_sub_blocks = [&] {
    while (i < n) {
      const size_t size = p[i];
      i += 1 + size;
      if (size == 0) return i <= n;
    }
    return false;
  };
  // Data that ends inside a block: an error while the first frame is incomplete (giflib fails there); after it,
  // the first frame, the one decoded, is whole and the rest is said in `truncation`.
  auto cut = [&](absl::string_view where) -> absl::Status {
    if (h.frames <= 1 && !first_frame_read) {
      if (h.frames == 0)
        return Malformed(ImageFormat::kGif, absl::StrCat("no image descriptor (the data ends ", where, ")"));
      return Truncated("gif", absl::StrCat("the data ends ", where, ", inside the first frame"));
    }
    h.truncation = absl::StrCat("the gif data ends ", where, "; ", h.frames, " frame(s) begun");
    return absl::OkStatus();
  };
  bool transparent_next = false, first_transparent = false, first_covers_screen = false, first_has_colours = false;
  uint32_t first_left = 0, first_top = 0, first_width = 0, first_height = 0;
  for (;;) {
    if (i >= n) {
      if (absl::Status s = cut("without its trailer"); !s.ok()) return s;
      break;
    }
    if (p[i] == 0x3B) break;  // trailer
    if (p[i] == 0x21) {       // extension
      if (i + 2 > n) {
        if (absl::Status s = cut("in an extension"); !s.ok()) return s;
        break;
      }
      const unsigned char label = p[i + 1];
      i += 2;
      // Graphics control: its transparency flag applies to the next image.
      if (label == 0xF9 && i + 5 <= n && p[i] >= 4) transparent_next = (p[i + 1] & 1) != 0;
      if (!skip_sub_blocks()) {
        if (absl::Status s = cut("in an extension"); !s.ok()) return s;
        break;
      }
    } else if (p[i] == 0x2C) {  // image descriptor
      if (i + 10 > n) {
        if (absl::Status s = cut("in an image descriptor"); !s.ok()) return s;
        break;
      }
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
      if (!skip_sub_blocks()) {
        if (absl::Status s = cut("in a frame's image data"); !s.ok()) return s;
        break;
      }
      first_frame_read = true;
    } else {
      break;  // not a GIF block: what follows is not read
    }
  }
  if (h.frames == 0) return Malformed(ImageFormat::kGif, "no image descriptor");
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
  } else if (IsHeifFile(bytes)) {
    header = ReadHeifHeader(bytes);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unrecognized image format (first bytes: ", absl::BytesToHexString(bytes.substr(0, 8)),
                     "); accepted: JPEG, PNG, WebP (still or animated), TIFF, BMP, GIF, HEIC/HEIF, AVIF"));
  }
  if (header.ok() && (header->width <= 0 || header->height <= 0)) {
    return Malformed(header->format, absl::StrCat("size ", header->width, "x", header->height));
  }
  return header;
}

}  // namespace imgproc
