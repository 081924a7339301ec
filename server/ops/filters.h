#pragma once
// The filter family's bound parameters (ops/filters.cc binds them), which backends' kernels read. Borders are
// cv::BorderTypes, never BORDER_WRAP (filters refuse it).

#include <opencv2/core.hpp>

namespace imgproc {

struct GaussianBlurParams {
  cv::Size ksize;  // odd sides, derived from sigma where the request gave 0
  double sigma_x;
  double sigma_y;
  int border;
};

struct BoxFilterParams {
  cv::Size ksize;
  bool normalize;
  int border;
};

struct MedianBlurParams {
  int ksize;
};

struct BilateralFilterParams {
  int diameter;
  double sigma_color;
  double sigma_space;
  int border;
};

// Sobel and Laplacian compute in float32; a uint8 image gets |result| saturated to uint8, a float one the signed
// result.
struct SobelParams {
  int dx;
  int dy;
  int ksize;
  double scale;
  double delta;
  int border;
  bool to_u8;
};

struct LaplacianParams {
  int ksize;
  double scale;
  double delta;
  int border;
  bool to_u8;
};

struct CannyParams {
  double threshold1;
  double threshold2;
  int aperture;
  bool l2_gradient;
};

struct ThresholdParams {
  double threshold;
  double max_value;
  int type;  // cv::ThresholdTypes, THRESH_OTSU included
};

// Erode, dilate, open and close run in passes of one erosion or dilation each (open: `iterations` erosions, then
// as many dilations), so that a lane can stop between them; gradient, top-hat and black-hat run in one pass.
struct MorphologyParams {
  int op;  // cv::MorphTypes
  int shape;
  cv::Size ksize;
  int iterations;
  cv::Mat element;  // the structuring element
  bool in_passes;
  int first_pass_op;   // MORPH_ERODE or MORPH_DILATE
  int second_pass_op;  // the other one, for open and close
  bool two_phases;

  // The erosion or dilation of pass `pass` (in_passes only).
  int PassOp(int pass) const { return two_phases && pass >= iterations ? second_pass_op : first_pass_op; }
};

}  // namespace imgproc
