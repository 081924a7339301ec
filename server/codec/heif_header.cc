#include "codec/heif_header.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

namespace imgproc {

namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint64_t Be64(const unsigned char* p) { return (uint64_t{Be32(p)} << 32) | Be32(p + 4); }

constexpr uint32_t FourCc(const char (&s)[5]) {
  return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) | (uint32_t(uint8_t(s[2])) << 8) |
         uint32_t(uint8_t(s[3]));
}

std::string TypeName(uint32_t type) {
  std::string name = "'";
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((type >> shift) & 0xFF);
    name += c >= 0x20 && c < 0x7F ? c : '?';
  }
  return name + "'";
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed heif header: ", why));
}

absl::Status Unsupported(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported heif image: ", why));
}

absl::Status Truncated(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode heif data (truncated): ", why));
}

struct Box {
  uint32_t type = 0;
  size_t start = 0;  // of its header
  size_t body = 0;   // of its payload
  size_t end = 0;
};

// The box at `at`, which must end by `end`.
absl::StatusOr<Box> ReadBox(const unsigned char* p, size_t at, size_t end, absl::string_view inside) {
  if (end - at < 8) return Truncated(absl::StrCat("a box header at offset ", at, " in ", inside, " is cut short"));
  Box box;
  box.start = at;
  box.type = Be32(p + at + 4);
  uint64_t size = Be32(p + at);
  box.body = at + 8;
  if (size == 1) {
    if (end - at < 16) return Truncated(absl::StrCat("box ", TypeName(box.type), " at offset ", at, " is cut short"));
    size = Be64(p + at + 8);
    box.body = at + 16;
  } else if (size == 0) {
    size = end - at;  // to the end of its parent
  }
  if (size < box.body - at)
    return Malformed(absl::StrCat("box ", TypeName(box.type), " at offset ", at, " size ", size));
  if (size > end - at) {
    return Truncated(absl::StrCat("box ", TypeName(box.type), " at offset ", at, " declares ", size, " bytes; ",
                                  end - at, " remain in ", inside));
  }
  box.end = at + static_cast<size_t>(size);
  return box;
}

// A cursor over a box's payload that refuses to read past it.
class Reader {
 public:
  Reader(const unsigned char* p, size_t at, size_t end, uint32_t box) : p_(p), at_(at), end_(end), box_(box) {}
  bool Has(size_t n) const { return end_ - at_ >= n; }
  absl::Status Need(size_t n) const {
    if (Has(n)) return absl::OkStatus();
    return Malformed(absl::StrCat("box ", TypeName(box_), " ends inside its fields"));
  }
  uint64_t Uint(int bytes) {  // callers check Need first
    uint64_t v = 0;
    for (int k = 0; k < bytes; ++k) v = (v << 8) | p_[at_++];
    return v;
  }
  size_t at() const { return at_; }
  size_t end() const { return end_; }

 private:
  const unsigned char* p_;
  size_t at_, end_;
  uint32_t box_;
};

struct Extent {
  uint64_t offset = 0, length = 0;
};

struct Item {
  uint32_t type = 0;
  bool located = false;
  int construction_method = 0;
  std::vector<Extent> extents;
  std::vector<uint16_t> properties;  // 1-based indices into ipco
};

struct Reference {
  uint32_t type = 0;
  uint32_t from = 0;
  std::vector<uint32_t> to;
};

struct Meta {
  uint32_t primary = 0;
  bool has_primary = false;
  std::map<uint32_t, Item> items;
  std::vector<Reference> references;
  std::vector<Box> properties;  // ipco's children, in order
  Box idat;
  bool has_idat = false;
};

