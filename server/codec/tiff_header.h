#pragma once
// The TIFF header stage (classic and BigTIFF): size, channels and orientation as codec/tiff_decode.h will hand the
// image over, read from the first directory without decoding. Every tag value, the directory itself and every
// strip or tile (offset + byte count) must lie within the data: a truncated or hostile file is refused here
// (INVALID_ARGUMENT, "malformed tiff header: ..."), before any decoder allocates for it, instead of decoding in
// part (issue 28, item 2). The walk reads each entry and each offset once: linear in the data's size whatever
// the counts claim (a count is checked against the bytes that remain before it is used).

#include <cstddef>

#include "absl/status/statusor.h"
#include "codec/image_header.h"

namespace imgproc {

// `p` starts with a TIFF or BigTIFF signature (II*\0, MM\0*, II+\0, MM\0+) and holds `n` >= 8 bytes.
absl::StatusOr<ImageHeader> ReadTiffHeader(const unsigned char* p, size_t n);

}  // namespace imgproc
