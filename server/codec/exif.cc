#include "codec/exif.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

namespace imgproc {

namespace {

// Bytes per value of each TIFF field type (1-13); 0 for types this reader does not know, whose entries are dropped.
size_t TypeSize(uint16_t type) {
  static constexpr std::array<uint8_t, 14> kSizes = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
  return type < kSizes.size() ? kSizes[type] : 0;
}

constexpr uint16_t kTypeShort = 3;
constexpr uint16_t kTypeLong = 4;
constexpr uint16_t kTypeIfd = 13;

struct Entry {
  uint16_t tag = 0;
  uint16_t type = 0;
  uint32_t count = 0;
  std::string value;   // count * TypeSize(type) bytes, in the block's byte order
  int points_to = -1;  // for an IFD pointer: the index of the IFD written in its place
};

// The IFDs written, in this order; a pointer entry names one by index.
enum IfdIndex { kIfd0, kExifIfd, kInteropIfd, kGpsIfd, kIfdCount };

class TiffReader {
 public:
  TiffReader(absl::string_view tiff, bool little)
      : p_(reinterpret_cast<const unsigned char*>(tiff.data())), n_(tiff.size()), little_(little) {}

  uint32_t U16(size_t at) const { return little_ ? p_[at] | p_[at + 1] << 8 : p_[at] << 8 | p_[at + 1]; }
  uint32_t U32(size_t at) const { return little_ ? U16(at) | U16(at + 2) << 16 : U16(at) << 16 | U16(at + 2); }
  size_t size() const { return n_; }

  // The IFD's entries, or nullopt when its entry table does not fit in the block. Entries whose values do not fit
  // or whose type is unknown are left out.
  std::optional<std::vector<Entry>> ReadIfd(uint32_t offset) const {
    if (offset > n_ || n_ - offset < 2) return std::nullopt;
    const uint32_t count = U16(offset);
    if ((n_ - offset - 2) / 12 < count) return std::nullopt;
    std::vector<Entry> entries;
    entries.reserve(count);
    for (uint32_t e = 0; e < count; ++e) {
      const size_t at = offset + 2 + size_t{12} * e;
      Entry entry;
      entry.tag = static_cast<uint16_t>(U16(at));
      entry.type = static_cast<uint16_t>(U16(at + 2));
      entry.count = U32(at + 4);
      const size_t unit = TypeSize(entry.type);
      if (unit == 0) continue;
      const uint64_t bytes = uint64_t{unit} * entry.count;
      size_t from = at + 8;
      if (bytes > 4) {
        from = U32(at + 8);
        if (from > n_ || bytes > n_ - from) continue;
      }
      entry.value.assign(reinterpret_cast<const char*>(p_ + from), static_cast<size_t>(bytes));
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  // The offset a pointer entry holds, when it is one LONG or IFD value.
  std::optional<uint32_t> PointerValue(const Entry& entry) const {
    if ((entry.type != kTypeLong && entry.type != kTypeIfd) || entry.count != 1) return std::nullopt;
    const auto* v = reinterpret_cast<const unsigned char*>(entry.value.data());
    return little_ ? v[0] | v[1] << 8 | v[2] << 16 | uint32_t{v[3]} << 24
                   : uint32_t{v[0]} << 24 | v[1] << 16 | v[2] << 8 | v[3];
  }

 private:
  const unsigned char* p_;
  size_t n_;
  bool little_;
};

class TiffWriter {
 public:
  explicit TiffWriter(bool little) : little_(little) {}
  void U16(uint32_t v) {
    const char b[2] = {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8 & 0xFF)};
    if (little_) {
      out_.append(b, 2);
    } else {
      out_.push_back(b[1]);
      out_.push_back(b[0]);
    }
  }
  void U32(uint32_t v) {
    if (little_) {
      U16(v & 0xFFFF);
      U16(v >> 16);
    } else {
      U16(v >> 16);
      U16(v & 0xFFFF);
    }
  }
  std::string Value16(uint32_t v) {
    TiffWriter w(little_);
    w.U16(v);
    return w.Take();
  }
  std::string Value32(uint32_t v) {
    TiffWriter w(little_);
    w.U32(v);
    return w.Take();
  }
  void Bytes(absl::string_view bytes) { out_.append(bytes.data(), bytes.size()); }
  size_t size() const { return out_.size(); }
  std::string Take() { return std::move(out_); }

 private:
  bool little_;
  std::string out_;
};

// IFD0 tags that locate image data of the original file (strips, tiles, the thumbnail's JPEG) or sub-images: none
// of it is in the answer.
bool LocatesOldImageData(uint16_t tag) {
  switch (tag) {
    case 0x0111:  // StripOffsets
    case 0x0117:  // StripByteCounts
    case 0x0144:  // TileOffsets
    case 0x0145:  // TileByteCounts
    case 0x014A:  // SubIFDs
    case 0x0201:  // JPEGInterchangeFormat
    case 0x0202:  // JPEGInterchangeFormatLength
      return true;
    default: return false;
  }
}

void SortAndDeduplicate(std::vector<Entry>& entries) {
  // TIFF wants ascending tags, each once; the first of duplicates is the one readers see.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.tag < b.tag; });
  entries.erase(
      std::unique(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.tag == b.tag; }),
      entries.end());
}

}  // namespace

absl::StatusOr<std::string> RewriteExif(absl::string_view tiff, const ExifRewrite& rewrite) {
  if (tiff.size() < 8) return absl::InvalidArgumentError(absl::StrCat("exif: ", tiff.size(), " bytes, too short"));
  const bool little = tiff.substr(0, 2) == "II";
  if (!little && tiff.substr(0, 2) != "MM") {
    return absl::InvalidArgumentError("exif: no TIFF byte order mark (II or MM)");
  }
  const TiffReader reader(tiff, little);
  if (reader.U16(2) != 42) return absl::InvalidArgumentError("exif: no TIFF magic number 42");
  const uint32_t ifd0_offset = reader.U32(4);
  std::array<std::vector<Entry>, kIfdCount> ifds;
  std::optional<std::vector<Entry>> ifd0 = reader.ReadIfd(ifd0_offset);
  if (!ifd0.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("exif: IFD0 at offset ", ifd0_offset, " does not fit in the block's ", tiff.size(), " bytes"));
  }
  ifds[kIfd0] = *std::move(ifd0);
  std::vector<uint32_t> visited = {ifd0_offset};  // at most 4 IFDs are read: a loop or a shared IFD is read once

