// libFuzzer target: colour information (issue 29): the container walks of codec/color_profile.h (JPEG APP2
// ICC_PROFILE segments, PNG iCCP/sRGB/gAMA/cHRM, WebP ICCP, TIFF tag 34675) and lcms2's parsing and transform
// building under codec/color_transform.h's capped allocator (tests/fuzz/color_profile_input.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/color_profile_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgproc::fuzz::ColorProfileInput(data, size);
  return 0;
}
