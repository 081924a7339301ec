#pragma once
// libtiff reading a request's bytes in place (TIFFClientOpenExt), for codec/tiff_decode.h: no copy of the file, and
// libtiff's messages kept per handle (libtiff 4.5's open options) instead of printed by its process-wide handlers.

#include <tiffio.h>

#include <cstdint>
#include <memory>
#include <string>

namespace imgproc {

struct TiffMemoryFile {
  const unsigned char* data = nullptr;
  uint64_t size = 0;
  uint64_t position = 0;
  std::string first_error;  // libtiff's first error message for this file; its warnings are dropped
};

struct TiffCloser {
  void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

// Opens `file` (which must outlive the handle) for reading its first directory; null when libtiff cannot, and
// file->first_error then says why. libtiff's own allocations are capped (512 MiB each: its buffers are bounded by
// the image, which the header limits bound, whatever a file declares).
TiffHandle OpenTiffInMemory(TiffMemoryFile* file);

}  // namespace imgproc
