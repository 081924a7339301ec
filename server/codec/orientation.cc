#include "codec/orientation.h"

#include <cstdint>
#include <utility>

#if IMGPROC_WITH_CUDA
#include <opencv2/cudawarping.hpp>
#endif

namespace imgproc {

int ParseExifOrientation(const unsigned char* tiff, size_t size) {
  if (size < 8) return 1;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
  auto u16 = [&](size_t at) -> uint32_t {
    return little ? tiff[at] | tiff[at + 1] << 8 : tiff[at] << 8 | tiff[at + 1];
  };
  auto u32 = [&](size_t at) -> uint32_t { return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2); };
  if (u16(2) != 42) return 1;
  const uint32_t ifd = u32(4);
  if (ifd > size - 2) return 1;
  const uint32_t entries = u16(ifd);
  for (uint32_t e = 0; e < entries; ++e) {
    const size_t at = ifd + 2 + size_t{12} * e;
    if (at + 12 > size) return 1;
    if (u16(at) != 0x0112) continue;
    constexpr uint32_t kShort = 3;
    if (u16(at + 2) != kShort || u32(at + 4) != 1) return 1;
    const uint32_t value = u16(at + 8);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

ImageSpec Oriented(const ImageSpec& stored, int orientation) {
  ImageSpec spec = stored;
  if (orientation >= 5) std::swap(spec.width, spec.height);
  return spec;
}

void ApplyOrientation(cv::Mat& image, int orientation) {
  if (orientation >= 5) cv::transpose(image, image);
  switch (orientation) {
    case 2:
    case 6: cv::flip(image, image, 1); break;
    case 3:
    case 7: cv::flip(image, image, -1); break;
    case 4:
    case 8: cv::flip(image, image, 0); break;
    default: break;
  }
}

#if IMGPROC_WITH_CUDA
void ApplyOrientation(const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, int orientation, cv::cuda::Stream& stream) {
  // As a warp with integer coefficients and nearest sampling: every destination pixel reads exactly one source
  // pixel. cv::cuda::transpose takes only 1-, 4- and 8-byte pixels, not BGR.
  const double w = in.cols - 1, h = in.rows - 1;
  // Destination (x', y') from source (x, y), per tag; 5-8 transpose first, as ApplyOrientation(cv::Mat&).
  double m[6] = {1, 0, 0, 0, 1, 0};
  switch (orientation) {
    case 2:
      m[0] = -1;
      m[2] = w;
      break;
    case 3:
      m[0] = -1;
      m[2] = w;
      m[4] = -1;
      m[5] = h;
      break;
    case 4:
      m[4] = -1;
      m[5] = h;
      break;
    case 5:
      m[0] = 0;
      m[1] = 1;
      m[3] = 1;
      m[4] = 0;
      break;
    case 6:
      m[0] = 0;
      m[1] = -1;
      m[2] = h;
      m[3] = 1;
      m[4] = 0;
      break;
    case 7:
      m[0] = 0;
      m[1] = -1;
      m[2] = h;
      m[3] = -1;
      m[4] = 0;
      m[5] = w;
      break;
    case 8:
      m[0] = 0;
      m[1] = 1;
      m[3] = -1;
      m[4] = 0;
      m[5] = w;
      break;
    default: break;
  }
  const cv::Size size = orientation >= 5 ? cv::Size(in.rows, in.cols) : in.size();
  cv::cuda::warpAffine(in, out, cv::Mat(2, 3, CV_64F, m).clone(), size, cv::INTER_NEAREST, cv::BORDER_REPLICATE,
                       cv::Scalar(), stream);
}
#endif

}  // namespace imgproc
