#include "codec/metadata.h"

#include <webp/mux.h>
#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "codec/heif_header.h"
#include "codec/jpeg_segments.h"

namespace imgproc {

namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le32(const unsigned char* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24; }

absl::string_view View(const unsigned char* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

constexpr absl::string_view kExifPrefix("Exif\0\0", 6);
constexpr absl::string_view kXmpNamespace("http://ns.adobe.com/xap/1.0/\0", 29);
constexpr absl::string_view kIccMarker("ICC_PROFILE\0", 12);
constexpr absl::string_view kPngXmpKeyword("XML:com.adobe.xmp");
// An APP2 segment holds 65535 - 2 (length) - 14 (ICC_PROFILE\0, sequence number, count) profile bytes.
constexpr size_t kIccBytesPerSegment = 65519;

// zlib data inflated up to `limit` bytes; nullopt when it is corrupt or inflates beyond the limit (a bomb).
std::optional<std::string> InflateBounded(absl::string_view compressed, size_t limit) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return std::nullopt;
  std::string out;
  std::array<unsigned char, 16384> buffer;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = buffer.data();
    stream.avail_out = buffer.size();
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - stream.avail_out);
    if (out.size() > limit) break;
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) break;  // input ended before the stream
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END || out.size() > limit) return std::nullopt;
  return out;
}

// PNG's eXIf and WebP's EXIF hold the TIFF structure; some writers keep JPEG's prefix.
absl::string_view WithoutExifPrefix(absl::string_view block) {
  if (block.substr(0, kExifPrefix.size()) == kExifPrefix) block.remove_prefix(kExifPrefix.size());
  return block;
}

// Empty blocks are no blocks: an empty chunk would be refused by libwebpmux.
void KeepExif(absl::string_view block, InputMetadata& out) {
  if (out.exif.has_value() || block.empty()) return;  // the first block is the one readers use
  if (block.size() > kMaxExifBytes) {
    out.problems.push_back(absl::StrCat("exif: ", block.size(), " bytes, over the bound of ", kMaxExifBytes));
    return;
  }
  out.exif = std::string(block);
}

void KeepXmp(absl::string_view packet, InputMetadata& out) {
  if (out.xmp.has_value() || packet.empty()) return;
  if (packet.size() > kMaxXmpBytes) {
    out.problems.push_back(absl::StrCat("xmp: ", packet.size(), " bytes, over the bound of ", kMaxXmpBytes));
    return;
  }
  out.xmp = std::string(packet);
}

void KeepIcc(absl::string_view profile, InputMetadata& out) {
  if (out.icc_profile.has_value() || profile.empty()) return;
  if (profile.size() > kMaxIccProfileBytes) {
    out.problems.push_back(
        absl::StrCat("icc profile: ", profile.size(), " bytes, over the bound of ", kMaxIccProfileBytes));
    return;
  }
  out.icc_profile = std::string(profile);
}

// The APP2 ICC_PROFILE segments of a JPEG, each numbered i of n: whole when every number from 1 to n came once.
class IccSegments {
 public:
  void Add(absl::string_view payload) {
    if (!error_.empty()) return;
    if (payload.size() < 2) return Fail("an ICC_PROFILE segment without its sequence number and count");
    const int sequence = static_cast<unsigned char>(payload[0]), count = static_cast<unsigned char>(payload[1]);
    if (count == 0 || sequence == 0 || sequence > count) {
      return Fail(absl::StrCat("ICC_PROFILE segment numbered ", sequence, " of ", count));
    }
    if (count_ != 0 && count != count_) {
      return Fail(absl::StrCat("ICC_PROFILE segments disagree on their count (", count_, ", then ", count, ")"));
    }
    count_ = count;
    if (parts_[sequence].has_value()) return Fail(absl::StrCat("ICC_PROFILE segment ", sequence, " comes twice"));
    parts_[sequence] = payload.substr(2);
    size_ += payload.size() - 2;
  }
  bool seen() const { return count_ != 0 || !error_.empty(); }
  void Finish(InputMetadata& out) const {
    if (!seen()) return;
    if (!error_.empty()) {
      out.problems.push_back(absl::StrCat("icc profile: ", error_));
      return;
    }
    std::string profile;
    profile.reserve(size_);
    for (int i = 1; i <= count_; ++i) {
      if (!parts_[i].has_value()) {
        out.problems.push_back(absl::StrCat("icc profile: ICC_PROFILE segment ", i, " of ", count_, " is missing"));
        return;
      }
      profile.append(parts_[i]->data(), parts_[i]->size());
    }
    KeepIcc(profile, out);
  }

