#pragma once
// EXIF blocks kept in an answer (codec/metadata.h) are rewritten, never copied: the answer's pixels are not the
// input's, so its Orientation (once the server applied it), its thumbnail (a small copy of the old pixels, often
// of the uncropped photo) and its pixel dimensions would lie. The rewrite reads the TIFF structure's IFD0, its EXIF
// and GPS IFDs and the EXIF IFD's interoperability IFD, and writes them anew in the same byte order, each value
// copied as it was read; IFD1 (the thumbnail) is not written.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

struct ExifRewrite {
  // The server turned the pixels upright: the Orientation tag, where present, becomes 1.
  bool reset_orientation = true;
  // Only IFD0's Copyright (0x8298) and Artist (0x013B): no camera, time or GPS data.
  bool copyright_only = false;
  // The answer's size, written into the EXIF IFD's PixelXDimension/PixelYDimension where they are present; 0 leaves
  // them as they were.
  int pixel_width = 0;
  int pixel_height = 0;
};

// The rewritten TIFF structure (what follows "Exif\0\0" in a JPEG's APP1), or "" when nothing is left to write (a
// copyright-only rewrite of a block with neither tag). INVALID_ARGUMENT, with the reason, when the block has no
// readable IFD0 (bad byte order mark, IFD0 beyond the data). Entries whose values lie outside the block, have an
// unknown type or a size beyond the block are dropped, as are sub-IFDs that do; an IFD is read once however often it
// is pointed to, so a loop ends. The MakerNote (0x927C) is dropped: vendors' notes hold offsets relative to the
// original file, which a rewrite moves. Linear in the block's size.
absl::StatusOr<std::string> RewriteExif(absl::string_view tiff, const ExifRewrite& rewrite);

// EXIF tags this server reads or writes.
inline constexpr uint16_t kExifTagOrientation = 0x0112;
inline constexpr uint16_t kExifTagArtist = 0x013B;
inline constexpr uint16_t kExifTagCopyright = 0x8298;
inline constexpr uint16_t kExifTagExifIfd = 0x8769;
inline constexpr uint16_t kExifTagGpsIfd = 0x8825;
inline constexpr uint16_t kExifTagInteropIfd = 0xA005;
inline constexpr uint16_t kExifTagPixelXDimension = 0xA002;
inline constexpr uint16_t kExifTagPixelYDimension = 0xA003;
inline constexpr uint16_t kExifTagMakerNote = 0x927C;

}  // namespace imgproc
