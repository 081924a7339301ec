#include "fuzz/heif_input.h"

#include <cstdlib>

#include "codec/codec.h"
#include "codec/color_profile.h"
#include "codec/heif_header.h"
#include "codec/metadata.h"

namespace imgproc::fuzz {

void HeifInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)ReadHeifStructure(bytes);  // reached even where the ftyp brand is mutated away
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  if (!header.ok()) return;
  ImageLimits limits;
  limits.max_pixels = 4'000'000;
  if (!CheckHeaderLimits(*header, size, limits).ok()) return;
  (void)ReadColorSource(bytes, *header);
  MetadataPolicy keep_all;
  keep_all.keep_icc_profile = true;
  keep_all.keep_xmp = true;
  keep_all.exif = ExifPolicy::kKeep;
  (void)ExtractMetadata(bytes, header->format, keep_all);
  const DecodeMode mode = static_cast<DecodeMode>(size % 3);
  const ImageSpec expected = DecodedSpec(*header, mode);
  absl::StatusOr<cv::Mat> decoded = Decode(bytes, *header, mode, expected);
  if (!decoded.ok()) {
    if (!absl::IsInvalidArgument(decoded.status())) std::abort();  // the decoder's failures are the input's
    return;
  }
  if (decoded->cols != expected.width || decoded->rows != expected.height || decoded->channels() != expected.channels) {
    std::abort();
  }
}

}  // namespace imgproc::fuzz