 private:
  void Fail(std::string why) { error_ = std::move(why); }
  std::array<std::optional<absl::string_view>, 256> parts_;
  int count_ = 0;
  size_t size_ = 0;
  std::string error_;
};

// The segments before the first scan, where JPEG writers put APPn; each visited once by its length.
void ExtractFromJpeg(const unsigned char* p, size_t n, const MetadataPolicy& policy, InputMetadata& out) {
  IccSegments icc;
  ForEachJpegSegmentBeforeScan(p, n, [&](unsigned char marker, absl::string_view payload) {
    if (marker == 0xE1 && policy.exif != ExifPolicy::kStrip && payload.substr(0, kExifPrefix.size()) == kExifPrefix) {
      KeepExif(payload.substr(kExifPrefix.size()), out);
    } else if (marker == 0xE1 && policy.keep_xmp && payload.substr(0, kXmpNamespace.size()) == kXmpNamespace) {
      KeepXmp(payload.substr(kXmpNamespace.size()), out);
    } else if (marker == 0xE2 && policy.keep_icc_profile && payload.substr(0, kIccMarker.size()) == kIccMarker) {
      icc.Add(payload.substr(kIccMarker.size()));
    }
  });
  icc.Finish(out);
}

// iCCP: a name of 1-79 bytes, its NUL, compression method 0, then the zlib-compressed profile.
void ExtractPngIcc(absl::string_view data, InputMetadata& out) {
  const size_t name_end = data.find('\0');
  if (name_end == absl::string_view::npos || name_end > 79 || name_end + 2 > data.size() || data[name_end + 1] != 0) {
    out.problems.push_back("icc profile: malformed iCCP chunk");
    return;
  }
  std::optional<std::string> profile = InflateBounded(data.substr(name_end + 2), kMaxIccProfileBytes);
  if (!profile.has_value()) {
    out.problems.push_back(absl::StrCat("icc profile: the iCCP chunk does not inflate (corrupt, or over ",
                                        kMaxIccProfileBytes, " bytes)"));
    return;
  }
  KeepIcc(*profile, out);
}

// iTXt: keyword, NUL, compression flag and method, language tag, NUL, translated keyword, NUL, text.
void ExtractPngXmp(absl::string_view data, InputMetadata& out) {
  if (data.substr(0, kPngXmpKeyword.size() + 1) != absl::StrCat(kPngXmpKeyword, absl::string_view("\0", 1))) return;
  data.remove_prefix(kPngXmpKeyword.size() + 1);
  if (data.size() < 2) return out.problems.push_back("xmp: iTXt chunk cut short");
  const bool compressed = data[0] != 0;
  data.remove_prefix(2);
  for (int field = 0; field < 2; ++field) {  // language tag, translated keyword
    const size_t end = data.find('\0');
    if (end == absl::string_view::npos) return out.problems.push_back("xmp: iTXt chunk cut short");
    data.remove_prefix(end + 1);
  }
  if (!compressed) return KeepXmp(data, out);
  std::optional<std::string> packet = InflateBounded(data, kMaxXmpBytes);
  if (!packet.has_value()) {
    return out.problems.push_back(
        absl::StrCat("xmp: the iTXt chunk does not inflate (corrupt, or over ", kMaxXmpBytes, " bytes)"));
  }
  KeepXmp(*packet, out);
}

void ExtractFromPng(const unsigned char* p, size_t n, const MetadataPolicy& policy, InputMetadata& out) {
  for (size_t i = 8; i + 12 <= n;) {
    const uint32_t length = Be32(p + i);
    if (length > n - i - 12) break;
    const absl::string_view type = View(p + i + 4, 4), data = View(p + i + 8, length);
    if (type == "IEND") break;
    if (type == "iCCP" && policy.keep_icc_profile && !out.icc_profile) ExtractPngIcc(data, out);
    if (type == "eXIf" && policy.exif != ExifPolicy::kStrip) KeepExif(WithoutExifPrefix(data), out);
    if (type == "iTXt" && policy.keep_xmp && !out.xmp) ExtractPngXmp(data, out);
    i += 12 + static_cast<size_t>(length);
  }
}

