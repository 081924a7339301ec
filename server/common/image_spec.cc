#include "common/image_spec.h"

#include <opencv2/core.hpp>

#include "absl/strings/str_format.h"

namespace imgproc {

int ImageSpec::cv_type() const { return CV_MAKETYPE(CvDepth(depth), channels); }

std::string ImageSpec::DebugString() const {
  return absl::StrFormat("%dx%dx%d %s", width, height, channels, DepthName(depth));
}

const char* DepthName(Depth depth) {
  switch (depth) {
    case Depth::kU8: return "uint8";
    case Depth::kU16: return "uint16";
    case Depth::kF32: return "float32";
  }
  return "?";
}

int DepthBytes(Depth depth) { return depth == Depth::kU8 ? 1 : depth == Depth::kU16 ? 2 : 4; }

int CvDepth(Depth depth) { return depth == Depth::kU8 ? CV_8U : depth == Depth::kU16 ? CV_16U : CV_32F; }

}  // namespace imgproc
