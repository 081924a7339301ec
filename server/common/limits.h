#pragma once

#include <cstdint>

namespace imgproc {

// What the server accepts. Checked from the image header before decoding and after every step of the
// chain, so that neither a hostile file nor a resize to 100000x100000 can allocate unbounded memory.
struct ImageLimits {
  int64_t max_input_bytes = 64 << 20;
  int max_width = 16384;
  int max_height = 16384;
  int64_t max_pixels = 100'000'000;
  int max_operations = 64;
  // A progressive JPEG's decode cost grows with scans x blocks, and nothing else bounds the scans: a 64 KiB file
  // repeating an empty scan 3,000 times took 7.7 s of a worker. Encoders write about 10.
  int max_jpeg_scans = 100;
};

}  // namespace imgproc
