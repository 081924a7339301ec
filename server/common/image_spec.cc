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
    case Depth::kF16: return "float16";
  }
  return "?";
}

int DepthBytes(Depth depth) {
  switch (depth) {
    case Depth::kU8: return 1;
    case Depth::kU16: return 2;
    case Depth::kF32: return 4;
    case Depth::kF16: return 2;
  }
  return 1;
}

int CvDepth(Depth depth) {
  switch (depth) {
    case Depth::kU8: return CV_8U;
    case Depth::kU16: return CV_16U;
    case Depth::kF32: return CV_32F;
    case Depth::kF16: return CV_16F;
  }
  return CV_8U;
}

}  // namespace imgproc
