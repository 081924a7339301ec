// libFuzzer target: HEIC/HEIF and AVIF input (issue 30): the box walk of codec/heif_header.h, the header's limits,
// colour and metadata, and libheif's decode with libde265 and dav1d (tests/fuzz/heif_input.h). Seeds:
// tests/fuzz/heif_seeds, written by the unit tests' encoders (unit.HeifFuzzSeedsTest).
#include <cstddef>
#include <cstdint>

#include "fuzz/heif_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgproc::fuzz::HeifInput(data, size);
  return 0;
}
