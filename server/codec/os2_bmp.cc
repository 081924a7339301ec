#include "codec/os2_bmp.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

uint32_t Le16(const unsigned char* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t Le32(const unsigned char* p) { return Le16(p) | (Le16(p + 2) << 16); }

constexpr size_t kFileHeaderBytes = 14, kCoreHeaderBytes = 12;

}  // namespace

bool IsOs2CoreBmp(absl::string_view bytes) {
  return bytes.size() >= kFileHeaderBytes + kCoreHeaderBytes && bytes.substr(0, 2) == "BM" &&
         Le32(reinterpret_cast<const unsigned char*>(bytes.data()) + kFileHeaderBytes) == kCoreHeaderBytes;
}

absl::StatusOr<cv::Mat> DecodeOs2CoreBmp(absl::string_view bytes) {
  if (!IsOs2CoreBmp(bytes)) return absl::InvalidArgumentError("could not decode bmp: not an OS/2 1.x bitmap");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t n = bytes.size();
  const uint64_t data_offset = Le32(p + 10);
  const int width = static_cast<int>(Le16(p + 18)), height = static_cast<int>(Le16(p + 20));
  const uint32_t bits = Le16(p + 24);
  if (bits != 1 && bits != 4 && bits != 8 && bits != 24) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported bmp image: OS/2 bitmap of ", bits, " bits per pixel"));
  }
  if (width == 0 || height == 0) return absl::InvalidArgumentError("could not decode bmp: no image size");
  const uint64_t palette_start = kFileHeaderBytes + kCoreHeaderBytes;
  if (data_offset < palette_start || data_offset > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode bmp: pixel data offset ", data_offset, " outside the data"));
  }
  // The palette runs from the header to the pixel data: up to 2^bits entries of blue, green, red.
  const uint64_t entries = bits <= 8 ? std::min<uint64_t>(uint64_t{1} << bits, (data_offset - palette_start) / 3) : 0;
  const uint64_t stride = (uint64_t{static_cast<uint32_t>(width)} * bits + 31) / 32 * 4;
  const uint64_t row_bytes = (uint64_t{static_cast<uint32_t>(width)} * bits + 7) / 8;
  if (data_offset + stride * (height - 1) + row_bytes > n) {
    return absl::InvalidArgumentError(absl::StrCat("could not decode bmp: ", width, "x", height,
                                                   " pixel rows run past the end of the data (truncated)"));
  }
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    const unsigned char* row = p + data_offset + stride * (height - 1 - y);  // bottom-up
    uint8_t* out = image.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x, out += 3) {
      if (bits == 24) {
        out[0] = row[3 * x], out[1] = row[3 * x + 1], out[2] = row[3 * x + 2];
        continue;
      }
      const uint64_t bit = uint64_t{static_cast<uint32_t>(x)} * bits;
      const uint32_t index = (row[bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
      if (index < entries) {
        const unsigned char* colour = p + palette_start + 3 * index;
        out[0] = colour[0], out[1] = colour[1], out[2] = colour[2];
      } else {
        out[0] = out[1] = out[2] = 0;
      }
    }
  }
  return image;
}

}  // namespace imgproc
