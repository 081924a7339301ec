// Colour and intensity: cvt_color, equalize_hist, clahe, gamma, brightness_contrast, normalize.
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "ops/op_util.h"

#if IMGPROC_WITH_CUDA
#include <opencv2/cudaarithm.hpp>
#include <opencv2/cudaimgproc.hpp>
#endif

namespace imgproc {
namespace {

// ---------------------------------------------------------------- cvt_color

struct Conversion {
  int code;
  int in_channels;
  int out_channels;
};

absl::StatusOr<Conversion> LookUpConversion(pb::CvtColor::Conversion c, int in_channels) {
  switch (c) {
    case pb::CvtColor::BGR2GRAY: return Conversion{cv::COLOR_BGR2GRAY, 3, 1};
    case pb::CvtColor::RGB2GRAY: return Conversion{cv::COLOR_RGB2GRAY, 3, 1};
    case pb::CvtColor::GRAY2BGR: return Conversion{cv::COLOR_GRAY2BGR, 1, 3};
    case pb::CvtColor::BGR2RGB:  // keeps alpha on 4-channel images
      return in_channels == 4 ? Conversion{cv::COLOR_BGRA2RGBA, 4, 4} : Conversion{cv::COLOR_BGR2RGB, 3, 3};
    case pb::CvtColor::BGR2HSV: return Conversion{cv::COLOR_BGR2HSV, 3, 3};
    case pb::CvtColor::HSV2BGR: return Conversion{cv::COLOR_HSV2BGR, 3, 3};
    case pb::CvtColor::BGR2LAB: return Conversion{cv::COLOR_BGR2Lab, 3, 3};
    case pb::CvtColor::LAB2BGR: return Conversion{cv::COLOR_Lab2BGR, 3, 3};
    case pb::CvtColor::BGR2YCRCB: return Conversion{cv::COLOR_BGR2YCrCb, 3, 3};
    case pb::CvtColor::YCRCB2BGR: return Conversion{cv::COLOR_YCrCb2BGR, 3, 3};
    case pb::CvtColor::BGRA2BGR: return Conversion{cv::COLOR_BGRA2BGR, 4, 3};
    case pb::CvtColor::BGR2BGRA: return Conversion{cv::COLOR_BGR2BGRA, 3, 4};
    default: return absl::InvalidArgumentError("");
  }
}

absl::Status BindCvtColor(const pb::Operation& op, StepBinder& b) {
  const auto requested = op.cvt_color().conversion();
  absl::StatusOr<Conversion> conversion = LookUpConversion(requested, b.input().channels);
  if (!conversion.ok()) {
    return b.Invalid("conversion", requested == pb::CvtColor::CONVERSION_UNSPECIFIED
                                       ? "is required"
                                       : absl::StrCat("unknown value ", requested));
  }
  if (b.input().channels != conversion->in_channels) {
    return b.Unsupported(
        absl::StrCat(pb::CvtColor::Conversion_Name(requested), " needs ", conversion->in_channels, " channel(s)"));
  }
  b.output().channels = conversion->out_channels;
  const Conversion cv_conv = *conversion;
  b.SetCpu([cv_conv](const cv::Mat& src, cv::Mat& dst) { cv::cvtColor(src, dst, cv_conv.code); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([cv_conv](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::cuda::cvtColor(src, dst, cv_conv.code, cv_conv.out_channels, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition CvtColorDefinition() {
  return {"cvt_color",
          pb::Operation::kCvtColor,
          "Colour space conversion (cv::cvtColor)",
          {{"conversion", "enum CvtColor.Conversion",
            "BGR2GRAY, RGB2GRAY, GRAY2BGR, BGR2RGB, BGR2HSV, HSV2BGR, BGR2LAB, LAB2BGR, BGR2YCRCB, YCRCB2BGR, "
            "BGRA2BGR, BGR2BGRA",
            "required", "uint8 HSV has hue in [0, 180)"}},
          true,
          "",
          BindCvtColor};
}
IMGPROC_REGISTER_OPERATION(cvt_color, CvtColorDefinition());

// ---------------------------------------------------------------- equalize_hist, clahe
// On colour images both equalize the luma (Y of YCrCb) so that hues do not shift.

template <typename Equalize>
void OnLuma(const cv::Mat& src, cv::Mat& dst, Equalize&& equalize) {
  if (src.channels() == 1) {
    equalize(src, dst);
    return;
  }
  cv::Mat ycrcb;
  cv::cvtColor(src, ycrcb, cv::COLOR_BGR2YCrCb);
  cv::Mat planes[3];
  cv::split(ycrcb, planes);
  cv::Mat y;
  equalize(planes[0], y);
  planes[0] = y;
  cv::merge(planes, 3, ycrcb);
  cv::cvtColor(ycrcb, dst, cv::COLOR_YCrCb2BGR);
}

#if IMGPROC_WITH_CUDA
template <typename Equalize>
void OnLumaCuda(const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx, Equalize&& equalize) {
  if (src.channels() == 1) {
    equalize(src, dst);
    return;
  }
  cv::cuda::cvtColor(src, ctx.scratch[0], cv::COLOR_BGR2YCrCb, 3, ctx.stream);
  std::vector<cv::cuda::GpuMat> planes(3);
  cv::cuda::split(ctx.scratch[0], planes, ctx.stream);
  equalize(planes[0], ctx.scratch[1]);
  planes[0] = ctx.scratch[1];
  cv::cuda::merge(planes, ctx.scratch[2], ctx.stream);
  cv::cuda::cvtColor(ctx.scratch[2], dst, cv::COLOR_YCrCb2BGR, 3, ctx.stream);
}
#endif

absl::Status BindEqualizeHist(const pb::Operation&, StepBinder& b) {
  IMGPROC_RETURN_IF_ERROR(b.RequireDepth(Depth::kU8));
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  b.SetCpu([](const cv::Mat& src, cv::Mat& dst) {
    OnLuma(src, dst, [](const cv::Mat& s, cv::Mat& d) { cv::equalizeHist(s, d); });
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    OnLumaCuda(src, dst, ctx,
               [&ctx](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) { cv::cuda::equalizeHist(s, d, ctx.stream); });
  });
#endif
  return absl::OkStatus();
}

OpDefinition EqualizeHistDefinition() {
  return {"equalize_hist",
          pb::Operation::kEqualizeHist,
          "Histogram equalization; on 3-channel images of the luma (Y of YCrCb)",
          {},
          true,
          "",
          BindEqualizeHist};
}
IMGPROC_REGISTER_OPERATION(equalize_hist, EqualizeHistDefinition());

absl::Status BindClahe(const pb::Operation& op, StepBinder& b) {
  const pb::Clahe& p = op.clahe();
  IMGPROC_RETURN_IF_ERROR(b.RequireDepth(Depth::kU8));
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  const double clip = p.has_clip_limit() ? p.clip_limit() : 2.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "clip_limit", clip, 0, 1000));
  const int tiles_x = p.has_tiles_x() ? p.tiles_x() : 8;
  const int tiles_y = p.has_tiles_y() ? p.tiles_y() : tiles_x;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "tiles_x", tiles_x, 1, 64));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "tiles_y", tiles_y, 1, 64));
  const cv::Size grid(tiles_x, tiles_y);
  // cv::CLAHE keeps buffers between calls, so each run makes its own: a bound step may run on any worker.
  b.SetCpu([clip, grid](const cv::Mat& src, cv::Mat& dst) {
    cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE(clip, grid);
    OnLuma(src, dst, [&](const cv::Mat& s, cv::Mat& d) { clahe->apply(s, d); });
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([clip, grid](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    cv::Ptr<cv::cuda::CLAHE> clahe =
        ctx.objects.Get<cv::cuda::CLAHE>(absl::StrCat("clahe ", clip, " ", grid.width, "x", grid.height),
                                         [&] { return cv::cuda::createCLAHE(clip, grid); });
    OnLumaCuda(src, dst, ctx, [&](const cv::cuda::GpuMat& s, cv::cuda::GpuMat& d) { clahe->apply(s, d, ctx.stream); });
  });
#endif
  return absl::OkStatus();
}

OpDefinition ClaheDefinition() {
  return {"clahe",
          pb::Operation::kClahe,
          "Contrast-limited adaptive histogram equalization; on 3-channel images of the luma",
          {{"clip_limit", "double", "[0, 1000]", "2", ""},
           {"tiles_x", "int32", "[1, 64]", "8", "grid columns"},
           {"tiles_y", "int32", "[1, 64]", "tiles_x", "grid rows"}},
          true,
          "",
          BindClahe};
}
IMGPROC_REGISTER_OPERATION(clahe, ClaheDefinition());

// ---------------------------------------------------------------- gamma

absl::Status BindGamma(const pb::Operation& op, StepBinder& b) {
  const double gamma = op.gamma().gamma();
  IMGPROC_RETURN_IF_ERROR(b.RequireDepth(Depth::kU8));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "gamma", gamma, 0.01, 100));
  cv::Mat lut(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i) lut.at<uint8_t>(i) = cv::saturate_cast<uint8_t>(255.0 * std::pow(i / 255.0, gamma));
  b.SetCpu([lut](const cv::Mat& src, cv::Mat& dst) { cv::LUT(src, lut, dst); });
#if IMGPROC_WITH_CUDA
  // cv::cuda::LookUpTable takes 1 or 3 channels; 4-channel images run on the CPU.
  if (b.input().channels != 4) {
    b.SetCuda([lut, gamma](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
      ctx.objects
          .Get<cv::cuda::LookUpTable>(absl::StrCat("gamma ", gamma), [&] { return cv::cuda::createLookUpTable(lut); })
          ->transform(src, dst, ctx.stream);
    });
  }
#endif
  return absl::OkStatus();
}

OpDefinition GammaDefinition() {
  return {"gamma",
          pb::Operation::kGamma,
          "out = 255 * (in / 255) ^ gamma through a lookup table",
          {{"gamma", "double", "[0.01, 100]", "required", "< 1 brightens, > 1 darkens"}},
          true,
          "4-channel images run on the CPU (cv::cuda::LookUpTable takes 1 or 3 channels)",
          BindGamma};
}
IMGPROC_REGISTER_OPERATION(gamma, GammaDefinition());

// ---------------------------------------------------------------- brightness_contrast

absl::Status BindBrightnessContrast(const pb::Operation& op, StepBinder& b) {
  const pb::BrightnessContrast& p = op.brightness_contrast();
  const double alpha = p.has_alpha() ? p.alpha() : 1.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "alpha", alpha, -1e4, 1e4));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "beta", p.beta(), -1e6, 1e6));
  const double beta = p.beta();
  b.SetCpu([alpha, beta](const cv::Mat& src, cv::Mat& dst) { src.convertTo(dst, -1, alpha, beta); });
