#pragma once
// The colour family's bound parameters (ops/color.cc binds them), which backends' kernels read.

#include <opencv2/core.hpp>

namespace imgproc {

struct CvtColorParams {
  int code;  // cv::ColorConversionCodes
  int out_channels;
};

// equalize_hist and clahe equalize the luma (Y of YCrCb) of a colour image, so that hues do not shift.
struct EqualizeHistParams {};

struct ClaheParams {
  double clip_limit;
  cv::Size grid;
};

struct GammaParams {
  double gamma;
  cv::Mat lut;  // 1x256 CV_8U: 255 * (i / 255) ^ gamma; empty for uint16 input (a 65536-entry table on the CPU)
};

struct BrightnessContrastParams {
  double alpha;
  double beta;
};

// out = float(in) * gain[c] + offset[c], gain = scale / std, offset = -mean / std.
struct NormalizeParams {
  cv::Scalar gain;
  cv::Scalar offset;
};

}  // namespace imgproc