  // Reads the IFD an entry points to into ifds[index], or marks the entry for dropping.
  auto follow = [&](Entry& entry, IfdIndex index) {
    const std::optional<uint32_t> offset = reader.PointerValue(entry);
    if (!offset.has_value() || std::find(visited.begin(), visited.end(), *offset) != visited.end()) return;
    visited.push_back(*offset);
    std::optional<std::vector<Entry>> sub = reader.ReadIfd(*offset);
    if (sub.has_value()) {
      ifds[index] = *std::move(sub);
      entry.points_to = index;
    }
  };

  std::vector<Entry>& root = ifds[kIfd0];
  if (rewrite.copyright_only) {
    root.erase(std::remove_if(root.begin(), root.end(),
                              [](const Entry& e) { return e.tag != kExifTagCopyright && e.tag != kExifTagArtist; }),
               root.end());
  } else {
    root.erase(std::remove_if(root.begin(), root.end(), [](const Entry& e) { return LocatesOldImageData(e.tag); }),
               root.end());
    for (Entry& entry : root) {
      if (entry.tag == kExifTagExifIfd) follow(entry, kExifIfd);
      if (entry.tag == kExifTagGpsIfd) follow(entry, kGpsIfd);
    }
    for (Entry& entry : ifds[kExifIfd]) {
      if (entry.tag == kExifTagInteropIfd) follow(entry, kInteropIfd);
    }
  }

