#pragma once
// Colour management of decoded images (issue 29): Little CMS 2 builds a transform from an input's profile
// (codec/color_profile.h) to sRGB once per distinct profile, a bounded cache keeps it, and the lanes apply it to
// the decoded 8-bit pixels before the chain.
//
// Rendering intent: perceptual. For matrix/TRC profiles (Adobe RGB, ProPhoto, Display P3, Rec.709: most photos)
// lcms2 computes perceptual and relative colorimetric the same way (they have no perceptual table); for LUT
// profiles perceptual takes the A2B0 table, which is what browsers (Chrome's skcms, Firefox's qcms) render a tagged
// image with, so an answer looks as the original did in a browser. README's "Colour" section has the measurements.

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codec/color_profile.h"
#include "common/mutex.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

// What the request asks of an input's colour information.
enum class ColorPolicy {
  kConvertToSrgb,  // the pixels converted to sRGB (default)
  kKeep,           // the pixels as stored; the profile handed to the encoder to embed (Plan::color.profile)
  kIgnore,         // the pixels as stored, the profile dropped: the behaviour before issue 29
};

// What was done with it, as the response and imgproc_color_conversions_total{kind} say.
enum class ColorAction {
  kNone,         // no colour information: taken as sRGB
  kAlreadySrgb,  // a profile (or PNG sRGB chunk) that is sRGB: nothing to do
  kConverted,    // converted to sRGB
  kKept,         // pixels untouched, profile kept (ColorPolicy::kKeep)
  kIgnored,      // pixels untouched, profile dropped (ColorPolicy::kIgnore, or not applicable to this decode)
  kInvalid,      // a profile that could not be read or used: pixels untouched; ColorDecision::reason says why
};
const char* ColorActionName(ColorAction action);

// The largest memory one profile's lcms2 context may hold (its parsed tags and the transform's tables); a hostile
// profile that declares a CLUT of gigabytes fails its allocation instead. Real transforms take well under 1 MiB.
inline constexpr size_t kMaxColorTransformBytes = size_t{64} << 20;

// A profile read by lcms2, with a transform from it to sRGB for 8-bit pixels. Immutable once built: lanes on
// any thread apply the same one (lcms2 transforms are reentrant; the 1-pixel cache is off).
class ColorTransform {
 public:
  enum class Input { kRgb, kGray, kCmyk };

  // INVALID_ARGUMENT with lcms2's reason for a profile it cannot read or build a transform from (a device link, an
  // abstract profile, a colour space other than RGB, gray and CMYK).
  // `sixteen_bit`: the transform takes and gives 16-bit pixels (lcms2's TYPE_*_16 formats), for the 16-bit decode;
  // a CMYK profile's is always 8-bit (the ink comes from a JPEG, 8 bits; the lane scales the result).
  static absl::StatusOr<std::shared_ptr<const ColorTransform>> FromIcc(const std::string& profile,
                                                                       bool sixteen_bit = false);
  // A PNG's gAMA (and cHRM, else sRGB's primaries and D65) as an RGB profile.
  static absl::StatusOr<std::shared_ptr<const ColorTransform>> FromPngGamma(const ColorSource& source,
                                                                            bool sixteen_bit = false);
  ~ColorTransform();
  ColorTransform(const ColorTransform&) = delete;
  ColorTransform& operator=(const ColorTransform&) = delete;

  Input input() const { return input_; }
  // Apply takes CV_16U pixels (else CV_8U).
  bool sixteen_bit() const { return sixteen_bit_; }
  const std::string& description() const { return description_; }
  // Curves and a 3x3 matrix (a matrix/TRC profile): what a GPU kernel can apply exactly (issue 29 item 3); a LUT
  // profile needs a 3D table sampled from lcms2 instead.
  bool matrix_shaper() const { return matrix_shaper_; }
  // The transform maps every input within one level of itself (an sRGB profile, or one as good as sRGB).
  bool identity() const { return identity_; }
  // Memory lcms2 holds for it (parsed profile and transform tables), as its allocator counted.
  size_t bytes() const;

  // kRgb: 8-bit BGR or BGRA (alpha untouched); kGray: 8-bit gray, BGR or BGRA, each colour channel through the
  // profile's curve; kCmyk: CV_8UC4 CMYK ink as stored (Adobe's inverted ink when `inverted_cmyk`) to BGR.
  // A sixteen_bit() transform takes the same layouts in CV_16U.
  absl::Status Apply(cv::Mat& image, bool inverted_cmyk = false) const;

  // lcms2's own 8-bit conversion of `count` packed pixels (BGR, gray or CMYK as input()) to BGR (gray for
  // kGray): the reference the tests hold Apply to, and what a GPU table can be sampled from. (Of a sixteen_bit()
  // transform: the values scaled by 257 in and round(v / 257) out.)
  void TransformPixels(const uint8_t* in, uint8_t* out, size_t count) const;
  // The 16-bit conversion of a sixteen_bit() transform (else through the 8-bit one, round(v / 257) in, v * 257 out).
  void TransformPixels16(const uint16_t* in, uint16_t* out, size_t count) const;

