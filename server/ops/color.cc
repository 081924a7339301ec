// Colour and intensity: cvt_color, equalize_hist, clahe, gamma, brightness_contrast, normalize.
#include "ops/color.h"

#include <cmath>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "ops/interruptible_call.h"
#include "ops/op_util.h"

namespace imgproc {
namespace {

// ---------------------------------------------------------------- cvt_color

struct Conversion {
  int code;
  int in_channels;
  int out_channels;
};

// The CvtColor.Conversion values; BGR2RGB also swaps a 4-channel image's colours, keeping alpha.
constexpr NamedValue<Conversion> kConversions[] = {
    {"CONVERSION_BGR2GRAY", {cv::COLOR_BGR2GRAY, 3, 1}},   {"CONVERSION_RGB2GRAY", {cv::COLOR_RGB2GRAY, 3, 1}},
    {"CONVERSION_GRAY2BGR", {cv::COLOR_GRAY2BGR, 1, 3}},   {"CONVERSION_BGR2RGB", {cv::COLOR_BGR2RGB, 3, 3}},
    {"CONVERSION_BGR2HSV", {cv::COLOR_BGR2HSV, 3, 3}},     {"CONVERSION_HSV2BGR", {cv::COLOR_HSV2BGR, 3, 3}},
    {"CONVERSION_BGR2LAB", {cv::COLOR_BGR2Lab, 3, 3}},     {"CONVERSION_LAB2BGR", {cv::COLOR_Lab2BGR, 3, 3}},
    {"CONVERSION_BGR2YCRCB", {cv::COLOR_BGR2YCrCb, 3, 3}}, {"CONVERSION_YCRCB2BGR", {cv::COLOR_YCrCb2BGR, 3, 3}},
    {"CONVERSION_BGRA2BGR", {cv::COLOR_BGRA2BGR, 4, 3}},   {"CONVERSION_BGR2BGRA", {cv::COLOR_BGR2BGRA, 3, 4}}};

absl::Status BindCvtColor(const OpArgs& args, StepBinder& b) {
  const absl::string_view requested = args.Enum("conversion");
  std::optional<Conversion> conversion = LookUpName(kConversions, requested);
  if (!conversion.has_value()) {
    return b.Invalid("conversion", requested.empty() ? "is required" : absl::StrCat("unknown value ", requested));
  }
  if (requested == "CONVERSION_BGR2RGB" && b.input().channels == 4) conversion = Conversion{cv::COLOR_BGRA2RGBA, 4, 4};
  if (b.input().channels != conversion->in_channels) {
    return b.Unsupported(absl::StrCat(requested, " needs ", conversion->in_channels, " channel(s)"));
  }
  // OpenCV's HSV and Lab conversions take 8-bit and float pixels only.
  const bool hsv_or_lab = conversion->code == cv::COLOR_BGR2HSV || conversion->code == cv::COLOR_HSV2BGR ||
                          conversion->code == cv::COLOR_BGR2Lab || conversion->code == cv::COLOR_Lab2BGR;
  if (hsv_or_lab && b.input().depth == Depth::kU16) {
    return b.Unsupported(absl::StrCat(requested, " takes uint8 or float32 pixels (OpenCV has no 16-bit HSV or Lab)"));
  }
  b.output().channels = conversion->out_channels;
  const CvtColorParams params{conversion->code, conversion->out_channels};
  b.SetParams(params);
  b.SetCpuStriped([params](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst, CV_MAKETYPE(src.depth(), params.out_channels), {},
                           [&params](const cv::Mat& s, cv::Mat& d) { cv::cvtColor(s, d, params.code); });
  });
  return absl::OkStatus();
}

OpDefinition CvtColorDefinition() {
  return {"cvt_color",
          "Colour space conversion (cv::cvtColor)",
          {{"conversion", "enum CvtColor.Conversion",
            "BGR2GRAY, RGB2GRAY, GRAY2BGR, BGR2RGB, BGR2HSV, HSV2BGR, BGR2LAB, LAB2BGR, BGR2YCRCB, YCRCB2BGR, "
            "BGRA2BGR, BGR2BGRA",
            "required", "uint8 HSV has hue in [0, 180); HSV and Lab not on uint16"}},
          BindCvtColor,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(cvt_color, CvtColorDefinition());

// ---------------------------------------------------------------- equalize_hist, clahe
// On colour images both equalize the luma (Y of YCrCb) so that hues do not shift.

// The equalization needs the histogram of the whole image (or of its tiles), so it is stopped inside OpenCV's loops
// (ops/interruptible_call.h); the colour conversions around it run in stripes.
template <typename Equalize>
absl::Status OnLuma(const CpuPassContext& ctx, const cv::Mat& src, cv::Mat& dst, Equalize&& equalize) {
  if (src.channels() == 1) {
    return RunInterruptibly(ctx, [&] { equalize(src, dst); });
  }
  CpuPassContext part = ctx;
  part.pass_work = PixelChannels(ImageSpec{src.cols, src.rows, 3, Depth::kU8});
  cv::Mat ycrcb, luma(src.size(), CV_MAKETYPE(src.depth(), 1));  // clahe also runs on uint16
  IMGPROC_RETURN_IF_ERROR(
      FilterInStripes(part, src, ycrcb, CV_MAKETYPE(src.depth(), 3), {},
                      [](const cv::Mat& s, cv::Mat& d) { cv::cvtColor(s, d, cv::COLOR_BGR2YCrCb); }));
  IMGPROC_RETURN_IF_ERROR(ForEachStripe(part, src.size(), {}, [&](const cv::Rect& r) {
    cv::Mat y = luma(r);
    cv::extractChannel(ycrcb(r), y, 0);
  }));
  cv::Mat equalized;
  IMGPROC_RETURN_IF_ERROR(RunInterruptibly(ctx, [&] { equalize(luma, equalized); }));
  dst.create(src.size(), src.type());
  return ForEachStripe(part, src.size(), {}, [&](const cv::Rect& r) {
    cv::Mat part_ycrcb = ycrcb(r);
    cv::insertChannel(equalized(r), part_ycrcb, 0);
    cv::Mat out = dst(r);
    cv::cvtColor(part_ycrcb, out, cv::COLOR_YCrCb2BGR);
  });
}

absl::Status BindEqualizeHist(const OpArgs&, StepBinder& b) {
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  b.SetParams(EqualizeHistParams{});
  b.SetCpuStriped([](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return OnLuma(ctx, src, dst, [](const cv::Mat& s, cv::Mat& d) { cv::equalizeHist(s, d); });
  });
  return absl::OkStatus();
}

OpDefinition EqualizeHistDefinition() {
  return {"equalize_hist",
          "Histogram equalization; on 3-channel images of the luma (Y of YCrCb)",
          {},
          BindEqualizeHist,
          {Depth::kU8}};  // cv::equalizeHist takes 8-bit images only
}
IMGPROC_REGISTER_OPERATION(equalize_hist, EqualizeHistDefinition());

absl::Status BindClahe(const OpArgs& args, StepBinder& b) {
  IMGPROC_RETURN_IF_ERROR(b.RequireChannels({1, 3}));
  const double clip = args.Double("clip_limit", 2.0);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "clip_limit", clip, 0, 1000));
  const int tiles_x = args.Int("tiles_x", 8);
  const int tiles_y = args.Int("tiles_y", tiles_x);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "tiles_x", tiles_x, 1, 64));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "tiles_y", tiles_y, 1, 64));
  const ClaheParams params{clip, cv::Size(tiles_x, tiles_y)};
  b.SetParams(params);
  // cv::CLAHE keeps buffers between calls, so each run makes its own: a bound step may run on any worker.
  b.SetCpuStriped([params](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE(params.clip_limit, params.grid);
    return OnLuma(ctx, src, dst, [&](const cv::Mat& s, cv::Mat& d) { clahe->apply(s, d); });
  });
  return absl::OkStatus();
}

