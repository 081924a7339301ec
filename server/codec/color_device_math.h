#pragma once
// The per-pixel arithmetic of a colour transform as the CUDA backend applies it (issue 29 item 3), written once for
// both compilers: the kernel (backend/cuda/color_kernel.cu) and the CPU reference the unit tests hold to lcms2
// (codec/color_device_form.h) call these same functions on the same tables, so the tests' figures are the device's.
// Both translation units are built without multiply-add contraction (-fmad=false for nvcc, -ffp-contract=off for the
// host compiler): IEEE single-precision products and sums, rounded alike on the host and the GPU.

#include <cstdint>

#if defined(__CUDACC__)
#define IMGPROC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define IMGPROC_HOST_DEVICE inline
#endif

namespace imgproc {

// Entries of the table that encodes linear sRGB to 8 bits: indexed by the linear value rounded to 1/16383. sRGB's
// curve is steepest at black (12.92 x 255 = 3,294 levels per unit), so a step of 1/16383 moves the result by at most
// 0.1 level: a table of 16 KiB instead of a pow() per channel.
inline constexpr int kSrgbEncodeEntries = 16384;
// The lattice a LUT profile is sampled on (ColorTransform::SampleLattice): 33^3, as ICC's own CLUTs commonly are.
inline constexpr int kColorLatticeGrid = 33;

// Which tables a transform has on the device (ColorDeviceForm::Kind).
enum class ColorDeviceKind { kCurvesAndMatrix, kLattice, kGrayCurve };

// Device (or host) pointers to one transform's tables and the matrix by value; what a kernel launch receives.
struct ColorTablesView {
  const float* to_linear = nullptr;  // [3][256]: R, G, B curves to linear light at each 8-bit level
  float matrix[9] = {};              // row-major, linear source RGB to linear sRGB
  const uint8_t* encode = nullptr;   // [kSrgbEncodeEntries]: linear sRGB in [0, 1] to 8-bit sRGB
  const float* lattice = nullptr;    // [grid^3][3]: sRGB R, G, B in [0, 1]; R fastest, then G, then B
  int grid = 0;
  float lattice_scale = 0;        // (grid - 1) / 255: an 8-bit level to a lattice coordinate
  const uint8_t* gray = nullptr;  // [256]: a gray profile's curve, 8-bit to 8-bit
};

IMGPROC_HOST_DEVICE float ClampUnit(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

IMGPROC_HOST_DEVICE uint8_t EncodeLinearSrgb(const ColorTablesView& t, float linear) {
  return t.encode[static_cast<int>(ClampUnit(linear) * float(kSrgbEncodeEntries - 1) + 0.5f)];
}

// Matrix/TRC profiles: the profile's curves, the 3x3 matrix, sRGB's encoding. `bgr` in and out.
IMGPROC_HOST_DEVICE void CurvesAndMatrixPixel(const ColorTablesView& t, uint8_t* bgr) {
  const float r = t.to_linear[bgr[2]], g = t.to_linear[256 + bgr[1]], b = t.to_linear[512 + bgr[0]];
  const float* m = t.matrix;
  const float out_r = m[0] * r + m[1] * g + m[2] * b;
  const float out_g = m[3] * r + m[4] * g + m[5] * b;
  const float out_b = m[6] * r + m[7] * g + m[8] * b;
  bgr[2] = EncodeLinearSrgb(t, out_r);
  bgr[1] = EncodeLinearSrgb(t, out_g);
  bgr[0] = EncodeLinearSrgb(t, out_b);
}

IMGPROC_HOST_DEVICE uint8_t ToLevel(float v) { return static_cast<uint8_t>(ClampUnit(v) * 255.0f + 0.5f); }

// Any RGB profile: lcms2's transform sampled on the lattice, interpolated tetrahedrally (the cube around the point
// split into six tetrahedra by the order of its fractional coordinates; four lattice entries per pixel instead of
// trilinear's eight, and closer to lcms2 on the test profiles: unit.ColorDeviceFormTest prints both).
IMGPROC_HOST_DEVICE void LatticeTetrahedralPixel(const ColorTablesView& t, uint8_t* bgr) {
  const float pr = bgr[2] * t.lattice_scale, pg = bgr[1] * t.lattice_scale, pb = bgr[0] * t.lattice_scale;
  int ir = static_cast<int>(pr), ig = static_cast<int>(pg), ib = static_cast<int>(pb);
  ir = ir > t.grid - 2 ? t.grid - 2 : ir;
  ig = ig > t.grid - 2 ? t.grid - 2 : ig;
  ib = ib > t.grid - 2 ? t.grid - 2 : ib;
  const float fr = pr - ir, fg = pg - ig, fb = pb - ib;
  const int sr = 3, sg = 3 * t.grid, sb = 3 * t.grid * t.grid;  // strides in floats
  const float* c000 = t.lattice + ir * sr + ig * sg + ib * sb;
  const float* c111 = c000 + sr + sg + sb;
  // Each tetrahedron runs from c000 through two more corners to c111, along the largest fraction first.
  const float *p1, *p2;
  float w0, w1, w2, w3;  // weights of c000, p1, p2, c111
  if (fr >= fg) {
    if (fg >= fb) {  // r >= g >= b
      p1 = c000 + sr, p2 = c000 + sr + sg, w0 = 1 - fr, w1 = fr - fg, w2 = fg - fb, w3 = fb;
    } else if (fr >= fb) {  // r >= b > g
      p1 = c000 + sr, p2 = c000 + sr + sb, w0 = 1 - fr, w1 = fr - fb, w2 = fb - fg, w3 = fg;
    } else {  // b > r >= g
      p1 = c000 + sb, p2 = c000 + sr + sb, w0 = 1 - fb, w1 = fb - fr, w2 = fr - fg, w3 = fg;
    }
  } else {
    if (fr >= fb) {  // g > r >= b
      p1 = c000 + sg, p2 = c000 + sr + sg, w0 = 1 - fg, w1 = fg - fr, w2 = fr - fb, w3 = fb;
    } else if (fg >= fb) {  // g >= b > r
      p1 = c000 + sg, p2 = c000 + sg + sb, w0 = 1 - fg, w1 = fg - fb, w2 = fb - fr, w3 = fr;
    } else {  // b > g > r
      p1 = c000 + sb, p2 = c000 + sg + sb, w0 = 1 - fb, w1 = fb - fg, w2 = fg - fr, w3 = fr;
    }
  }
  for (int c = 0; c < 3; ++c) {
    bgr[2 - c] = ToLevel(w0 * c000[c] + w1 * p1[c] + w2 * p2[c] + w3 * c111[c]);
  }
}

// The same lattice interpolated trilinearly: kept beside the tetrahedral form for the unit test's comparison.
IMGPROC_HOST_DEVICE void LatticeTrilinearPixel(const ColorTablesView& t, uint8_t* bgr) {
  const float pr = bgr[2] * t.lattice_scale, pg = bgr[1] * t.lattice_scale, pb = bgr[0] * t.lattice_scale;
  int ir = static_cast<int>(pr), ig = static_cast<int>(pg), ib = static_cast<int>(pb);
  ir = ir > t.grid - 2 ? t.grid - 2 : ir;
  ig = ig > t.grid - 2 ? t.grid - 2 : ig;
  ib = ib > t.grid - 2 ? t.grid - 2 : ib;
  const float fr = pr - ir, fg = pg - ig, fb = pb - ib;
  const int sr = 3, sg = 3 * t.grid, sb = 3 * t.grid * t.grid;
  const float* c000 = t.lattice + ir * sr + ig * sg + ib * sb;
  for (int c = 0; c < 3; ++c) {
    const float x00 = c000[c] + fr * (c000[sr + c] - c000[c]);
    const float x10 = c000[sg + c] + fr * (c000[sg + sr + c] - c000[sg + c]);
    const float x01 = c000[sb + c] + fr * (c000[sb + sr + c] - c000[sb + c]);
    const float x11 = c000[sb + sg + c] + fr * (c000[sb + sg + sr + c] - c000[sb + sg + c]);
    const float y0 = x00 + fg * (x10 - x00), y1 = x01 + fg * (x11 - x01);
    bgr[2 - c] = ToLevel(y0 + fb * (y1 - y0));
  }
}

}  // namespace imgproc
