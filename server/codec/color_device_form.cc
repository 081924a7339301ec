#include "codec/color_device_form.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

size_t Align16(size_t n) { return (n + 15) & ~size_t{15}; }

// sRGB's encoding (IEC 61966-2-1) in double precision, to 8 bits: the table the device indexes.
uint8_t SrgbLevel(double linear) {
  const double encoded = linear <= 0.0031308 ? 12.92 * linear : 1.055 * std::pow(linear, 1.0 / 2.4) - 0.055;
  return static_cast<uint8_t>(std::lround(std::min(1.0, std::max(0.0, encoded)) * 255.0));
}

template <typename T>
size_t Append(std::vector<uint8_t>& tables, const T* values, size_t count) {
  const size_t offset = Align16(tables.size());
  tables.resize(offset + count * sizeof(T));
  std::memcpy(tables.data() + offset, values, count * sizeof(T));
  return offset;
}

// One pixel function over every pixel of an 8-bit image of `channels` channels, the first three of which are BGR.
template <typename PixelFn>
void ForEachBgr(cv::Mat& image, PixelFn fn) {
  const int channels = image.channels();
  for (int y = 0; y < image.rows; ++y) {
    uint8_t* p = image.ptr<uint8_t>(y);
    for (int x = 0; x < image.cols; ++x, p += channels) fn(p);
  }
}

}  // namespace

std::optional<ColorDeviceForm> ColorDeviceForm::For(const ColorTransform& transform) {
  ColorDeviceForm form;
  switch (transform.input()) {
    case ColorTransform::Input::kCmyk: return std::nullopt;
    case ColorTransform::Input::kGray: {
      uint8_t levels[256], curve[256];
      for (int v = 0; v < 256; ++v) levels[v] = static_cast<uint8_t>(v);
      transform.TransformPixels(levels, curve, 256);
      form.kind_ = Kind::kGrayCurve;
      form.gray_offset_ = Append(form.tables_, curve, 256);
      return form;
    }
    case ColorTransform::Input::kRgb: break;
  }
  if (const std::optional<ColorTransform::MatrixShaperForm>& shaper = transform.matrix_shaper_form()) {
    form.kind_ = Kind::kCurvesAndMatrix;
    float to_linear[3 * 256];
    for (int c = 0; c < 3; ++c) std::memcpy(to_linear + 256 * c, shaper->to_linear[c].data(), 256 * sizeof(float));
    std::memcpy(form.matrix_, shaper->to_linear_srgb.data(), sizeof(form.matrix_));
    std::vector<uint8_t> encode(kSrgbEncodeEntries);
    for (int i = 0; i < kSrgbEncodeEntries; ++i) encode[i] = SrgbLevel(double(i) / (kSrgbEncodeEntries - 1));
    form.to_linear_offset_ = Append(form.tables_, to_linear, 3 * 256);
    form.encode_offset_ = Append(form.tables_, encode.data(), encode.size());
    return form;
  }
  return LatticeFor(transform);
}

std::optional<ColorDeviceForm> ColorDeviceForm::LatticeFor(const ColorTransform& transform) {
  const std::vector<float> lattice = transform.SampleLattice(kColorLatticeGrid);
  if (lattice.empty()) return std::nullopt;
  ColorDeviceForm form;
  form.kind_ = Kind::kLattice;
  form.lattice_offset_ = Append(form.tables_, lattice.data(), lattice.size());
  return form;
}

const char* ColorDeviceForm::description() const {
  switch (kind_) {
    case Kind::kCurvesAndMatrix: return "matrix/TRC profile, curves + 3x3 matrix";
    case Kind::kLattice: return "LUT profile, 33^3 lattice, tetrahedral";
    case Kind::kGrayCurve: return "gray profile, curve";
  }
  return "";
}

ColorTablesView ColorDeviceForm::View(const uint8_t* base) const {
  ColorTablesView view;
  switch (kind_) {
    case Kind::kCurvesAndMatrix:
      view.to_linear = reinterpret_cast<const float*>(base + to_linear_offset_);
      std::memcpy(view.matrix, matrix_, sizeof(matrix_));
      view.encode = base + encode_offset_;
      break;
    case Kind::kLattice:
      view.lattice = reinterpret_cast<const float*>(base + lattice_offset_);
      view.grid = kColorLatticeGrid;
      view.lattice_scale = float(kColorLatticeGrid - 1) / 255.0f;
      break;
    case Kind::kGrayCurve: view.gray = base + gray_offset_; break;
  }
  return view;
}

bool ColorDeviceForm::Accepts(int channels) const {
  return channels == 3 || channels == 4 || (channels == 1 && kind_ == Kind::kGrayCurve);
}

absl::Status ColorDeviceForm::ApplyOnCpu(cv::Mat& image) const {
  if (image.depth() != CV_8U || !Accepts(image.channels())) {
    return absl::InternalError(absl::StrCat("device colour form (", description(), ") on ", image.channels(),
                                            " channels of depth ", image.depth()));
  }
  const ColorTablesView view = View(tables_.data());
  switch (kind_) {
    case Kind::kCurvesAndMatrix: ForEachBgr(image, [&view](uint8_t* p) { CurvesAndMatrixPixel(view, p); }); break;
    case Kind::kLattice: ForEachBgr(image, [&view](uint8_t* p) { LatticeTetrahedralPixel(view, p); }); break;
    case Kind::kGrayCurve: {
      const int colours = image.channels() == 4 ? 3 : image.channels();
      ForEachBgr(image, [&view, colours](uint8_t* p) {
        for (int c = 0; c < colours; ++c) p[c] = view.gray[p[c]];
      });
      break;
    }
  }
  return absl::OkStatus();
}

void ApplyLatticeTrilinearOnCpu(const ColorDeviceForm& form, cv::Mat& bgr) {
  const ColorTablesView view = form.View(form.tables().data());
  ForEachBgr(bgr, [&view](uint8_t* p) { LatticeTrilinearPixel(view, p); });
}

}  // namespace imgproc