void ExtractFromWebp(const unsigned char* p, size_t n, const MetadataPolicy& policy, InputMetadata& out) {
  if (n < 12) return;
  const size_t end = std::min<size_t>(n, size_t{8} + Le32(p + 4));
  for (size_t i = 12; i + 8 <= end;) {
    const absl::string_view type = View(p + i, 4);
    const uint32_t size = Le32(p + i + 4);
    if (size > end - i - 8) break;
    const absl::string_view data = View(p + i + 8, size);
    if (type == "ICCP" && policy.keep_icc_profile) KeepIcc(data, out);
    if (type == "EXIF" && policy.exif != ExifPolicy::kStrip) KeepExif(WithoutExifPrefix(data), out);
    if (type == "XMP " && policy.keep_xmp) KeepXmp(data, out);
    i += 8 + size + (size & 1);
  }
}

// XMP repeats EXIF's orientation as tiff:Orientation, an attribute or an element; a reader honouring it would turn
// the upright answer again. Its digit is replaced in place, so the packet keeps its size and padding.
void ResetXmpOrientation(std::string& xmp) {
  for (absl::string_view opening : {absl::string_view("tiff:Orientation=\""), absl::string_view("tiff:Orientation='"),
                                    absl::string_view("<tiff:Orientation>")}) {
    for (size_t at = xmp.find(opening.data(), 0, opening.size()); at != std::string::npos;
         at = xmp.find(opening.data(), at + 1, opening.size())) {
      const size_t digit = at + opening.size();
      if (digit + 1 < xmp.size() && xmp[digit] >= '1' && xmp[digit] <= '8' &&
          (xmp[digit + 1] == '"' || xmp[digit + 1] == '\'' || xmp[digit + 1] == '<')) {
        xmp[digit] = '1';
      }
    }
  }
}

std::string JpegSegment(unsigned char marker, absl::string_view prefix, absl::string_view payload) {
  const size_t length = 2 + prefix.size() + payload.size();
  std::string segment = {'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8),
                         static_cast<char>(length & 0xFF)};
  segment.append(prefix.data(), prefix.size());
  segment.append(payload.data(), payload.size());
  return segment;
}

absl::Status EmbedInJpeg(const OutputMetadata& metadata, std::string& jpeg) {
  if (jpeg.size() < 4 || static_cast<unsigned char>(jpeg[0]) != 0xFF || static_cast<unsigned char>(jpeg[1]) != 0xD8) {
    return absl::InternalError("embedding metadata: the encoder's JPEG has no start-of-image marker");
  }
  // After JFIF's APP0 where the encoder wrote one: JFIF wants to come first, EXIF readers find APP1 after it.
  size_t at = 2;
  const auto* p = reinterpret_cast<const unsigned char*>(jpeg.data());
  if (jpeg.size() >= 11 && p[2] == 0xFF && p[3] == 0xE0 && jpeg.compare(6, 5, "JFIF\0", 5) == 0) {
    at = 4 + Be16(p + 4);
    if (at > jpeg.size()) return absl::InternalError("embedding metadata: the encoder's JFIF segment is cut short");
  }
  std::string segments;
  if (metadata.exif) segments += JpegSegment(0xE1, kExifPrefix, *metadata.exif);
  if (metadata.xmp) segments += JpegSegment(0xE1, kXmpNamespace, *metadata.xmp);
  if (metadata.icc_profile) {
    const absl::string_view profile = *metadata.icc_profile;
    const size_t count = (profile.size() + kIccBytesPerSegment - 1) / kIccBytesPerSegment;
    for (size_t i = 0; i < count; ++i) {
      std::string prefix(kIccMarker);
      prefix.push_back(static_cast<char>(i + 1));
      prefix.push_back(static_cast<char>(count));
      segments += JpegSegment(0xE2, prefix, profile.substr(i * kIccBytesPerSegment, kIccBytesPerSegment));
    }
  }
  jpeg.insert(at, segments);
  return absl::OkStatus();
}

std::string PngChunk(absl::string_view type, absl::string_view data) {
  std::string chunk;
  const uint32_t length = static_cast<uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back(static_cast<char>(length >> shift & 0xFF));
  chunk.append(type.data(), type.size());
  chunk.append(data.data(), data.size());
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type.data()), static_cast<uInt>(type.size()));
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back(static_cast<char>(crc >> shift & 0xFF));
  return chunk;
}

