#pragma once
// A colour transform (codec/color_transform.h) in the form the CUDA backend applies it on the device (issue 29 item
// 3): its tables built once, in one block of bytes to upload in one copy, and a CPU reference that runs the device's
// arithmetic (codec/color_device_math.h) on them, which the unit tests hold to lcms2.
//
// - matrix/TRC RGB profiles (Display P3, Adobe RGB, ProPhoto, Rec.709: most photos): the profile's curves as 256-entry
//   tables, the 3x3 matrix to linear sRGB, sRGB's encoding as a table of kSrgbEncodeEntries;
// - any other RGB profile (LUT-based): lcms2's transform sampled on a 33^3 lattice, interpolated tetrahedrally;
// - gray profiles: the profile's 8-bit curve (lcms2's own, 256 entries), on each colour channel.
// CMYK transforms have none: CMYK JPEGs are decoded and converted on the CPU.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codec/color_device_math.h"
#include "codec/color_transform.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

class ColorDeviceForm {
 public:
  using Kind = ColorDeviceKind;

  // nullopt where the transform has no device form (CMYK, or a lattice lcms2 could not sample).
  static std::optional<ColorDeviceForm> For(const ColorTransform& transform);
  // The lattice form of any RGB transform, matrix/TRC ones too (For() gives those the curves): for the unit test
  // that measures what a lattice would cost them.
  static std::optional<ColorDeviceForm> LatticeFor(const ColorTransform& transform);

  Kind kind() const { return kind_; }
  // For the response's reason: "matrix/TRC profile, curves + 3x3 matrix", "LUT profile, 33^3 lattice, tetrahedral",
  // "gray profile, curve".
  const char* description() const;
  // Every table, packed: what one upload copies to the device. 16-byte aligned offsets.
  const std::vector<uint8_t>& tables() const { return tables_; }
  // The tables at `base` (the packed block's address on the device, or tables().data() on the host).
  ColorTablesView View(const uint8_t* base) const;

  // The device's arithmetic on the CPU, in place: kCurvesAndMatrix and kLattice take BGR or BGRA (alpha untouched),
  // kGrayCurve gray, BGR or BGRA. INTERNAL for any other layout (as ColorTransform::Apply).
  absl::Status ApplyOnCpu(cv::Mat& image) const;
  // Channel counts the form takes (the kernel's too).
  bool Accepts(int channels) const;

 private:
  ColorDeviceForm() = default;

  Kind kind_ = Kind::kCurvesAndMatrix;
  std::vector<uint8_t> tables_;
  float matrix_[9] = {};
  size_t to_linear_offset_ = 0, encode_offset_ = 0, lattice_offset_ = 0, gray_offset_ = 0;
};

// The trilinear interpolation of the same lattice on the CPU, for the unit test that compares it with the tetrahedral
// one the device uses (BGR in place).
void ApplyLatticeTrilinearOnCpu(const ColorDeviceForm& form, cv::Mat& bgr);

}  // namespace imgproc
