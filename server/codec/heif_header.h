#pragma once
// HEIF (HEIC, AVIF) read from its boxes without decoding a pixel (issue 30): the primary item, its size after
// rotation, its grid, alpha, bit depth, colour (colr) and EXIF item. The boxes are walked by our own code, not
// libheif's, because libheif 1.15 reads a grid's output size only when it decodes, and bounds it by a side limit
// (32768) rather than a pixel count: a few KB declaring a 64k x 64k grid of 65,536 tiles must be refused here,
// naming our limit, before libheif allocates anything.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image_header.h"

namespace imgproc {

// The most items a file may list: an iPhone's 48 MP photo has 96 tiles plus a thumbnail, EXIF and XMP; libheif
// itself takes up to 20,000 (MAX_ILOC_ITEMS), each one a decoder start for a grid tile.
inline constexpr int kMaxHeifItems = 4096;

struct HeifStructure {
  bool av1 = false;  // AVIF (av01 items), else HEVC (hvc1)
  uint32_t primary_item = 0;
  int width = 0, height = 0;  // as displayed: after irot (a quarter or three-quarter turn swaps them)
  int rotation_ccw = 0;       // irot: 0, 90, 180, 270 degrees anticlockwise
  bool mirrored = false;      // imir
  // The primary item's irot and imir in the order its ipma lists them (the order they apply in): quarter turns
  // anticlockwise (1-3) as 'r', or a mirror as 'm' (axis 1: left to right, 0: top to bottom, as libheif 1.15 and
  // avifenc read it).
  struct Transform {
    char kind;
    int value;
  };
  std::vector<Transform> transforms;
  bool clean_aperture = false;          // a clap crop, which libheif applies
  int grid_rows = 0, grid_columns = 0;  // 0 when the primary item is a single coded image
  int tile_width = 0, tile_height = 0;
  bool alpha = false;  // an auxiliary alpha item refers to the primary item
  bool monochrome = false;
  int bits_per_channel = 8;  // pixi, when present
  // colr: an ICC profile (prof/rICC) and/or an nclx box (ISO/IEC 23091-2 code points).
  absl::string_view icc;
  bool nclx = false;
  uint16_t nclx_primaries = 2, nclx_transfer = 2, nclx_matrix = 2;  // 2: unspecified
  // The Exif item that describes the primary item (cdsc), as stored: a 4-byte offset to the TIFF header, then the
  // block (in one extent; empty otherwise or when there is none).
  absl::string_view exif;
};

// INVALID_ARGUMENT for a malformed, truncated or unsupported file, naming the box. Linear in the file's boxes; every
// count is bounded (kMaxHeifItems) before anything is allocated by it.
absl::StatusOr<HeifStructure> ReadHeifStructure(absl::string_view bytes);

// True when the data opens with an ftyp box naming a HEIF or AVIF brand (heic, heix, heim, heis, hevc, hevx, mif1,
// msf1, avif, avis), as major or compatible brand.
bool IsHeifFile(absl::string_view bytes);

// The ImageHeader of a HEIF file (format kHeif); the EXIF orientation is 1 since irot/imir are the truth in HEIF
// and libheif applies them (ISO/IEC 23008-12: the EXIF tag is informative).
absl::StatusOr<ImageHeader> ReadHeifHeader(absl::string_view bytes);

// The EXIF item's TIFF structure (the bytes after its offset field, skipping a JPEG-style "Exif\0\0" prefix);
// empty when there is none.
absl::string_view HeifExifTiff(absl::string_view exif_item);

}  // namespace imgproc
