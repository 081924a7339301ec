#pragma once

#include <cstdint>
#include <string>

namespace imgproc {

// Element type of pixels flowing through a chain. Decoded images are uint8, or uint16 when the request asks for a
// 16-bit decode (ProcessRequest.decode_depth); Normalize makes float32. float16 is only ever a raw answer's type
// (OutputSpec::raw_depth): no operation takes or makes it.
enum class Depth { kU8, kU16, kF32, kF16 };

// What a step knows about its input before any pixel exists: validation tracks this through the chain.
struct ImageSpec {
  int width = 0;
  int height = 0;
  int channels = 0;
  Depth depth = Depth::kU8;

  int64_t pixels() const { return int64_t{width} * height; }
  int cv_type() const;              // CV_8UC(n), CV_16UC(n) or CV_32FC(n)
  std::string DebugString() const;  // "1920x1080x3 uint8"
  bool operator==(const ImageSpec& o) const {
    return width == o.width && height == o.height && channels == o.channels && depth == o.depth;
  }
};

const char* DepthName(Depth depth);  // "uint8", "uint16", "float32", "float16"
int DepthBytes(Depth depth);         // bytes of one value: 1, 2, 4, 2
int CvDepth(Depth depth);            // CV_8U, CV_16U, CV_32F, CV_16F

}  // namespace imgproc
