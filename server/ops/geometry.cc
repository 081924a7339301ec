// Geometry: resize, crop, pad, flip, rotate, warp_affine, warp_perspective.
#include "ops/geometry.h"

#include <climits>
#include <cmath>
#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/imgproc/hal/hal.hpp>
#include <vector>

#include "ops/op_util.h"

namespace imgproc {
namespace {

const ParamInfo kInterpolationParam{"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC, AREA", "LINEAR",
                                    ""};
const ParamInfo kBorderParam{"border", "enum BorderMode", "REFLECT_101, CONSTANT, REPLICATE, REFLECT, WRAP",
                             "REFLECT_101", "how pixels outside the image are made"};

// Source values an output value of an interpolating step reads.
double InterpolationTaps(int interpolation) {
  switch (interpolation) {
    case cv::INTER_NEAREST: return 1;
    case cv::INTER_CUBIC: return 16;
    default: return 4;  // linear; AREA is counted per input value
  }
}

// ---------------------------------------------------------------- resize

absl::Status BindResize(const OpArgs& args, StepBinder& b) {
  const ImageSpec& in = b.input();
  const int requested_width = args.Int("width"), requested_height = args.Int("height");
  const double scale = args.Double("scale");
  int64_t width = 0, height = 0;
  if (scale != 0) {
    if (requested_width != 0 || requested_height != 0) {
      return b.Invalid("scale", "set either scale or width/height, not both");
    }
    IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "scale", scale, 1e-4, 1e4));
    width = std::llround(in.width * scale);
    height = std::llround(in.height * scale);
  } else {
    if (requested_width < 0) return b.Invalid("width", absl::StrCat("must be >= 0 (got ", requested_width, ")"));
    if (requested_height < 0) return b.Invalid("height", absl::StrCat("must be >= 0 (got ", requested_height, ")"));
    if (requested_width == 0 && requested_height == 0) return b.Invalid("width", "width, height or scale is required");
    const double fx = double(requested_width) / in.width, fy = double(requested_height) / in.height;
    if (requested_width > 0 && requested_height > 0 && args.Bool("keep_aspect")) {
      const double f = std::min(fx, fy);
      width = std::llround(in.width * f);
      height = std::llround(in.height * f);
    } else if (requested_width > 0 && requested_height > 0) {
      width = requested_width;
      height = requested_height;
    } else if (requested_width > 0) {  // the missing side follows the aspect ratio
      width = requested_width;
      height = std::llround(in.height * fx);
    } else {
      width = std::llround(in.width * fy);
      height = requested_height;
    }
    width = std::max<int64_t>(width, 1);
    height = std::max<int64_t>(height, 1);
  }
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  b.output().width = static_cast<int>(width);
  b.output().height = static_cast<int>(height);
  const cv::Size size(b.output().width, b.output().height);
  const int interpolation = ToCvInterpolation(args.Enum("interpolation"));
  b.SetParams(ResizeParams{size, interpolation});
  // Each output row's source rows and weights come from the whole image's scale (a band resized alone rounds
  // them differently), so resize is stopped inside OpenCV's loop over output rows.
  b.SetCpuInterruptible(
      [size, interpolation](const cv::Mat& src, cv::Mat& dst) { cv::resize(src, dst, size, 0, 0, interpolation); });
  // Every input value is read once (AREA) and every output value reads its interpolation's taps.
  b.SetWork(PixelChannels(b.input()) + PixelChannels(b.output()) * InterpolationTaps(interpolation));
  return absl::OkStatus();
}