absl::Status EmbedInPng(const OutputMetadata& metadata, std::string& png) {
  constexpr size_t kAfterIhdr = 8 + 12 + 13;
  if (png.size() < kAfterIhdr || png.compare(12, 4, "IHDR") != 0) {
    return absl::InternalError("embedding metadata: the encoder's PNG does not start with IHDR");
  }
  std::string chunks;
  if (metadata.icc_profile) {
    uLongf compressed_size = compressBound(static_cast<uLong>(metadata.icc_profile->size()));
    std::string data("ICC profile\0\0", 13);  // name, its NUL, compression method 0 (zlib)
    const size_t header = data.size();
    data.resize(header + compressed_size);
    if (compress2(reinterpret_cast<Bytef*>(&data[header]), &compressed_size,
                  reinterpret_cast<const Bytef*>(metadata.icc_profile->data()),
                  static_cast<uLong>(metadata.icc_profile->size()), Z_DEFAULT_COMPRESSION) != Z_OK) {
      return absl::InternalError("embedding metadata: zlib could not compress the ICC profile");
    }
    data.resize(header + compressed_size);
    chunks += PngChunk("iCCP", data);
  }
  if (metadata.exif) chunks += PngChunk("eXIf", *metadata.exif);
  if (metadata.xmp) {
    // Keyword, NUL, uncompressed (flag 0, method 0), empty language tag and translated keyword, each NUL-ended.
    chunks += PngChunk("iTXt", absl::StrCat(kPngXmpKeyword, absl::string_view("\0\0\0\0\0", 5), *metadata.xmp));
  }
  png.insert(kAfterIhdr, chunks);
  return absl::OkStatus();
}

struct MuxDeleter {
  void operator()(WebPMux* mux) const { WebPMuxDelete(mux); }
};