#if IMGPROC_WITH_CUDA
  b.SetCuda([alpha, beta](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    src.convertTo(dst, src.type(), alpha, beta, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition BrightnessContrastDefinition() {
  return {"brightness_contrast",
          pb::Operation::kBrightnessContrast,
          "out = saturate(alpha * in + beta)",
          {{"alpha", "double", "[-1e4, 1e4]", "1", "contrast (gain)"},
           {"beta", "double", "[-1e6, 1e6]", "0", "brightness (offset)"}},
          true,
          "",
          BindBrightnessContrast};
}
IMGPROC_REGISTER_OPERATION(brightness_contrast, BrightnessContrastDefinition());

// ---------------------------------------------------------------- normalize

absl::Status BindNormalize(const pb::Operation& op, StepBinder& b) {
  const pb::Normalize& p = op.normalize();
  absl::StatusOr<cv::Scalar> mean = ChannelValues(b, "mean", p.mean(), 0.0);
  if (!mean.ok()) return mean.status();
  absl::StatusOr<cv::Scalar> stddev = ChannelValues(b, "std", p.std(), 1.0);
  if (!stddev.ok()) return stddev.status();
  const double scale = p.has_scale() ? p.scale() : 1.0 / 255.0;
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  // out = in * gain[c] + offset[c] with gain = scale / std, offset = -mean / std: one fused pass.
  cv::Scalar gain, offset;
  for (int c = 0; c < b.input().channels; ++c) {
    if (std::abs((*stddev)[c]) < 1e-12) return b.Invalid("std", "values must not be 0");
    gain[c] = scale / (*stddev)[c];
    offset[c] = -(*mean)[c] / (*stddev)[c];
  }
  b.output().depth = Depth::kF32;
  const int channels = b.input().channels;
  cv::Mat affine = cv::Mat::zeros(channels, channels + 1, CV_64F);  // cv::transform's C x (C+1) matrix
  for (int c = 0; c < channels; ++c) {
    affine.at<double>(c, c) = gain[c];
    affine.at<double>(c, channels) = offset[c];
  }
  b.SetCpu([affine](const cv::Mat& src, cv::Mat& dst) {
    cv::Mat as_float;
    src.convertTo(as_float, CV_32F);
    cv::transform(as_float, dst, affine);
  });
#if IMGPROC_WITH_CUDA
  b.SetCuda([gain, offset](const cv::cuda::GpuMat& src, cv::cuda::GpuMat& dst, CudaOpContext& ctx) {
    src.convertTo(ctx.scratch[0], CV_MAKETYPE(CV_32F, src.channels()), ctx.stream);
    cv::cuda::multiply(ctx.scratch[0], gain, ctx.scratch[1], 1, -1, ctx.stream);
    cv::cuda::add(ctx.scratch[1], offset, dst, cv::noArray(), -1, ctx.stream);
  });
#endif
  return absl::OkStatus();
}

OpDefinition NormalizeDefinition() {
  return {"normalize",
          pb::Operation::kNormalize,
          "out = (in * scale - mean[c]) / std[c] as float32, for ML input; channel order is the image's",
          {{"mean", "repeated double", "1 or one per channel", "0", ""},
           {"std", "repeated double", "1 or one per channel, non-zero", "1", ""},
           {"scale", "double", "[-1e6, 1e6]", "1/255", "applied before mean and std"}},
          true,
          "",
          BindNormalize};
}
IMGPROC_REGISTER_OPERATION(normalize, NormalizeDefinition());

}  // namespace
}  // namespace imgproc