  // The same transform in the two forms a device kernel can apply (issue 29 item 3, the CUDA backend):
  // - matrix/TRC profiles (matrix_shaper()): per-channel curves to linear light, one 3x3 matrix from linear source
  //   RGB to linear sRGB (both through the D50 connection space, as lcms2 links them), then sRGB's encoding curve
  //   and clipping to [0, 1]. unit.ColorDeviceFormTest holds a float implementation of it to lcms2: 61.9 dB at
  //   worst over the five matrix/TRC test profiles.
  struct MatrixShaperForm {
    std::array<std::array<float, 256>, 3> to_linear;  // R, G, B: the profile's curve at each 8-bit level
    std::array<float, 9> to_linear_srgb;              // row-major; rows give linear sRGB R, G, B from linear R, G, B
  };
  const std::optional<MatrixShaperForm>& matrix_shaper_form() const { return matrix_shaper_form_; }
  // - any RGB profile: lcms2's transform sampled on a grid x grid x grid lattice of the source's R, G, B (R fastest,
  //   then G, then B), each entry sRGB R, G, B in [0, 1] (16-bit precision); interpolate it (trilinear or
  //   tetrahedral) between lattice points. Empty for gray and CMYK transforms or a grid outside [2, 129]. For LUT
  //   profiles: 33^3 trilinear is 55.6 dB from lcms2 on the test LUT profile; not for matrix/TRC ones, where it
  //   falls to 41.5 dB (ProPhoto: the steep dark end and the gamut clip fall between lattice points).
  std::vector<float> SampleLattice(int grid) const;

  struct Context;  // the lcms2 context it was built in (color_transform.cc)

 private:
  ColorTransform() = default;
  absl::Status Apply16(cv::Mat& image, int channels) const;
  static absl::StatusOr<std::shared_ptr<const ColorTransform>> Build(std::unique_ptr<Context> context, void* profile,
                                                                     bool sixteen_bit);

  std::unique_ptr<Context> context_;
  void* transform_ = nullptr;  // cmsHTRANSFORM
  Input input_ = Input::kRgb;
  std::string description_;
  bool matrix_shaper_ = false;
  std::optional<MatrixShaperForm> matrix_shaper_form_;
  std::shared_ptr<const std::string> source_profile_;  // for SampleLattice's 16-bit transform
  bool identity_ = false;
  uint8_t gray_table_[256] = {};
  bool sixteen_bit_ = false;
  std::vector<uint16_t> gray_table16_;  // sixteen_bit() gray: the curve at each of the 65536 levels
};

// Transforms by the SHA-256 of their profile (or of a PNG's gamma chunks), at most max_entries of them holding
// max_bytes in all (profile bytes and lcms2's), least recently used dropped first. A profile lcms2 refuses is kept
// too, with its error, so that a client repeating a hostile profile costs one parse. Thread-safe; a transform is
// built outside the lock (two threads that miss at once may both build it; one is kept).
class ColorTransformCache {
 public:
  ColorTransformCache(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}
  // The server's: 64 transforms, 64 MiB.
  static ColorTransformCache& Shared();

  struct Lookup {
    absl::StatusOr<std::shared_ptr<const ColorTransform>> transform;
    std::string sha256;  // hex, of the profile's bytes (for PNG gamma: of its chunks' values)
  };
  // `sixteen_bit`: the transform for the 16-bit decode (ColorTransform::FromIcc); cached apart from the 8-bit one.
  Lookup Get(const ColorSource& source, bool sixteen_bit = false) ABSL_LOCKS_EXCLUDED(mu_);

  size_t entries() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t builds() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    absl::StatusOr<std::shared_ptr<const ColorTransform>> transform;
    size_t bytes = 0;
    std::list<std::string>::iterator recency;
  };
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> recency_ ABSL_GUARDED_BY(mu_);  // front: most recently used
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t builds_ ABSL_GUARDED_BY(mu_) = 0;
};

// What a request does with its input's colours: decided with the plan (pipeline/plan.h), before it queues, and
// reported in the response (ProcessResponse.color).
struct ColorDecision {
  ColorAction action = ColorAction::kNone;
  std::string reason;       // why, for kIgnored and kInvalid (and how, for kConverted)
  std::string source;       // where the colour information came from: "jpeg APP2 ICC_PROFILE", "png sRGB", ...
  std::string description;  // the profile's description tag, as lcms2 reads it
  std::string sha256;       // hex, of the profile's bytes (a PNG's gAMA/cHRM: of their values)
  std::shared_ptr<const ColorTransform> transform;  // kConverted: what the lane applies after decoding
  // The input's ICC profile as it came, where it had one (cleared when it is unusable).
  std::shared_ptr<const std::string> profile;
  // The profile the pixels are in once the lane has decoded (and converted) them: what an encoder that embeds a
  // profile writes. The input's under kKept and kAlreadySrgb, lcms2's sRGB after kConverted, none otherwise (the
  // pixels are then either untagged or, under kIgnored and kInvalid, in a space nobody vouches for).
  std::shared_ptr<const std::string> pixels_profile;
};

// lcms2's sRGB profile, saved once: what a converted answer is in.
std::shared_ptr<const std::string> SrgbIccProfile();

// The hex SHA-256 of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace imgproc
