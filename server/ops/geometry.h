#pragma once
// The geometry family's bound parameters (ops/geometry.cc binds them), which backends' kernels read.

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace imgproc {

struct ResizeParams {
  cv::Size size;
  int interpolation;  // cv::InterpolationFlags
};

struct CropParams {
  cv::Rect roi;
};

struct PadParams {
  int top, bottom, left, right;
  int border;
  cv::Scalar fill;  // BORDER_CONSTANT's colour
};

struct FlipParams {
  int code;  // cv::flip's: 1 left-right, 0 upside down, -1 both
};

// warp_affine, warp_perspective and rotate.
struct WarpParams {
  cv::Mat matrix;  // 2x3 or 3x3, CV_64F, always mapping source to destination
  cv::Size size;
  int interpolation = cv::INTER_LINEAR;
  int border = cv::BORDER_CONSTANT;
  cv::Scalar border_value;

  bool affine() const { return matrix.rows == 2; }
};

}  // namespace imgproc
