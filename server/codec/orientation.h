#pragma once
// EXIF orientation: phones store a photo as the sensor read it and record in the EXIF Orientation tag how to
// turn it upright. Applied by default after decoding, on the device that decoded, so that a 320x200 photo
// stored with "rotate 90" reaches the chain, and the answer, as 200x320 (what libvips, imgproxy and Pillow's
// exif_transpose show). The plan predicts the turned size from the header, so validation, limits and the answer
// agree before any pixel is decoded.

#include <cstddef>
#include <opencv2/core.hpp>

#include "common/image_spec.h"

#if IMGPROC_WITH_CUDA
#include <opencv2/core/cuda.hpp>
#endif

namespace imgproc {

// The Orientation tag (1-8) of a TIFF-structured EXIF block (what follows "Exif\0\0" in a JPEG's APP1 segment);
// 1 when absent, malformed or out of range: a bad tag never fails a request, the image is then used as stored.
int ParseExifOrientation(const unsigned char* tiff, size_t size);

// The image as it is after `orientation` is applied: width and height swap for 5-8.
ImageSpec Oriented(const ImageSpec& stored, int orientation);

// In place, as OpenCV's imread applies the tag (transpose and/or flips).
void ApplyOrientation(cv::Mat& image, int orientation);

#if IMGPROC_WITH_CUDA
// The same on the GPU into `out` (never `in`), queued on `stream`: an exact pixel permutation.
void ApplyOrientation(const cv::cuda::GpuMat& in, cv::cuda::GpuMat& out, int orientation, cv::cuda::Stream& stream);
#endif

}  // namespace imgproc
