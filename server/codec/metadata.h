#pragma once
// Metadata an answer keeps (MetadataPolicy, codec/metadata_policy.h): read from the input when the plan is built,
// prepared for the answer's format, and spliced into the encoded answer on the CPU after whichever encoder made it
// (OpenCV, libjpeg-turbo or nvJPEG), so that every backend writes the same bytes.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codec/codec.h"
#include "codec/exif.h"
#include "codec/image_header.h"
#include "codec/metadata_policy.h"

namespace imgproc {

// Bounds on what is kept. EXIF comes from JPEG, where one APP1 segment holds it (65535 - 2 length bytes - "Exif\0\0"),
// and must go back into one; an XMP packet in a JPEG is one APP1 segment too (less its 29-byte namespace), PNG and
// WebP take larger ones; ICC profiles of LUT-based printer profiles reach a few megabytes.
inline constexpr size_t kMaxExifBytes = 65527;
inline constexpr size_t kMaxJpegXmpBytes = 65504;
inline constexpr size_t kMaxXmpBytes = size_t{1} << 20;
inline constexpr size_t kMaxIccProfileBytes = size_t{4} << 20;

// Metadata blocks found in an input, each whole and within its bound.
struct InputMetadata {
  // JPEG: the APP2 ICC_PROFILE segments reassembled in their sequence order; PNG: iCCP inflated; WebP: ICCP.
  std::optional<std::string> icc_profile;
  // The TIFF structure: JPEG's first APP1 "Exif\0\0" (less the prefix), PNG's eXIf, WebP's EXIF.
  std::optional<std::string> exif;
  // The packet: JPEG's APP1 "http://ns.adobe.com/xap/1.0/\0", PNG's iTXt "XML:com.adobe.xmp", WebP's "XMP ".
  std::optional<std::string> xmp;
  // Blocks present but not kept, each "what: why" (a profile's segments missing, a block over its bound).
  std::vector<std::string> problems;
};

// Reads the blocks the policy keeps from a JPEG, PNG or WebP (other formats: none); never fails, since a bad
// block costs only itself. Linear in the container's segments or chunks; inflating is bounded by the limits above.
InputMetadata ExtractMetadata(absl::string_view bytes, ImageFormat format, const MetadataPolicy& policy);

// What an answer carries, ready to splice into it.
struct OutputMetadata {
  // The profile to embed. Taken from the input here (MetadataPolicy::keep_icc_profile); a colour-managed pipeline
  // sets it to the profile its pixels are in.
  std::optional<std::string> icc_profile;
  std::optional<std::string> exif;  // rewritten (codec/exif.h)
  std::optional<std::string> xmp;
  std::vector<std::string> not_kept;  // blocks the input had and the policy asked for, but the answer lacks: why

  bool empty() const { return !icc_profile && !exif && !xmp; }
  // What the blocks add to an answer, within a few bytes of each container's framing.
  size_t bytes() const {
    return (icc_profile ? icc_profile->size() : 0) + (exif ? exif->size() : 0) + (xmp ? xmp->size() : 0);
  }
};

// The input's blocks as the policy and the answer's format want them: EXIF rewritten (`rewrite`), XMP's
// tiff:Orientation reset with EXIF's when `rewrite.reset_orientation`, blocks over the format's bounds left out.
OutputMetadata PrepareOutputMetadata(InputMetadata input, const MetadataPolicy& policy, OutputFormat format,
                                     const ExifRewrite& rewrite);

// Splices the blocks into an encoded JPEG (APP1 EXIF and XMP, APP2 ICC_PROFILE segments, after SOI and JFIF's APP0),
// PNG (iCCP, eXIf, iTXt after IHDR) or WebP (ICCP, EXIF, XMP chunks, the file made VP8X). INTERNAL when the
// encoder's output is not what it should be.
absl::Status EmbedMetadata(const OutputMetadata& metadata, OutputFormat format, std::string& encoded);

// Which blocks: what a format can carry (GetServerInfoResponse says it), what an answer carries (its response says it).
struct MetadataKinds {
  bool icc_profile = false;
  bool exif = false;
  bool xmp = false;
};
MetadataKinds MetadataSupportOf(OutputFormat format);
MetadataKinds KindsOf(const OutputMetadata& metadata);

}  // namespace imgproc
