#include "common/image_spec.h"

#include <opencv2/core.hpp>

#include "absl/strings/str_format.h"

namespace imgproc {

int ImageSpec::cv_type() const { return depth == Depth::kU8 ? CV_8UC(channels) : CV_32FC(channels); }

std::string ImageSpec::DebugString() const {
  return absl::StrFormat("%dx%dx%d %s", width, height, channels, DepthName(depth));
}

const char* DepthName(Depth depth) { return depth == Depth::kU8 ? "uint8" : "float32"; }

}  // namespace imgproc