OpDefinition ResizeDefinition() {
  return {"resize",
          "Scale to a size or by a factor",
          {{"width", "int32", ">= 0", "0", "target width; 0: derived from height and the aspect ratio"},
           {"height", "int32", ">= 0", "0", "target height; 0: derived from width and the aspect ratio"},
           {"scale", "double", "[1e-4, 1e4]", "0 (unset)", "factor for both sides, instead of width/height"},
           kInterpolationParam,
           {"keep_aspect", "bool", "", "false", "fit inside width x height keeping the aspect ratio"}},
          BindResize,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(resize, ResizeDefinition());

// ---------------------------------------------------------------- crop

absl::Status BindCrop(const OpArgs& args, StepBinder& b) {
  const ImageSpec& in = b.input();
  const int x = args.Int("x"), y = args.Int("y"), width = args.Int("width"), height = args.Int("height");
  if (x < 0 || x >= in.width) return b.Invalid("x", absl::StrCat("must be in [0, ", in.width - 1, "] (got ", x, ")"));
  if (y < 0 || y >= in.height) {
    return b.Invalid("y", absl::StrCat("must be in [0, ", in.height - 1, "] (got ", y, ")"));
  }
  if (width < 1 || int64_t{x} + width > in.width) {
    return b.Invalid("width", absl::StrCat("must be in [1, ", in.width - x, "] for x=", x, " (got ", width, ")"));
  }
  if (height < 1 || int64_t{y} + height > in.height) {
    return b.Invalid("height", absl::StrCat("must be in [1, ", in.height - y, "] for y=", y, " (got ", height, ")"));
  }
  b.output().width = width;
  b.output().height = height;
  const cv::Rect roi(x, y, width, height);
  b.SetParams(CropParams{roi});
  // A copy, not a view: the next step must never write into memory it reads.
  // A copy of up to the pixel limit (a few tenths of a second), in stripes like any long pass.
  b.SetCpuStriped([roi](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    dst.create(roi.size(), src.type());
    return ForEachStripe(ctx, roi.size(), {}, [&](const cv::Rect& stripe) {
      cv::Mat part = dst(stripe);
      src(stripe + roi.tl()).copyTo(part);
    });
  });
  return absl::OkStatus();
}

OpDefinition CropDefinition() {
  return {"crop",
          "Cut out a rectangle",
          {{"x", "int32", "[0, width)", "0", "left column"},
           {"y", "int32", "[0, height)", "0", "top row"},
           {"width", "int32", "[1, width - x]", "required", ""},
           {"height", "int32", "[1, height - y]", "required", ""}},
          BindCrop,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(crop, CropDefinition());

// ---------------------------------------------------------------- pad

absl::Status BindPad(const OpArgs& args, StepBinder& b) {
  const ImageSpec& in = b.input();
  const int top = args.Int("top"), bottom = args.Int("bottom"), left = args.Int("left"), right = args.Int("right");
  const std::pair<const char*, int> sides[] = {{"top", top}, {"bottom", bottom}, {"left", left}, {"right", right}};
  for (const auto& [field, value] : sides) {
    if (value < 0) return b.Invalid(field, absl::StrCat("must be >= 0 (got ", value, ")"));
  }
  const int64_t width = int64_t{in.width} + left + right;
  const int64_t height = int64_t{in.height} + top + bottom;
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  absl::StatusOr<cv::Scalar> value = ChannelValues(b, "value", args.Doubles("value"), 0);
  if (!value.ok()) return value.status();
  b.output().width = static_cast<int>(width);
  b.output().height = static_cast<int>(height);
  const int border = ToCvBorder(args.Enum("border"));
  const cv::Scalar fill = *value;
  b.SetParams(PadParams{top, bottom, left, right, border, fill});
  b.SetCpu(
      [=](const cv::Mat& src, cv::Mat& dst) { cv::copyMakeBorder(src, dst, top, bottom, left, right, border, fill); });
  return absl::OkStatus();
}

OpDefinition PadDefinition() {
  return {"pad",
          "Add a border",
          {{"top", "int32", ">= 0", "0", ""},
           {"bottom", "int32", ">= 0", "0", ""},
           {"left", "int32", ">= 0", "0", ""},
           {"right", "int32", ">= 0", "0", ""},
           kBorderParam,
           {"value", "repeated double", "1 or one per channel", "0", "colour for BORDER_MODE_CONSTANT"}},
          BindPad,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(pad, PadDefinition());

// ---------------------------------------------------------------- flip

absl::Status BindFlip(const OpArgs& args, StepBinder& b) {
  // cv::flip's codes: 1 mirrors around the vertical axis (left-right).
  static constexpr NamedValue<int> kAxes[] = {{"AXIS_HORIZONTAL", 1}, {"AXIS_VERTICAL", 0}, {"AXIS_BOTH", -1}};
  const absl::string_view axis = args.Enum("axis");
  const std::optional<int> flip_code = LookUpName(kAxes, axis.empty() ? "AXIS_HORIZONTAL" : axis);
  if (!flip_code.has_value()) return b.Invalid("axis", absl::StrCat("unknown value ", axis));
  const int code = *flip_code;
  b.SetParams(FlipParams{code});
  // In stripes of output rows: a vertical flip takes them from the mirrored rows of the input.
  b.SetCpuStriped([code](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    dst.create(src.size(), src.type());
    return ForEachStripe(ctx, src.size(), {}, [&](const cv::Rect& stripe) {
      const int y0 = stripe.y, y1 = stripe.y + stripe.height;
      cv::Mat out = dst.rowRange(y0, y1);
      cv::flip(code == 1 ? src.rowRange(y0, y1) : src.rowRange(src.rows - y1, src.rows - y0), out, code);
    });
  });
  return absl::OkStatus();
}

OpDefinition FlipDefinition() {
  return {"flip",
          "Mirror the image",
          {{"axis", "enum Flip.Axis", "HORIZONTAL, VERTICAL, BOTH", "HORIZONTAL", "HORIZONTAL mirrors left-right"}},
          BindFlip,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(flip, FlipDefinition());

// ---------------------------------------------------------------- warps (affine, perspective, rotate)

// cv::warpAffine and cv::warpPerspective in stripes of whole output rows, with the same bytes. OpenCV computes
// a warp as fixed-point source coordinates (1/32 pixel, and for linear and cubic an index into its table of
// interpolation weights) for a segment of an output row at a time, then cv::remap of those maps. A stripe makes
// its rows' maps the same way and remaps them, as the warp would. The coordinates come from the inverse matrix
// and the absolute output position, never from a matrix shifted to the stripe (which rounds differently). A
// perspective segment's coordinates depend on where the segment starts (they step along it from its first
// column), so the segments start at the same columns as OpenCV's blocks. OpenCV 4.14 (the CUDA configuration's)
// exports the per-segment functions (cv::hal::warp*Blockline*), and they are used there; OpenCV 4.6 keeps them
// internal, and the same arithmetic is done here (warp_line; the versions between were not checked, and take
// it too). warp_stripes_test checks every interpolation, border and layout against the whole-image call, on
// both versions.
#if CV_VERSION_MAJOR > 4 || (CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR >= 14)
#define IMGPROC_OPENCV_EXPORTS_WARP_LINES 1
#else
#define IMGPROC_OPENCV_EXPORTS_WARP_LINES 0
#endif

#if !IMGPROC_OPENCV_EXPORTS_WARP_LINES
namespace warp_line {

constexpr int kTableMask = cv::INTER_TAB_SIZE - 1;

// Two's complement addition, as the vector code that computes most of a row adds.
int WrappingAdd(int a, int b) { return static_cast<int>(static_cast<unsigned>(a) + static_cast<unsigned>(b)); }

// Rounded source positions (whole pixels for nearest, else 1/32 pixels) as the maps store them: the pixel, and
// for interpolation the weights' table index. Eight at a time with 128-bit vectors, the rest one by one; the
// same integer operations either way.
void StorePositions(const int* source_x, const int* source_y, short* xy, short* weights, int count) {
  int i = 0;
#if CV_SIMD128
  const cv::v_int32x4 mask = cv::v_setall_s32(kTableMask);
  for (; i + 8 <= count; i += 8) {
    const cv::v_int32x4 x0 = cv::v_load(source_x + i), x1 = cv::v_load(source_x + i + 4);
    const cv::v_int32x4 y0 = cv::v_load(source_y + i), y1 = cv::v_load(source_y + i + 4);
    if (weights == nullptr) {
      cv::v_store_interleave(xy + 2 * i, cv::v_pack(x0, x1), cv::v_pack(y0, y1));
    } else {
      cv::v_store_interleave(xy + 2 * i, cv::v_pack(x0 >> cv::INTER_BITS, x1 >> cv::INTER_BITS),
                             cv::v_pack(y0 >> cv::INTER_BITS, y1 >> cv::INTER_BITS));
      cv::v_store(weights + i, cv::v_pack(((y0 & mask) << cv::INTER_BITS) + (x0 & mask),
                                          ((y1 & mask) << cv::INTER_BITS) + (x1 & mask)));
    }
  }
#endif
  for (; i < count; ++i) {
    const int x = source_x[i], y = source_y[i];
    if (weights == nullptr) {
      xy[2 * i] = cv::saturate_cast<short>(x);
      xy[2 * i + 1] = cv::saturate_cast<short>(y);
    } else {
      xy[2 * i] = cv::saturate_cast<short>(x >> cv::INTER_BITS);
      xy[2 * i + 1] = cv::saturate_cast<short>(y >> cv::INTER_BITS);
      weights[i] = static_cast<short>((y & kTableMask) * cv::INTER_TAB_SIZE + (x & kTableMask));
    }
  }
}

constexpr int kChunk = 256;  // positions computed before they are stored

// Affine: x0/y0 the row's fixed-point source position (1/1024 pixel, rounding offset included), column_x/y the
// columns' steps.
void Affine(const int* column_x, const int* column_y, short* xy, short* weights, int x0, int y0, int count,
            int scale_bits) {
  const int shift = weights == nullptr ? scale_bits : scale_bits - cv::INTER_BITS;
  int source_x[kChunk], source_y[kChunk];
  for (int first = 0; first < count; first += kChunk) {
    const int n = std::min(kChunk, count - first);
    for (int j = 0; j < n; ++j) {  // vectorized by the compiler
      source_x[j] = WrappingAdd(x0, column_x[first + j]) >> shift;
      source_y[j] = WrappingAdd(y0, column_y[first + j]) >> shift;
    }
    StorePositions(source_x, source_y, xy + 2 * first, weights == nullptr ? nullptr : weights + first, n);
  }
}

// Perspective: m the inverse matrix, x0/y0/w0 its product with the segment's first column.
void Perspective(const double* m, short* xy, short* weights, double x0, double y0, double w0, int count) {
  const double unit = weights == nullptr ? 1.0 : static_cast<double>(cv::INTER_TAB_SIZE);
  constexpr double kLow = INT_MIN, kHigh = INT_MAX;
  int source_x[kChunk], source_y[kChunk];
  for (int first = 0; first < count; first += kChunk) {
    const int n = std::min(kChunk, count - first);
    int j = 0;
#if CV_SIMD128_64F
    // Two at a time: the division costs most. The same operations as one at a time, so the same values.
    const cv::v_float64x2 m0 = cv::v_setall_f64(m[0]), m3 = cv::v_setall_f64(m[3]), m6 = cv::v_setall_f64(m[6]);
    const cv::v_float64x2 start_x = cv::v_setall_f64(x0), start_y = cv::v_setall_f64(y0),
                          start_w = cv::v_setall_f64(w0), scale = cv::v_setall_f64(unit), zero = cv::v_setzero_f64(),
                          low = cv::v_setall_f64(kLow), high = cv::v_setall_f64(kHigh);
    const auto position = [&](const cv::v_float64x2& start, const cv::v_float64x2& step, const cv::v_float64x2& column,
                              const cv::v_float64x2& inverse) {
      return cv::v_max(low, cv::v_min(high, (start + step * column) * inverse));
    };
    for (; j + 4 <= n; j += 4) {
      const cv::v_float64x2 column0(first + j, first + j + 1.0), column1(first + j + 2.0, first + j + 3.0);
      const cv::v_float64x2 w0v = start_w + m6 * column0, w1v = start_w + m6 * column1;
      const cv::v_float64x2 inverse0 = cv::v_select(w0v != zero, scale / w0v, zero),
                            inverse1 = cv::v_select(w1v != zero, scale / w1v, zero);
      cv::v_store(source_x + j,
                  cv::v_round(position(start_x, m0, column0, inverse0), position(start_x, m0, column1, inverse1)));
      cv::v_store(source_y + j,
                  cv::v_round(position(start_y, m3, column0, inverse0), position(start_y, m3, column1, inverse1)));
    }
#endif
    for (; j < n; ++j) {
      const double i = first + j;
      const double w = w0 + m[6] * i;
      const double inverse = w != 0 ? unit / w : 0.0;
      source_x[j] = cv::saturate_cast<int>(std::max(kLow, std::min(kHigh, (x0 + m[0] * i) * inverse)));
      source_y[j] = cv::saturate_cast<int>(std::max(kLow, std::min(kHigh, (y0 + m[3] * i) * inverse)));
    }
    StorePositions(source_x, source_y, xy + 2 * first, weights == nullptr ? nullptr : weights + first, n);
  }
}

}  // namespace warp_line
#endif

class WarpStripes {
 public:
  explicit WarpStripes(const WarpParams& w) : w_(w), nearest_(w.interpolation == cv::INTER_NEAREST) {
    // The destination-to-source matrix, inverted as cv::warpAffine/cv::warpPerspective invert a forward one.
    inverse_ = cv::Mat(w.matrix.rows, 3, CV_64F, m_);
    if (w.affine()) {
      cv::invertAffineTransform(w.matrix, inverse_);
    } else {
      cv::invert(w.matrix, inverse_);
    }
    CV_Assert(inverse_.data == reinterpret_cast<uchar*>(m_));
    // OpenCV's warps cut the output into blocks of side^2 pixels at most, side/2 rows high where the output has
    // them: side 64 for affine warps, 32 for perspective ones. Only perspective coordinates depend on the cut.
    const int side = w.affine() ? 64 : 32;
    block_rows_ = std::min(side / 2, w.size.height);
    segment_ = std::min(side * side / block_rows_, w.size.width);
    block_rows_ = std::min(side * side / segment_, w.size.height);
    xy_.create(block_rows_, segment_, CV_16SC2);
    if (!nearest_) weights_.create(block_rows_, segment_, CV_16UC1);
    // The coordinates' fixed-point steps along a row (affine): the column's term of the matrix product.
    if (w.affine()) {
      column_x_.resize(w.size.width);
      column_y_.resize(w.size.width);
      for (int x = 0; x < w.size.width; ++x) {
        column_x_[x] = cv::saturate_cast<int>(m_[0] * x * kAffineScale);
        column_y_[x] = cv::saturate_cast<int>(m_[3] * x * kAffineScale);
      }
    }
  }

  // dst(rows) of the warp; dst is the whole output. Block by block, as OpenCV's warp goes, so that a block's maps
  // stay in the cache between making and reading them.
  void Run(const cv::Mat& src, cv::Mat& dst, int first_row, int rows) {
    const int width = w_.size.width;
    for (int top = 0; top < rows; top += block_rows_) {
      const int height = std::min(block_rows_, rows - top);
      for (int x = 0; x < width; x += segment_) {
        const cv::Rect block(x, first_row + top, std::min(segment_, width - x), height);
        MakeMaps(block);
        // Remapped by the same columns as the warp's blocks too: OpenCV 4.14's remap of single-channel float32
        // images computes a block's last columns in another way than its others (values differ in the last bit).
        const cv::Rect maps(0, 0, block.width, block.height);
        cv::Mat part = dst(block);
        cv::remap(src, part, xy_(maps), nearest_ ? cv::Mat() : weights_(maps), w_.interpolation, w_.border,
                  w_.border_value);
        CV_Assert(part.data == dst.ptr(block.y, block.x));
      }
    }
  }

 private:
  // xy_ (and weights_) for the output pixels of `block`.
  void MakeMaps(const cv::Rect& block) {
    const int x = block.x, n = block.width;
    for (int r = 0; r < block.height; ++r) {
      const int y = block.y + r;
      short* xy = xy_.ptr<short>(r);
      short* weights = nearest_ ? nullptr : reinterpret_cast<short*>(weights_.ptr<ushort>(r));
      if (w_.affine()) {
        // Rounded to the nearest source pixel (nearest) or to the nearest 1/32 (the weights' table).
        const int round = nearest_ ? kAffineScale / 2 : kAffineScale / static_cast<int>(cv::INTER_TAB_SIZE) / 2;
        const int x0 = cv::saturate_cast<int>((m_[1] * y + m_[2]) * kAffineScale) + round;
        const int y0 = cv::saturate_cast<int>((m_[4] * y + m_[5]) * kAffineScale) + round;
#if IMGPROC_OPENCV_EXPORTS_WARP_LINES
        if (nearest_) {
          cv::hal::warpAffineBlocklineNN(&column_x_[x], &column_y_[x], xy, x0, y0, n);
        } else {
          cv::hal::warpAffineBlockline(&column_x_[x], &column_y_[x], xy, weights, x0, y0, n);
        }
#else
        warp_line::Affine(&column_x_[x], &column_y_[x], xy, weights, x0, y0, n, kAffineBits);
#endif
      } else {
        // As OpenCV sums them, without fused multiply-adds (the project builds for baseline x86-64; flags that
        // allow FMA would let the compiler fuse these and round differently, which warp_stripes_test shows).
        const double x0 = m_[0] * x + m_[1] * y + m_[2];
        const double y0 = m_[3] * x + m_[4] * y + m_[5];
        const double w0 = m_[6] * x + m_[7] * y + m_[8];
#if IMGPROC_OPENCV_EXPORTS_WARP_LINES
        if (nearest_) {
          cv::hal::warpPerspectiveBlocklineNN(m_, xy, x0, y0, w0, n);
        } else {
          cv::hal::warpPerspectiveBlockline(m_, xy, weights, x0, y0, w0, n);
        }
#else
        warp_line::Perspective(m_, xy, weights, x0, y0, w0, n);
#endif
      }
    }
  }

  // The fixed-point scale of affine coordinates before they are cut to the map's 1/32 pixel.
  static constexpr int kAffineBits = std::max(10, static_cast<int>(cv::INTER_BITS));
  static constexpr int kAffineScale = 1 << kAffineBits;

  const WarpParams& w_;
  const bool nearest_;
  double m_[9] = {};
  cv::Mat inverse_;
  int block_rows_ = 0, segment_ = 0;  // a block's size
  std::vector<int> column_x_, column_y_;
  cv::Mat xy_, weights_;  // a block's maps
};

void SetWarp(StepBinder& b, const WarpParams& w) {
  b.output().width = w.size.width;
  b.output().height = w.size.height;
  b.SetWork(PixelChannels(b.output()) * InterpolationTaps(w.interpolation));
  b.SetParams(w);
  b.SetCpuStriped([w](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
    dst.create(w.size, src.type());
    WarpStripes stripes(w);
    return ForEachStripe(ctx, w.size, {},
                         [&](const cv::Rect& stripe) { stripes.Run(src, dst, stripe.y, stripe.height); });
  });
}

absl::Status BindWarp(const OpArgs& args, int rows, StepBinder& b) {
  const int expected = rows * 3;
  const absl::Span<const double> matrix = args.Doubles("matrix");
  if (static_cast<int>(matrix.size()) != expected) {
    return b.Invalid("matrix",
                     absl::StrCat("needs ", expected, " values, row-major ", rows, "x3 (got ", matrix.size(), ")"));
  }
  WarpParams w;
  w.matrix = cv::Mat(rows, 3, CV_64F);
  for (int i = 0; i < expected; ++i) {
    if (!std::isfinite(matrix[i])) return b.Invalid("matrix", "values must be finite");
    w.matrix.at<double>(i / 3, i % 3) = matrix[i];
  }
  const double det = rows == 2 ? cv::determinant(w.matrix.colRange(0, 2)) : cv::determinant(w.matrix);
  if (std::abs(det) < 1e-12) return b.Invalid("matrix", "is singular (determinant 0)");
  if (args.Bool("inverse_map")) {
    // Both lanes get the forward matrix, so the CPU and CUDA paths read the same parameters.
    if (rows == 2) {
      cv::invertAffineTransform(w.matrix, w.matrix);
    } else {
      w.matrix = w.matrix.inv();
    }
  }
  const int requested_width = args.Int("width"), requested_height = args.Int("height");
  if (requested_width < 0 || requested_height < 0) {
    return b.Invalid(requested_width < 0 ? "width" : "height", "must be >= 0");
  }
  const int64_t width = requested_width > 0 ? requested_width : b.input().width;
  const int64_t height = requested_height > 0 ? requested_height : b.input().height;
  IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, width, height));
  w.size = cv::Size(static_cast<int>(width), static_cast<int>(height));
  if (args.Enum("interpolation") == "INTERPOLATION_AREA") {
    return b.Invalid("interpolation", "AREA is for resize only");
  }
  w.interpolation = ToCvInterpolation(args.Enum("interpolation"));
  w.border = ToCvBorder(args.Enum("border"));
  absl::StatusOr<cv::Scalar> value = ChannelValues(b, "border_value", args.Doubles("border_value"), 0);
  if (!value.ok()) return value.status();
  w.border_value = *value;
  SetWarp(b, w);
  return absl::OkStatus();
}

std::vector<ParamInfo> WarpParamsInfo(const char* matrix_doc) {
  return {{"matrix", "repeated double", matrix_doc, "required", "maps source to destination unless inverse_map"},
          {"width", "int32", ">= 0", "input width", "output width"},
          {"height", "int32", ">= 0", "input height", "output height"},
          {"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC", "LINEAR", ""},
          kBorderParam,
          {"border_value", "repeated double", "1 or one per channel", "0", "colour for BORDER_MODE_CONSTANT"},
          {"inverse_map", "bool", "", "false", "matrix maps destination to source"}};
}

OpDefinition WarpAffineDefinition() {
  return {"warp_affine",
          "Affine transform (cv::warpAffine)",
          WarpParamsInfo("6 values, 2x3, non-singular"),
          [](const OpArgs& args, StepBinder& b) { return BindWarp(args, 2, b); },
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(warp_affine, WarpAffineDefinition());

OpDefinition WarpPerspectiveDefinition() {
  return {"warp_perspective",
          "Perspective transform (cv::warpPerspective)",
          WarpParamsInfo("9 values, 3x3, non-singular"),
          [](const OpArgs& args, StepBinder& b) { return BindWarp(args, 3, b); },
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(warp_perspective, WarpPerspectiveDefinition());

absl::Status BindRotate(const OpArgs& args, StepBinder& b) {
  IMGPROC_RETURN_IF_ERROR(CheckInRange(b, "angle", args.Double("angle"), -1e6, 1e6));
  if (args.Enum("interpolation") == "INTERPOLATION_AREA") {
    return b.Invalid("interpolation", "AREA is for resize only");
  }
  const ImageSpec& in = b.input();
  double angle = std::fmod(args.Double("angle"), 360.0);
  if (angle < 0) angle += 360.0;
  const bool quarter_turn = std::fmod(angle, 90.0) == 0.0;
  WarpParams w;
  if (quarter_turn) {
    // Exact: an integer pixel mapping with nearest-neighbour sampling, identical on CPU and GPU.
    const int turns = static_cast<int>(angle / 90.0);
    const int W = in.width, H = in.height;
    const double m[4][6] = {{1, 0, 0, 0, 1, 0},                            // 0
                            {0, 1, 0, -1, 0, double(W - 1)},               // 90 counter-clockwise
                            {-1, 0, double(W - 1), 0, -1, double(H - 1)},  // 180
                            {0, -1, double(H - 1), 1, 0, 0}};              // 270
    w.matrix = cv::Mat(2, 3, CV_64F, const_cast<double*>(m[turns])).clone();
    w.size = turns % 2 == 1 ? cv::Size(H, W) : cv::Size(W, H);
    w.interpolation = cv::INTER_NEAREST;
    w.border = cv::BORDER_CONSTANT;
    SetWarp(b, w);  // what backends run; the CPU kernel below has a dedicated function
    static constexpr int kRotateCode[] = {-1, cv::ROTATE_90_COUNTERCLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_CLOCKWISE};
    const int code = kRotateCode[turns];
    // In stripes of output rows, each from a band of input columns (rows, for 180 degrees).
    b.SetCpuStriped([code](const cv::Mat& src, cv::Mat& dst, const CpuPassContext& ctx) {
      const bool turned = code == cv::ROTATE_90_COUNTERCLOCKWISE || code == cv::ROTATE_90_CLOCKWISE;
      dst.create(turned ? cv::Size(src.rows, src.cols) : src.size(), src.type());
      return ForEachStripe(ctx, dst.size(), {}, [&](const cv::Rect& stripe) {
        const int y0 = stripe.y, y1 = stripe.y + stripe.height;
        cv::Mat out = dst.rowRange(y0, y1);
        if (code < 0) {
          src.rowRange(y0, y1).copyTo(out);
        } else if (code == cv::ROTATE_90_COUNTERCLOCKWISE) {  // output row y is input column width - 1 - y
          cv::rotate(src.colRange(src.cols - y1, src.cols - y0), out, code);
        } else if (code == cv::ROTATE_90_CLOCKWISE) {  // output row y is input column y
          cv::rotate(src.colRange(y0, y1), out, code);
        } else {  // 180: output row y is input row height - 1 - y, mirrored
          cv::rotate(src.rowRange(src.rows - y1, src.rows - y0), out, code);
        }
      });
    });
    return absl::OkStatus();
  } else {
    const cv::Point2f center((in.width - 1) / 2.0f, (in.height - 1) / 2.0f);
    w.matrix = cv::getRotationMatrix2D(center, angle, 1.0);
    w.size = cv::Size(in.width, in.height);
    if (args.Bool("expand")) {
      const cv::Rect2f box =
          cv::RotatedRect(cv::Point2f(), cv::Size2f(in.width, in.height), float(angle)).boundingRect2f();
      w.size = cv::Size(static_cast<int>(std::ceil(box.width - 1e-3)), static_cast<int>(std::ceil(box.height - 1e-3)));
      w.matrix.at<double>(0, 2) += (w.size.width - 1) / 2.0 - center.x;
      w.matrix.at<double>(1, 2) += (w.size.height - 1) / 2.0 - center.y;
    }
    IMGPROC_RETURN_IF_ERROR(CheckOutputSize(b, w.size.width, w.size.height));
    w.interpolation = ToCvInterpolation(args.Enum("interpolation"));
    w.border = ToCvBorder(args.Enum("border"));
    absl::StatusOr<cv::Scalar> value = ChannelValues(b, "border_value", args.Doubles("border_value"), 0);
    if (!value.ok()) return value.status();
    w.border_value = *value;
  }
  SetWarp(b, w);
  return absl::OkStatus();
}

OpDefinition RotateDefinition() {
  return {"rotate",
          "Rotate counter-clockwise; multiples of 90 degrees are exact",
          {{"angle", "double", "any, degrees", "0", "counter-clockwise"},
           {"interpolation", "enum Interpolation", "LINEAR, NEAREST, CUBIC", "LINEAR", "other angles only"},
           kBorderParam,
           {"border_value", "repeated double", "1 or one per channel", "0", ""},
           {"expand", "bool", "", "false", "grow the output to hold the whole rotated image"}},
          BindRotate,
          {Depth::kU8, Depth::kU16, Depth::kF32}};
}
IMGPROC_REGISTER_OPERATION(rotate, RotateDefinition());

}  // namespace
}  // namespace imgproc
