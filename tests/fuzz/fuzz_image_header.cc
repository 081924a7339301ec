// libFuzzer target: the header parsers, which read every request's bytes before anything else (format, size,
// channels, frames, JPEG scans, EXIF orientation).
#include <cstddef>
#include <cstdint>

#include "codec/image_header.h"
#include "codec/orientation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)imgproc::ReadImageHeader(bytes);
  (void)imgproc::ParseExifOrientation(data, size);
  return 0;
}