absl::Status ReadIinf(const unsigned char* p, const Box& iinf, Meta& meta) {
  Reader r(p, iinf.body, iinf.end, iinf.type);
  if (absl::Status s = r.Need(4); !s.ok()) return s;
  const int version = static_cast<int>(r.Uint(1));
  r.Uint(3);
  const int count_bytes = version == 0 ? 2 : 4;
  if (absl::Status s = r.Need(count_bytes); !s.ok()) return s;
  const uint64_t count = r.Uint(count_bytes);
  if (count > kMaxHeifItems) {
    return Unsupported(absl::StrCat("iinf lists ", count, " items, over the limit of ", kMaxHeifItems));
  }
  size_t at = r.at();
  for (uint64_t k = 0; k < count; ++k) {
    absl::StatusOr<Box> infe = ReadBox(p, at, iinf.end, "'iinf'");
    if (!infe.ok()) return infe.status();
    at = infe->end;
    if (infe->type != FourCc("infe")) continue;
    Reader e(p, infe->body, infe->end, infe->type);
    if (absl::Status s = e.Need(4); !s.ok()) return s;
    const int infe_version = static_cast<int>(e.Uint(1));
    e.Uint(3);
    if (infe_version < 2) continue;  // no item type: not an image item
    const int id_bytes = infe_version == 2 ? 2 : 4;
    if (absl::Status s = e.Need(id_bytes + 2 + 4); !s.ok()) return s;
    const uint32_t id = static_cast<uint32_t>(e.Uint(id_bytes));
    e.Uint(2);  // protection index
    meta.items[id].type = static_cast<uint32_t>(e.Uint(4));
  }
  return absl::OkStatus();
}

