#pragma once
// fuzz_color_profile's body, apart from its entry point so that the unit tests run it too (unit_tests links other
// fuzz targets' files, and one binary can have only one LLVMFuzzerTestOneInput).

#include <cstddef>
#include <cstdint>

namespace imgproc::fuzz {

// `data` as an image (its colour information found and its transform built through a small cache) and as an ICC
// profile (handed to lcms2); each transform that builds is applied to small images of every kind it takes.
void ColorProfileInput(const uint8_t* data, size_t size);

}  // namespace imgproc::fuzz
