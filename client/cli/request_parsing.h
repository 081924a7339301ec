#pragma once
// A ProcessRequest's parts from the words of a command line, for imgproc-cli and imgproc-load. Errors are
// INVALID_ARGUMENT naming what does not parse and, where the proto has a list of them, the valid choices.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "imgproc/v1/imgproc.pb.h"

namespace imgproc::cli {

// "resize width=640 | gaussian_blur kernel_width=5 sigma_x=1.5" -> ProcessRequest.operations. Field and enum names
// are the proto's, lists comma-separated; an unknown operation, field or enum value is named with the choices.
absl::StatusOr<google::protobuf::RepeatedPtrField<imgproc::v1::Operation>> ParseOperationChain(
    const std::string& chain);

// The output spec from command-line words: format jpeg|png|webp|avif|heic|tiff|raw; quality (JPEG/WebP quality, PNG
// level; < 0: the server's default); for raw, dtype uint8|uint16|float32|float16 and layout hwc|chw.
absl::StatusOr<imgproc::v1::OutputSpec> MakeOutputSpec(const std::string& format, int quality, const std::string& dtype,
                                                       const std::string& layout);

// The encoder options beyond quality, for a spec MakeOutputSpec made: JPEG progressive, chroma_subsampling
// ("420", "422", "444"; "": the format's default) and optimize; AVIF and HEIC speed (< 0: the server's default)
// and chroma_subsampling. An error for an option the format does not take.
absl::Status SetEncoderOptions(bool progressive, const std::string& chroma_subsampling, bool optimize, int speed,
                               imgproc::v1::OutputSpec& spec);

// The metadata policy from a comma-separated list of icc, exif, xmp and copyright (EXIF's Copyright and Artist
// alone); "" or "none" strips everything. An error for another word, or exif with copyright.
absl::StatusOr<imgproc::v1::MetadataPolicy> ParseMetadataPolicy(const std::string& words);

}  // namespace imgproc::cli