absl::Status ReadIloc(const unsigned char* p, const Box& iloc, Meta& meta) {
  Reader r(p, iloc.body, iloc.end, iloc.type);
  if (absl::Status s = r.Need(6); !s.ok()) return s;
  const int version = static_cast<int>(r.Uint(1));
  r.Uint(3);
  if (version > 2) return Unsupported(absl::StrCat("iloc version ", version));
  const int sizes = static_cast<int>(r.Uint(2));
  const int offset_size = sizes >> 12, length_size = (sizes >> 8) & 15, base_offset_size = (sizes >> 4) & 15;
  const int index_size = version >= 1 ? sizes & 15 : 0;
  for (int size : {offset_size, length_size, base_offset_size, index_size}) {
    if (size != 0 && size != 4 && size != 8) return Malformed(absl::StrCat("iloc field size ", size));
  }
  const int count_bytes = version < 2 ? 2 : 4;
  if (absl::Status s = r.Need(count_bytes); !s.ok()) return s;
  const uint64_t count = r.Uint(count_bytes);
  if (count > kMaxHeifItems) {
    return Unsupported(absl::StrCat("iloc locates ", count, " items, over the limit of ", kMaxHeifItems));
  }
  for (uint64_t k = 0; k < count; ++k) {
    if (absl::Status s = r.Need(count_bytes + (version >= 1 ? 2 : 0) + 2 + base_offset_size + 2); !s.ok()) return s;
    Item& item = meta.items[static_cast<uint32_t>(r.Uint(count_bytes))];
    item.located = true;
    item.construction_method = version >= 1 ? static_cast<int>(r.Uint(2) & 15) : 0;
    r.Uint(2);  // data reference index
    const uint64_t base = r.Uint(base_offset_size);
    const uint64_t extents = r.Uint(2);
    // libheif's own bound (MAX_ILOC_EXTENTS_PER_ITEM).
    if (extents > 32) return Unsupported(absl::StrCat("an iloc item with ", extents, " extents (at most 32)"));
    item.extents.clear();
    for (uint64_t e = 0; e < extents; ++e) {
      if (absl::Status s = r.Need(index_size + offset_size + length_size); !s.ok()) return s;
      r.Uint(index_size);
      Extent extent;
      extent.offset = base + r.Uint(offset_size);
      extent.length = r.Uint(length_size);
      item.extents.push_back(extent);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadIref(const unsigned char* p, const Box& iref, Meta& meta) {
  Reader r(p, iref.body, iref.end, iref.type);
  if (absl::Status s = r.Need(4); !s.ok()) return s;
  const int id_bytes = r.Uint(1) == 0 ? 2 : 4;
  r.Uint(3);
  for (size_t at = r.at(); at < iref.end;) {
    absl::StatusOr<Box> box = ReadBox(p, at, iref.end, "'iref'");
    if (!box.ok()) return box.status();
    at = box->end;
    Reader b(p, box->body, box->end, box->type);
    if (absl::Status s = b.Need(id_bytes + 2); !s.ok()) return s;
    Reference reference;
    reference.type = box->type;
    reference.from = static_cast<uint32_t>(b.Uint(id_bytes));
    const uint64_t count = b.Uint(2);
    if (absl::Status s = b.Need(count * id_bytes); !s.ok()) return s;
    for (uint64_t k = 0; k < count; ++k) reference.to.push_back(static_cast<uint32_t>(b.Uint(id_bytes)));
    meta.references.push_back(std::move(reference));
  }
  return absl::OkStatus();
}

absl::Status ReadIprp(const unsigned char* p, const Box& iprp, Meta& meta) {
  for (size_t at = iprp.body; at < iprp.end;) {
    absl::StatusOr<Box> box = ReadBox(p, at, iprp.end, "'iprp'");
    if (!box.ok()) return box.status();
    at = box->end;
    if (box->type == FourCc("ipco")) {
      for (size_t c = box->body; c < box->end;) {
        absl::StatusOr<Box> property = ReadBox(p, c, box->end, "'ipco'");
        if (!property.ok()) return property.status();
        c = property->end;
        meta.properties.push_back(*property);
      }
    } else if (box->type == FourCc("ipma")) {
      Reader r(p, box->body, box->end, box->type);
      if (absl::Status s = r.Need(8); !s.ok()) return s;
      const int version = static_cast<int>(r.Uint(1));
      const bool wide_index = (r.Uint(3) & 1) != 0;
      const uint64_t count = r.Uint(4);
      if (count > kMaxHeifItems) {
        return Unsupported(absl::StrCat("ipma lists ", count, " items, over the limit of ", kMaxHeifItems));
      }
      const int id_bytes = version < 1 ? 2 : 4;
      for (uint64_t k = 0; k < count; ++k) {
        if (absl::Status s = r.Need(id_bytes + 1); !s.ok()) return s;
        Item& item = meta.items[static_cast<uint32_t>(r.Uint(id_bytes))];
        const uint64_t associations = r.Uint(1);
        if (absl::Status s = r.Need(associations * (wide_index ? 2 : 1)); !s.ok()) return s;
        for (uint64_t a = 0; a < associations; ++a) {
          const uint64_t value = r.Uint(wide_index ? 2 : 1);
          item.properties.push_back(static_cast<uint16_t>(value & (wide_index ? 0x7FFF : 0x7F)));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Meta> ReadMeta(const unsigned char* p, const Box& meta_box) {
  Meta meta;
  if (meta_box.end - meta_box.body < 4) return Malformed("'meta' box without its version");
  bool picture_handler = false;
  for (size_t at = meta_box.body + 4; at < meta_box.end;) {
    absl::StatusOr<Box> box = ReadBox(p, at, meta_box.end, "'meta'");
    if (!box.ok()) return box.status();
    at = box->end;
    absl::Status status;
    switch (box->type) {
      case FourCc("hdlr"):
        picture_handler = box->end - box->body >= 12 && Be32(p + box->body + 8) == FourCc("pict");
        break;
      case FourCc("pitm"): {
        Reader r(p, box->body, box->end, box->type);
        if (status = r.Need(4); !status.ok()) break;
        const int id_bytes = r.Uint(1) == 0 ? 2 : 4;
        r.Uint(3);
        if (status = r.Need(id_bytes); !status.ok()) break;
        meta.primary = static_cast<uint32_t>(r.Uint(id_bytes));
        meta.has_primary = true;
        break;
      }
      case FourCc("iinf"): status = ReadIinf(p, *box, meta); break;
      case FourCc("iloc"): status = ReadIloc(p, *box, meta); break;
      case FourCc("iref"): status = ReadIref(p, *box, meta); break;
      case FourCc("iprp"): status = ReadIprp(p, *box, meta); break;
      case FourCc("idat"):
        meta.idat = *box;
        meta.has_idat = true;
        break;
      default: break;
    }
    if (!status.ok()) return status;
    if (meta.items.size() > kMaxHeifItems) {
      return Unsupported(absl::StrCat("more than ", kMaxHeifItems, " items"));
    }
  }
  if (!picture_handler) return Unsupported("the 'meta' box has no 'pict' handler (not an image file)");
  if (!meta.has_primary) return Malformed("no primary item ('pitm')");
  return meta;
}

// The bytes of an item in one piece: its extents, which must lie within the file (or its idat).
absl::StatusOr<std::string> ItemData(const unsigned char* p, size_t n, const Meta& meta, uint32_t id,
                                     size_t max_bytes) {
  auto it = meta.items.find(id);
  if (it == meta.items.end() || !it->second.located) return Malformed(absl::StrCat("item ", id, " has no location"));
  const Item& item = it->second;
  size_t base = 0, end = n;
  if (item.construction_method == 1) {
    if (!meta.has_idat) return Malformed(absl::StrCat("item ", id, " is in an 'idat' box the file lacks"));
    base = meta.idat.body;
    end = meta.idat.end;
  } else if (item.construction_method != 0) {
    return Unsupported(absl::StrCat("item ", id, " construction method ", item.construction_method));
  }
  std::string data;
  for (const Extent& extent : item.extents) {
    const uint64_t length =
        extent.length == 0 ? (end - base >= extent.offset ? end - base - extent.offset : 0) : extent.length;
    if (extent.offset > end - base || length > end - base - extent.offset) {
      return Truncated(absl::StrCat("item ", id, " lies at ", extent.offset, "+", length, ", beyond the data"));
    }
    if (length > max_bytes - data.size()) return Malformed(absl::StrCat("item ", id, " is too long"));
    data.append(reinterpret_cast<const char*>(p + base + extent.offset), length);
  }
  return data;
}

// Checks that a coded item's extents lie within the data, without copying them.
absl::Status CheckItemInData(size_t n, const Meta& meta, uint32_t id) {
  const Item& item = meta.items.at(id);
  if (!item.located || item.extents.empty()) return Malformed(absl::StrCat("item ", id, " has no location"));
  const size_t end = item.construction_method == 1 && meta.has_idat ? meta.idat.end - meta.idat.body : n;
  for (const Extent& extent : item.extents) {
    if (extent.offset > end || extent.length > end - extent.offset) {
      return Truncated(absl::StrCat("item ", id, "'s data lies at ", extent.offset, "+", extent.length, "; the ",
                                    item.construction_method == 1 ? "idat box" : "file", " has ", end, " bytes"));
    }
  }
  return absl::OkStatus();
}

const Box* Property(const Meta& meta, uint32_t id, uint32_t type) {
  auto it = meta.items.find(id);
  if (it == meta.items.end()) return nullptr;
  for (uint16_t index : it->second.properties) {
    if (index >= 1 && index <= meta.properties.size() && meta.properties[index - 1].type == type) {
      return &meta.properties[index - 1];
    }
  }
  return nullptr;
}

// ispe: the item's coded width and height.
absl::Status ItemSize(const unsigned char* p, const Meta& meta, uint32_t id, uint32_t& width, uint32_t& height) {
  const Box* ispe = Property(meta, id, FourCc("ispe"));
  if (ispe == nullptr) return Malformed(absl::StrCat("item ", id, " has no 'ispe' (its size)"));
  if (ispe->end - ispe->body < 12) return Malformed("'ispe' box too short");
  width = Be32(p + ispe->body + 4);
  height = Be32(p + ispe->body + 8);
  if (width == 0 || height == 0) return Malformed(absl::StrCat("item ", id, " is ", width, "x", height));
  return absl::OkStatus();
}

std::vector<uint32_t> ReferencesFrom(const Meta& meta, uint32_t from, uint32_t type) {
  std::vector<uint32_t> to;
  for (const Reference& r : meta.references) {
    if (r.type == type && r.from == from) to.insert(to.end(), r.to.begin(), r.to.end());
  }
  return to;
}

bool IsCodedType(uint32_t type, bool av1) { return type == (av1 ? FourCc("av01") : FourCc("hvc1")); }

// A coded image, or a grid of coded images whose output is width x height: what libheif decodes for it, bounded
// here. Grid tiles must be coded images, so a grid naming itself, another grid or anything else is refused (no
// recursion to follow).
absl::Status CheckImageItem(const unsigned char* p, size_t n, const Meta& meta, uint32_t id, bool av1,
                            HeifStructure* out) {
  auto it = meta.items.find(id);
  if (it == meta.items.end()) return Malformed(absl::StrCat("item ", id, " is not in 'iinf'"));
  const uint32_t type = it->second.type;
  uint32_t width = 0, height = 0;
  if (absl::Status s = ItemSize(p, meta, id, width, height); !s.ok()) return s;
  if (IsCodedType(type, av1)) return CheckItemInData(n, meta, id);
  if (type != FourCc("grid")) {
    return Unsupported(absl::StrCat("item ", id, " is of type ", TypeName(type), "; this server decodes ",
                                    av1 ? "'av01'" : "'hvc1'", " images and grids of them"));
  }
  absl::StatusOr<std::string> grid = ItemData(p, n, meta, id, 64);
  if (!grid.ok()) return grid.status();
  const auto* g = reinterpret_cast<const unsigned char*>(grid->data());
  if (grid->size() < 8 || g[0] != 0) return Malformed(absl::StrCat("grid item ", id, "'s description"));
  const bool wide = (g[1] & 1) != 0;
  if (grid->size() < (wide ? 12u : 8u)) return Malformed(absl::StrCat("grid item ", id, "'s description is short"));
  const int rows = g[2] + 1, columns = g[3] + 1;
  const uint32_t output_width = wide ? Be32(g + 4) : Be16(g + 4);
  const uint32_t output_height = wide ? Be32(g + 8) : Be16(g + 6);
  if (output_width != width || output_height != height) {
    return Malformed(absl::StrCat("grid item ", id, " makes ", output_width, "x", output_height,
                                  " but its 'ispe' says ", width, "x", height));
  }
  if (rows * columns > kMaxHeifItems) {
    return Unsupported(absl::StrCat("grid item ", id, " of ", rows, "x", columns, " = ", rows * columns,
                                    " tiles, over the limit of ", kMaxHeifItems));
  }
  const std::vector<uint32_t> tiles = ReferencesFrom(meta, id, FourCc("dimg"));
  if (static_cast<int>(tiles.size()) != rows * columns) {
    return Malformed(
        absl::StrCat("grid item ", id, " of ", rows, "x", columns, " tiles refers to ", tiles.size(), " tile images"));
  }
  uint32_t tile_width = 0, tile_height = 0;
  for (uint32_t tile : tiles) {
    auto t = meta.items.find(tile);
    if (t == meta.items.end()) return Malformed(absl::StrCat("grid tile ", tile, " is not in 'iinf'"));
    if (!IsCodedType(t->second.type, av1)) {
      return Unsupported(absl::StrCat("grid item ", id, "'s tile ", tile, " is of type ", TypeName(t->second.type),
                                      ", not a coded image (nested or recursive grids are refused)"));
    }
    uint32_t w = 0, h = 0;
    if (absl::Status s = ItemSize(p, meta, tile, w, h); !s.ok()) return s;
    if (tile_width == 0) {
      tile_width = w;
      tile_height = h;
    } else if (w != tile_width || h != tile_height) {
      return Malformed(absl::StrCat("grid item ", id, "'s tiles differ in size (", tile_width, "x", tile_height,
                                    " and ", w, "x", h, ")"));
    }
    if (absl::Status s = CheckItemInData(n, meta, tile); !s.ok()) return s;
  }
  // The tiles must cover the output and no whole row or column of them may lie outside it: the decoded tiles'
  // pixels are then bounded by the output's (checked against the limits) plus a tile's margin.
  const uint64_t covered_width = uint64_t{tile_width} * columns, covered_height = uint64_t{tile_height} * rows;
  if (covered_width < output_width || covered_height < output_height || covered_width - tile_width >= output_width ||
      covered_height - tile_height >= output_height) {
    return Malformed(absl::StrCat("grid item ", id, ": ", rows, "x", columns, " tiles of ", tile_width, "x",
                                  tile_height, " do not make its ", output_width, "x", output_height, " output"));
  }
  if (out != nullptr) {
    out->grid_rows = rows;
    out->grid_columns = columns;
    out->tile_width = static_cast<int>(tile_width);
    out->tile_height = static_cast<int>(tile_height);
  }
  return absl::OkStatus();
}

bool IsAlphaAuxiliary(const unsigned char* p, const Meta& meta, uint32_t id) {
  const Box* auxc = Property(meta, id, FourCc("auxC"));
  if (auxc == nullptr || auxc->end - auxc->body < 5) return false;
  const absl::string_view urn(reinterpret_cast<const char*>(p + auxc->body + 4), auxc->end - auxc->body - 4);
  const absl::string_view name = urn.substr(0, urn.find('\0'));
  return name == "urn:mpeg:hevc:2015:auxid:1" || name == "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha";
}

}  // namespace

bool IsHeifFile(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 16 || bytes.substr(4, 4) != "ftyp") return false;
  const size_t size = std::min<size_t>(Be32(p), bytes.size());
  static constexpr const char* kBrands[] = {"heic", "heix", "heim", "heis", "hevc",
                                            "hevx", "mif1", "msf1", "avif", "avis"};
  for (size_t at = 8; at + 4 <= size; at += at == 8 ? 8 : 4) {  // the major brand, then the compatible ones
    for (const char* brand : kBrands) {
      if (bytes.substr(at, 4) == brand) return true;
    }
  }
  return false;
}

absl::StatusOr<HeifStructure> ReadHeifStructure(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::optional<Box> meta_box;
  for (size_t at = 0; at < n;) {
    absl::StatusOr<Box> box = ReadBox(p, at, n, "the file");
    if (!box.ok()) return box.status();
    at = box->end;
    if (box->type == FourCc("meta")) {
      if (meta_box) return Malformed("two 'meta' boxes");
      meta_box = *box;
    }
  }
  if (!meta_box) return Malformed("no 'meta' box");
  absl::StatusOr<Meta> meta = ReadMeta(p, *meta_box);
  if (!meta.ok()) return meta.status();
  HeifStructure out;
  out.primary_item = meta->primary;
  auto primary = meta->items.find(meta->primary);
  if (primary == meta->items.end()) return Malformed(absl::StrCat("primary item ", meta->primary, " is not in 'iinf'"));
  uint32_t coded_type = primary->second.type;
  if (coded_type == FourCc("grid")) {
    const std::vector<uint32_t> tiles = ReferencesFrom(*meta, meta->primary, FourCc("dimg"));
    if (tiles.empty()) return Malformed("a grid without tiles");
    auto tile = meta->items.find(tiles.front());
    if (tile != meta->items.end()) coded_type = tile->second.type;
  }
  out.av1 = coded_type == FourCc("av01");
  if (absl::Status s = CheckImageItem(p, n, *meta, meta->primary, out.av1, &out); !s.ok()) return s;
  uint32_t width = 0, height = 0;
  if (absl::Status s = ItemSize(p, *meta, meta->primary, width, height); !s.ok()) return s;
  if (const Box* clap = Property(*meta, meta->primary, FourCc("clap")); clap != nullptr) {
    // Clean aperture: libheif crops to it. Its width and height as libheif rounds them (N / D, to nearest).
    if (clap->end - clap->body < 32) return Malformed("'clap' box too short");
    const uint32_t wn = Be32(p + clap->body), wd = Be32(p + clap->body + 4);
    const uint32_t hn = Be32(p + clap->body + 8), hd = Be32(p + clap->body + 12);
    if (wd == 0 || hd == 0) return Malformed("'clap' with a zero denominator");
    width = std::min<uint32_t>(width, static_cast<uint32_t>(std::lround(double(wn) / wd)));
    height = std::min<uint32_t>(height, static_cast<uint32_t>(std::lround(double(hn) / hd)));
  }
  out.clean_aperture = Property(*meta, meta->primary, FourCc("clap")) != nullptr;
  for (uint16_t index : primary->second.properties) {
    if (index < 1 || index > meta->properties.size()) continue;
    const Box& property = meta->properties[index - 1];
    if (property.end <= property.body) continue;
    if (property.type == FourCc("irot")) {
      const int quarters = p[property.body] & 3;
      out.rotation_ccw = (out.rotation_ccw + quarters * 90) % 360;
      if (quarters % 2 == 1) std::swap(width, height);
      if (quarters != 0) out.transforms.push_back({'r', quarters});
    } else if (property.type == FourCc("imir")) {
      out.mirrored = true;
      out.transforms.push_back({'m', p[property.body] & 1});
    }
  }
  out.width = static_cast<int>(std::min<uint32_t>(width, INT32_MAX));
  out.height = static_cast<int>(std::min<uint32_t>(height, INT32_MAX));
  const uint32_t pixi_item =
      out.grid_rows > 0 ? ReferencesFrom(*meta, meta->primary, FourCc("dimg")).front() : meta->primary;
  for (uint32_t id : {meta->primary, pixi_item}) {
    if (const Box* pixi = Property(*meta, id, FourCc("pixi")); pixi != nullptr && pixi->end - pixi->body >= 6) {
      out.monochrome = p[pixi->body + 4] == 1;
      out.bits_per_channel = p[pixi->body + 5];
      break;
    }
  }
  if (const Box* colr = Property(*meta, meta->primary, FourCc("colr")); colr != nullptr) {
    for (const Box& property : meta->properties) {  // an image may carry both an nclx and an ICC colr
      const auto& associated = primary->second.properties;
      const auto index = static_cast<uint16_t>(&property - meta->properties.data() + 1);
      if (property.type != FourCc("colr") ||
          std::find(associated.begin(), associated.end(), index) == associated.end() ||
          property.end - property.body < 4) {
        continue;
      }
      const uint32_t kind = Be32(p + property.body);
      if (kind == FourCc("prof") || kind == FourCc("rICC")) {
        out.icc = bytes.substr(property.body + 4, property.end - property.body - 4);
      } else if (kind == FourCc("nclx") && property.end - property.body >= 11) {
        out.nclx = true;
        out.nclx_primaries = static_cast<uint16_t>(Be16(p + property.body + 4));
        out.nclx_transfer = static_cast<uint16_t>(Be16(p + property.body + 6));
        out.nclx_matrix = static_cast<uint16_t>(Be16(p + property.body + 8));
      }
    }
  }
  for (const Reference& r : meta->references) {
    const bool about_primary = std::find(r.to.begin(), r.to.end(), meta->primary) != r.to.end();
    if (!about_primary || meta->items.count(r.from) == 0) continue;
    if (r.type == FourCc("auxl") && IsAlphaAuxiliary(p, *meta, r.from)) {
      // libheif decodes the alpha item too: it is bounded like the primary one, and must have its size.
      if (absl::Status s = CheckImageItem(p, n, *meta, r.from, out.av1, nullptr); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("the alpha plane: ", s.message()));
      }
      uint32_t alpha_width = 0, alpha_height = 0, coded_width = 0, coded_height = 0;
      if (absl::Status s = ItemSize(p, *meta, r.from, alpha_width, alpha_height); !s.ok()) return s;
      if (absl::Status s = ItemSize(p, *meta, meta->primary, coded_width, coded_height); !s.ok()) return s;
      if (alpha_width != coded_width || alpha_height != coded_height) {
        return Malformed(absl::StrCat("the alpha plane is ", alpha_width, "x", alpha_height, ", the image ",
                                      coded_width, "x", coded_height));
      }
      out.alpha = true;
    }
    if (r.type == FourCc("cdsc") && meta->items.at(r.from).type == FourCc("Exif") && out.exif.empty()) {
      const Item& item = meta->items.at(r.from);
      if (item.construction_method == 0 && item.extents.size() == 1 && item.extents[0].length >= 4 &&
          item.extents[0].offset <= n && item.extents[0].length <= n - item.extents[0].offset) {
        out.exif = bytes.substr(item.extents[0].offset, item.extents[0].length);
      }
    }
  }
  return out;
}

absl::StatusOr<ImageHeader> ReadHeifHeader(absl::string_view bytes) {
  absl::StatusOr<HeifStructure> heif = ReadHeifStructure(bytes);
  if (!heif.ok()) return heif.status();
  ImageHeader header{ImageFormat::kHeif};
  header.width = heif->width;
  header.height = heif->height;
  header.channels = (heif->monochrome ? 1 : 3) + (heif->alpha ? 1 : 0);
  header.heif_av1 = heif->av1;
  header.heif_bits = heif->bits_per_channel;
  header.heif_tiles = heif->grid_rows * heif->grid_columns;
  return header;
}

absl::string_view HeifExifTiff(absl::string_view exif_item) {
  if (exif_item.size() < 4) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(exif_item.data());
  const uint32_t offset = Be32(p);
  if (offset > exif_item.size() - 4) return {};
  absl::string_view tiff = exif_item.substr(4 + offset);
  if (tiff.substr(0, 6) == absl::string_view("Exif\0\0", 6)) tiff.remove_prefix(6);
  return tiff;
}

}  // namespace imgproc