OpDefinition ClaheDefinition() {
  return {"clahe",
          "Contrast-limited adaptive histogram equalization; on 3-channel images of the luma",
          {{"clip_limit", "double", "[0, 1000]", "2", ""},
           {"tiles_x", "int32", "[1, 64]", "8", "grid columns"},
           {"tiles_y", "int32", "[1, 64]", "tiles_x", "grid rows"}},
          BindClahe,
          {Depth::kU8, Depth::kU16}};  // cv::CLAHE takes 8- and 16-bit images
}
IMGPROC_REGISTER_OPERATION(clahe, ClaheDefinition());

// ---------------------------------------------------------------- gamma

absl::Status BindGamma(const OpArgs& args, StepBinder& b) {
  const double gamma = args.Double("gamma");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "gamma", gamma, 0.01, 100));
  if (b.input().depth == Depth::kU16) {
    // cv::LUT indexes 8-bit pixels only: a 65536-entry table, applied row by row. 128 KiB, made once per request.
    auto table = std::make_shared<std::vector<uint16_t>>(65536);
    for (int i = 0; i < 65536; ++i) {
      (*table)[i] = cv::saturate_cast<uint16_t>(65535.0 * std::pow(i / 65535.0, gamma));
    }
    b.SetParams(GammaParams{gamma, cv::Mat()});
    b.SetCpuStriped([table](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
      return FilterInStripes(ctx, src, dst, src.type(), {}, [&table](const cv::Mat& s, cv::Mat& d) {
        const int values = s.cols * s.channels();
        for (int y = 0; y < s.rows; ++y) {
          const uint16_t* in = s.ptr<uint16_t>(y);
          uint16_t* out = d.ptr<uint16_t>(y);
          for (int x = 0; x < values; ++x) out[x] = (*table)[in[x]];
        }
      });
    });
    return absl::OkStatus();
  }
  cv::Mat lut(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i) lut.at<uint8_t>(i) = cv::saturate_cast<uint8_t>(255.0 * std::pow(i / 255.0, gamma));
  b.SetParams(GammaParams{gamma, lut});
  b.SetCpuStriped([lut](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst, src.type(), {}, [&lut](const cv::Mat& s, cv::Mat& d) { cv::LUT(s, lut, d); });
  });
  return absl::OkStatus();
}

