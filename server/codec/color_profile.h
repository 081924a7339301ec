#pragma once
// Where an input's colours are defined, read from its container without decoding a pixel (issue 29): the ICC
// profile of a JPEG (APP2 ICC_PROFILE segments, reassembled by sequence number), a PNG (iCCP, inflated), a WebP
// (ICCP chunk) or a TIFF (tag 34675, through libtiff); a PNG's sRGB chunk, or its gAMA with or without cHRM.
// codec/color_transform.h turns what this finds into an lcms2 transform.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "codec/image_header.h"

namespace imgproc {

// The largest ICC profile read (reassembled, or inflated from a PNG's iCCP): real ones are a few hundred bytes
// (matrix/TRC) to about 1 MiB (printer LUTs); a JPEG could chain 255 segments of 64 KiB.
inline constexpr size_t kMaxColorProfileBytes = size_t{4} << 20;

enum class ColorSourceKind {
  kNone,      // no colour information: taken as sRGB
  kIcc,       // an embedded ICC profile (ColorSource::icc)
  kPngSrgb,   // a PNG's sRGB chunk: already sRGB
  kPngGamma,  // a PNG's gAMA (and cHRM): a profile is synthesised from them
};

struct ColorSource {
  ColorSourceKind kind = ColorSourceKind::kNone;
  std::shared_ptr<const std::string> icc;  // kIcc: the profile's bytes
  uint32_t png_gamma = 0;                  // kPngGamma: gAMA's value, the file gamma times 100000 (45455: 1/2.2)
  // kPngGamma with a cHRM chunk: white x, y, red x, y, green x, y, blue x, y, each times 100000.
  std::optional<std::array<uint32_t, 8>> png_chromaticities;
  // kIcc made by us from a HEIF's nclx code points (colour primaries and transfer, ISO/IEC 23091-2), not embedded.
  bool heif_nclx = false;
  // Why colour information that is there could not be read (segments missing, a profile over
  // kMaxColorProfileBytes, an iCCP that does not inflate); kind is then kNone. Empty otherwise.
  std::string problem;
};

// The colour information of an image whose header ReadImageHeader accepted (so its structure's lengths are
// checked). Linear in the segments or chunks before the image data; never fails: what cannot be read is said in
// ColorSource::problem. BMP and GIF carry none that is read. HEIF: its colr ICC profile, else its nclx made into
// a matrix/TRC profile for BT.709/sRGB, Display P3 and BT.2020 primaries with the sRGB or BT.709 transfer (kNone
// for BT.709 primaries: sRGB's); PQ and HLG are a problem (left as stored: no HDR tone mapping here).
ColorSource ReadColorSource(absl::string_view bytes, const ImageHeader& header);

}  // namespace imgproc