  TiffWriter writer(little);
  for (int index = 0; index < kIfdCount; ++index) {
    std::vector<Entry>& entries = ifds[index];
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) {
                                   // A pointer that was not followed (elsewhere than expected, bad, or read
                                   // already) would point into the old layout.
                                   const bool pointer = e.tag == kExifTagExifIfd || e.tag == kExifTagGpsIfd ||
                                                        e.tag == kExifTagInteropIfd;
                                   return (pointer && e.points_to < 0) || e.tag == kExifTagMakerNote;
                                 }),
                  entries.end());
    for (Entry& entry : entries) {
      if (index == kIfd0 && entry.tag == kExifTagOrientation && rewrite.reset_orientation) {
        entry.type = kTypeShort;
        entry.count = 1;
        entry.value = writer.Value16(1);
      }
      if (index == kExifIfd && rewrite.pixel_width > 0 &&
          (entry.tag == kExifTagPixelXDimension || entry.tag == kExifTagPixelYDimension)) {
        entry.type = kTypeLong;
        entry.count = 1;
        entry.value = writer.Value32(
            static_cast<uint32_t>(entry.tag == kExifTagPixelXDimension ? rewrite.pixel_width : rewrite.pixel_height));
      }
    }
    SortAndDeduplicate(entries);
  }
  // The output is capped at the input's size (+64): entries may share one value in the input, and IFDs may overlap
  // one another there, each of which a rewrite would write out in full. Entries past the cap are dropped, IFD0's
  // first.
  const size_t budget = tiff.size() + 64;
  size_t total = 8;
  for (std::vector<Entry>& entries : ifds) {
    size_t size = 2 + 4;  // the entry count and the next IFD's offset
    size_t kept = 0;
    for (; kept < entries.size(); ++kept) {
      const size_t bytes = entries[kept].value.size();
      const size_t grown = 12 + (bytes > 4 ? bytes + (bytes & 1) : 0);
      if (total + size + grown > budget) break;
      size += grown;
    }
    entries.resize(kept);
    if (!entries.empty()) total += size;
  }
  // Only IFDs reached from IFD0 are written, and only pointers to IFDs that are: a sub-IFD left empty (its entries
  // all dropped) loses its pointer, and one whose pointer was dropped is not written.
  auto parent = [](int index) { return index == kInteropIfd ? kExifIfd : kIfd0; };
  auto points_to = [&](int from, int index) {
    return std::any_of(ifds[from].begin(), ifds[from].end(), [&](const Entry& e) { return e.points_to == index; });
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (int index = kExifIfd; index < kIfdCount; ++index) {
      if (!ifds[index].empty() && !points_to(parent(index), index)) {
        ifds[index].clear();
        changed = true;
      }
      if (ifds[index].empty() && points_to(parent(index), index)) {
        std::vector<Entry>& from = ifds[parent(index)];
        from.erase(std::remove_if(from.begin(), from.end(), [&](const Entry& e) { return e.points_to == index; }),
                   from.end());
        changed = true;
      }
    }
  }
  if (ifds[kIfd0].empty()) return std::string();

  // Layout: the header, then each IFD followed by the values that do not fit in its entries, each at an even offset.
  std::array<uint32_t, kIfdCount> ifd_offsets{};
  size_t offset = 8;
  for (int index = 0; index < kIfdCount; ++index) {
    const std::vector<Entry>& entries = ifds[index];
    if (entries.empty()) continue;
    ifd_offsets[index] = static_cast<uint32_t>(offset);
    offset += 2 + 12 * entries.size() + 4;
    for (const Entry& entry : entries) {
      if (entry.points_to < 0 && entry.value.size() > 4) offset += entry.value.size() + (entry.value.size() & 1);
    }
  }

  writer.Bytes(little ? absl::string_view("II") : absl::string_view("MM"));
  writer.U16(42);
  writer.U32(ifd_offsets[kIfd0]);
  for (int index = 0; index < kIfdCount; ++index) {
    const std::vector<Entry>& entries = ifds[index];
    if (entries.empty()) continue;
    size_t data_offset = ifd_offsets[index] + 2 + 12 * entries.size() + 4;
    writer.U16(static_cast<uint32_t>(entries.size()));
    for (const Entry& entry : entries) {
      writer.U16(entry.tag);
      writer.U16(entry.type);
      writer.U32(entry.count);
      if (entry.points_to >= 0) {
        writer.U32(ifd_offsets[entry.points_to]);
      } else if (entry.value.size() > 4) {
        writer.U32(static_cast<uint32_t>(data_offset));
        data_offset += entry.value.size() + (entry.value.size() & 1);
      } else {
        std::string inline_value = entry.value;
        inline_value.resize(4, '\0');
        writer.Bytes(inline_value);
      }
    }
    writer.U32(0);  // no next IFD: IFD1, the thumbnail, is not written
    for (const Entry& entry : entries) {
      if (entry.points_to >= 0 || entry.value.size() <= 4) continue;
      writer.Bytes(entry.value);
      if (entry.value.size() & 1) writer.Bytes(absl::string_view("\0", 1));
    }
  }
  return writer.Take();
}

}  // namespace imgproc