OpDefinition GammaDefinition() {
  return {"gamma",
          "out = 255 * (in / 255) ^ gamma through a lookup table (uint16: 65535 * (in / 65535) ^ gamma)",
          {{"gamma", "double", "[0.01, 100]", "required", "< 1 brightens, > 1 darkens"}},
          BindGamma,
          {Depth::kU8, Depth::kU16}};
}
IMGPROC_REGISTER_OPERATION(gamma, GammaDefinition());

// ---------------------------------------------------------------- brightness_contrast

absl::Status BindBrightnessContrast(const OpArgs& args, StepBinder& b) {
  const double alpha = args.Double("alpha", 1.0);
  const double beta = args.Double("beta");
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "alpha", alpha, -1e4, 1e4));
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "beta", beta, -1e6, 1e6));
  b.SetParams(BrightnessContrastParams{alpha, beta});
  b.SetCpuStriped([alpha, beta](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst, src.type(), {},
                           [=](const cv::Mat& s, cv::Mat& d) { s.convertTo(d, -1, alpha, beta); });
  });
  return absl::OkStatus();
}

OpDefinition BrightnessContrastDefinition() {
  return {"brightness_contrast",
          "out = saturate(alpha * in + beta)",
          {{"alpha", "double", "[-1e4, 1e4]", "1", "contrast (gain)"},
           {"beta", "double", "[-1e6, 1e6]", "0", "brightness (offset), in the pixels' units (uint16: of 65535)"}},
          BindBrightnessContrast,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(brightness_contrast, BrightnessContrastDefinition());

// ---------------------------------------------------------------- normalize

absl::Status BindNormalize(const OpArgs& args, StepBinder& b) {
  absl::StatusOr<cv::Scalar> mean = ChannelValues(b, "mean", args.Doubles("mean"), 0.0);
  if (!mean.ok()) return mean.status();
  absl::StatusOr<cv::Scalar> stddev = ChannelValues(b, "std", args.Doubles("std"), 1.0);
  if (!stddev.ok()) return stddev.status();
  // The default maps the integer range onto [0, 1]: 1/255 for uint8, 1/65535 for uint16 (so a 16-bit decode of an
  // 8-bit photo, v * 257, normalizes to the same values as the 8-bit one); float32 keeps 1/255 as before.
  const double scale = args.Double("scale", b.input().depth == Depth::kU16 ? 1.0 / 65535.0 : 1.0 / 255.0);
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, -1e6, 1e6));
  // out = in * gain[c] + offset[c] with gain = scale / std, offset = -mean / std: one fused pass.
  cv::Scalar gain, offset;
  for (int c = 0; c < b.input().channels; ++c) {
    if (std::abs((*stddev)[c]) < 1e-12) return b.Invalid("std", "values must not be 0");
    gain[c] = scale / (*stddev)[c];
    offset[c] = -(*mean)[c] / (*stddev)[c];
  }
  b.output().depth = Depth::kF32;
  b.SetParams(NormalizeParams{gain, offset});
  const int channels = b.input().channels;
  cv::Mat affine = cv::Mat::zeros(channels, channels + 1, CV_64F);  // cv::transform's C x (C+1) matrix
  for (int c = 0; c < channels; ++c) {
    affine.at<double>(c, c) = gain[c];
    affine.at<double>(c, channels) = offset[c];
  }
  b.SetCpuStriped([affine](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    return FilterInStripes(ctx, src, dst, CV_MAKETYPE(CV_32F, src.channels()), {},
                           [&affine](const cv::Mat& s, cv::Mat& d) {
                             cv::Mat as_float;
                             s.convertTo(as_float, CV_32F);
                             cv::transform(as_float, d, affine);
                           });
  });
  return absl::OkStatus();
}

OpDefinition NormalizeDefinition() {
  return {"normalize",
          "out = (in * scale - mean[c]) / std[c] as float32, for ML input; channel order is the image's",
          {{"mean", "repeated double", "1 or one per channel", "0", ""},
           {"std", "repeated double", "1 or one per channel, non-zero", "1", ""},
           {"scale", "double", "[-1e6, 1e6]", "1/255 (uint16: 1/65535)", "applied before mean and std"}},
          BindNormalize,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(normalize, NormalizeDefinition());

}  // namespace
}  // namespace imgproc
