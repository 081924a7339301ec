#pragma once
// fuzz_heif's body (issue 30), apart from its entry point so that the unit tests run it too (unit_tests links other
// fuzz targets' files, and one binary can have only one LLVMFuzzerTestOneInput).

#include <cstddef>
#include <cstdint>

namespace imgproc::fuzz {

// `data` through the HEIF/AVIF front door: the box walk (codec/heif_header.h), the image header and its limits (a
// 4-megapixel bound keeps each decode small), the colour source and the metadata extraction, and libheif's decode
// into the predicted shape. Anything but a clean status or image is a finding.
void HeifInput(const uint8_t* data, size_t size);

}  // namespace imgproc::fuzz