absl::Status EmbedInWebp(const OutputMetadata& metadata, std::string& webp) {
  const WebPData input = {reinterpret_cast<const uint8_t*>(webp.data()), webp.size()};
  std::unique_ptr<WebPMux, MuxDeleter> mux(WebPMuxCreate(&input, /*copy_data=*/0));
  if (mux == nullptr) return absl::InternalError("embedding metadata: libwebpmux could not read the encoder's WebP");
  auto set = [&](const char* fourcc, const std::optional<std::string>& block) -> absl::Status {
    if (!block) return absl::OkStatus();
    const WebPData chunk = {reinterpret_cast<const uint8_t*>(block->data()), block->size()};
    if (const WebPMuxError error = WebPMuxSetChunk(mux.get(), fourcc, &chunk, /*copy_data=*/0); error != WEBP_MUX_OK) {
      return absl::InternalError(
          absl::StrCat("embedding metadata: libwebpmux refused the ", fourcc, " chunk (", error, ")"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = set("ICCP", metadata.icc_profile); !s.ok()) return s;
  if (absl::Status s = set("EXIF", metadata.exif); !s.ok()) return s;
  if (absl::Status s = set("XMP ", metadata.xmp); !s.ok()) return s;
  WebPData assembled = {nullptr, 0};
  if (const WebPMuxError error = WebPMuxAssemble(mux.get(), &assembled); error != WEBP_MUX_OK) {
    return absl::InternalError(
        absl::StrCat("embedding metadata: libwebpmux could not assemble the WebP (", error, ")"));
  }
  std::string out(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  mux.reset();  // it points into `webp`
  webp = std::move(out);
  return absl::OkStatus();
}

// HEIF: the Exif item describing the primary image (codec/heif_header.h) and the primary's colr ICC profile. XMP
// (a 'mime' item) is not read.
void ExtractFromHeif(absl::string_view bytes, const MetadataPolicy& policy, InputMetadata& out) {
  absl::StatusOr<HeifStructure> heif = ReadHeifStructure(bytes);
  if (!heif.ok()) return;
  if (policy.keep_icc_profile && !heif->icc.empty()) KeepIcc(heif->icc, out);
  if (policy.exif != ExifPolicy::kStrip && !heif->exif.empty()) {
    if (absl::string_view tiff = HeifExifTiff(heif->exif); !tiff.empty()) KeepExif(tiff, out);
  }
}

}  // namespace

InputMetadata ExtractMetadata(absl::string_view bytes, ImageFormat format, const MetadataPolicy& policy) {
  InputMetadata out;
  if (!policy.KeepsAny()) return out;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (format) {
    case ImageFormat::kJpeg: ExtractFromJpeg(p, bytes.size(), policy, out); break;
    case ImageFormat::kPng: ExtractFromPng(p, bytes.size(), policy, out); break;
    case ImageFormat::kWebp: ExtractFromWebp(p, bytes.size(), policy, out); break;
    case ImageFormat::kHeif: ExtractFromHeif(bytes, policy, out); break;
    default: break;
  }
  return out;
}

OutputMetadata PrepareOutputMetadata(InputMetadata input, const MetadataPolicy& policy, OutputFormat format,
                                     const ExifRewrite& rewrite) {
  OutputMetadata out;
  out.not_kept = std::move(input.problems);
  const MetadataKinds support = MetadataSupportOf(format);
  const char* format_name = format == OutputFormat::kJpeg   ? "jpeg"
                            : format == OutputFormat::kPng  ? "png"
                            : format == OutputFormat::kAvif ? "avif"
                            : format == OutputFormat::kHeic ? "heic"
                            : format == OutputFormat::kTiff ? "tiff"
                                                            : "webp";
  if (policy.keep_icc_profile && input.icc_profile) {
    if (support.icc_profile) {
      out.icc_profile = std::move(input.icc_profile);
    } else {
      out.not_kept.push_back("icc profile: the answer's format carries none");
    }
  }
  if (policy.exif != ExifPolicy::kStrip && input.exif) {
    ExifRewrite exif_rewrite = rewrite;
    exif_rewrite.copyright_only = policy.exif == ExifPolicy::kCopyrightOnly;
    absl::StatusOr<std::string> exif = RewriteExif(*input.exif, exif_rewrite);
    if (!support.exif) {
      out.not_kept.push_back("exif: the answer's format carries none");
    } else if (!exif.ok()) {
      out.not_kept.push_back(std::string(exif.status().message()));
    } else if (exif->size() > kMaxExifBytes) {  // a rewrite may come out a few bytes over its input
      out.not_kept.push_back(
          absl::StrCat("exif: ", exif->size(), " bytes once rewritten, over the bound of ", kMaxExifBytes));
    } else if (!exif->empty()) {
      out.exif = *std::move(exif);
    }
  }
  if (policy.keep_xmp && input.xmp) {
    const size_t bound = format == OutputFormat::kJpeg ? kMaxJpegXmpBytes : kMaxXmpBytes;
    if (!support.xmp) {
      out.not_kept.push_back("xmp: the answer's format carries none");
    } else if (input.xmp->size() > bound) {
      out.not_kept.push_back(absl::StrCat("xmp: ", input.xmp->size(), " bytes, over the ", bound, " that a ",
                                          format_name, " answer takes in one block"));
    } else {
      out.xmp = std::move(input.xmp);
      if (rewrite.reset_orientation) ResetXmpOrientation(*out.xmp);
    }
  }
  return out;
}

absl::Status EmbedMetadata(const OutputMetadata& metadata, OutputFormat format, std::string& encoded) {
  if (metadata.empty()) return absl::OkStatus();
  switch (format) {
    case OutputFormat::kJpeg: return EmbedInJpeg(metadata, encoded);
    case OutputFormat::kPng: return EmbedInPng(metadata, encoded);
    case OutputFormat::kWebp: return EmbedInWebp(metadata, encoded);
    case OutputFormat::kRaw: return absl::OkStatus();
    case OutputFormat::kAvif: return absl::OkStatus();  // written by the encoder itself (codec/avif_encode.h)
    case OutputFormat::kHeic: return absl::OkStatus();  // written by the encoder itself (codec/heic_encode.h)
    case OutputFormat::kTiff: return absl::OkStatus();  // carries none (MetadataSupportOf)
  }
  return absl::OkStatus();
}

MetadataKinds KindsOf(const OutputMetadata& metadata) {
  return {metadata.icc_profile.has_value(), metadata.exif.has_value(), metadata.xmp.has_value()};
}

MetadataKinds MetadataSupportOf(OutputFormat format) {
  // TIFF answers (16-bit images, issue 30) are OpenCV's encoder's, which writes no ICC, EXIF or XMP tags.
  if (format == OutputFormat::kRaw || format == OutputFormat::kTiff) return {};
  // AVIF: libavif writes the profile (colr 'prof') and the XMP item; EXIF is left out, since the Exif item's payload
  // framing (the TIFF header offset) changed between libavif versions and no test here reads it back yet.
  if (format == OutputFormat::kAvif) return {/*icc_profile=*/true, /*exif=*/false, /*xmp=*/true};
  // HEIC: libheif writes the profile, the Exif item (its offset framing included) and the XMP item.
  return {/*icc_profile=*/true, /*exif=*/true, /*xmp=*/true};
}

}  // namespace imgproc
