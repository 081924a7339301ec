#pragma once
// The marker segments of a JPEG stream before its first scan, where writers put APPn (EXIF, XMP, ICC profiles):
// one walk that the colour and the metadata readers share.

#include <cstddef>

#include "absl/strings/string_view.h"

namespace imgproc {

// Calls visit(marker, payload) for each segment with a length from SOI to the first SOS or EOI, `payload` being the
// bytes after the length field. Stops at the first byte that is no marker or a length past the data (the header walk
// has refused such files before any reader runs).
template <typename Visit>
void ForEachJpegSegmentBeforeScan(const unsigned char* p, size_t n, Visit&& visit) {
  for (size_t i = 2; i + 4 <= n;) {
    if (p[i] != 0xFF) return;
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length field
      i += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return;
    const size_t length = (size_t{p[i + 2]} << 8) | p[i + 3];
    if (length < 2 || length > n - i - 2) return;
    visit(marker, absl::string_view(reinterpret_cast<const char*>(p + i + 4), length - 2));
    i += 2 + length;
  }
}

}  // namespace imgproc
