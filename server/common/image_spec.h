#pragma once

#include <cstdint>
#include <string>

namespace imgproc {

// Element type of pixels flowing through a chain. Decoded images are uint8; Normalize makes float32.
enum class Depth { kU8, kF32 };

// What a step knows about its input before any pixel exists: validation tracks this through the chain.
struct ImageSpec {
  int width = 0;
  int height = 0;
  int channels = 0;
  Depth depth = Depth::kU8;

  int64_t pixels() const { return int64_t{width} * height; }
  int cv_type() const;              // CV_8UC(n) or CV_32FC(n)
  std::string DebugString() const;  // "1920x1080x3 uint8"
  bool operator==(const ImageSpec& o) const {
    return width == o.width && height == o.height && channels == o.channels && depth == o.depth;
  }
};

const char* DepthName(Depth depth);

}  // namespace imgproc
