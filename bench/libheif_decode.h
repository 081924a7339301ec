#pragma once
// A HEIC/AVIF file's primary image decoded by libheif itself (not the server's path), as 8-bit BGR: the
// independent decoder the benchmarks compare against and check answers with.

#include <opencv2/core.hpp>
#include <string>

namespace imgproc::bench {

// Empty when libheif does not decode it.
cv::Mat DecodeWithLibheif(const std::string& bytes);

}  // namespace imgproc::bench
