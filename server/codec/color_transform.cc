#include "codec/color_transform.h"

#include <lcms2.h>
#include <lcms2_plugin.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace imgproc {

const char* ColorActionName(ColorAction action) {
  switch (action) {
    case ColorAction::kNone: return "none";
    case ColorAction::kAlreadySrgb: return "srgb";
    case ColorAction::kConverted: return "converted";
    case ColorAction::kKept: return "kept";
    case ColorAction::kIgnored: return "ignored";
    case ColorAction::kInvalid: return "invalid";
  }
  return "unknown";
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

// Each profile gets an lcms2 context of its own: its allocator counts (and caps) what lcms2 holds for it, and its
// error handler keeps lcms2's first message for the client. The context outlives the transform made in it.
struct ColorTransform::Context {
  std::atomic<size_t> bytes{0};
  std::atomic<bool> refused{false};
  std::string first_error;
  cmsContext handle = nullptr;
  ~Context() {
    if (handle != nullptr) cmsDeleteContext(handle);
  }
};

namespace {

using Context = ColorTransform::Context;

// Every block carries its size in front, so that free and realloc can count it.
constexpr size_t kBlockHeader = 16;

Context* ContextOf(cmsContext id) { return static_cast<Context*>(cmsGetContextUserData(id)); }

void* CountedMalloc(cmsContext id, cmsUInt32Number size) {
  Context* context = ContextOf(id);
  if (context != nullptr && context->bytes.load() + size > kMaxColorTransformBytes) {
    context->refused = true;
    return nullptr;
  }
  auto* block = static_cast<unsigned char*>(std::malloc(kBlockHeader + size));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  if (context != nullptr) context->bytes += size;
  return block + kBlockHeader;
}

void CountedFree(cmsContext id, void* pointer) {
  if (pointer == nullptr) return;
  unsigned char* block = static_cast<unsigned char*>(pointer) - kBlockHeader;
  cmsUInt32Number size = 0;
  std::memcpy(&size, block, sizeof(size));
  if (Context* context = ContextOf(id); context != nullptr) context->bytes -= size;
  std::free(block);
}

void* CountedRealloc(cmsContext id, void* pointer, cmsUInt32Number size) {
  void* fresh = CountedMalloc(id, size);
  if (fresh == nullptr || pointer == nullptr) return fresh;
  cmsUInt32Number old = 0;
  std::memcpy(&old, static_cast<unsigned char*>(pointer) - kBlockHeader, sizeof(old));
  std::memcpy(fresh, pointer, std::min(old, size));
  CountedFree(id, pointer);
  return fresh;
}

cmsPluginMemHandler CountingAllocator() {
  cmsPluginMemHandler handler{};
  handler.base.Magic = cmsPluginMagicNumber;
  handler.base.ExpectedVersion = 2000;
  handler.base.Type = cmsPluginMemHandlerSig;
  handler.MallocPtr = CountedMalloc;
  handler.FreePtr = CountedFree;
  handler.ReallocPtr = CountedRealloc;
  return handler;
}

void KeepFirstError(cmsContext id, cmsUInt32Number, const char* text) {
  Context* context = ContextOf(id);
  if (context != nullptr && context->first_error.empty()) context->first_error = text;
}

absl::StatusOr<std::unique_ptr<Context>> NewContext() {
  auto context = std::make_unique<Context>();
  static cmsPluginMemHandler allocator = CountingAllocator();
  context->handle = cmsCreateContext(&allocator, context.get());
  if (context->handle == nullptr) return absl::ResourceExhaustedError("lcms2 could not create a context");
  cmsSetLogErrorHandlerTHR(context->handle, KeepFirstError);
  return context;
}

absl::Status Refused(const Context& context, absl::string_view what) {
  std::string why = context.first_error.empty() ? "lcms2 refused it" : context.first_error;
  if (context.refused) {
    why = absl::StrCat("it needs more than ", kMaxColorTransformBytes >> 20, " MiB (", why, ")");
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

std::string ColorSpaceName(uint32_t space) {
  const uint32_t s = space;
  std::string name;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((s >> shift) & 0xFF);
    if (c != ' ') name += (c >= 32 && c < 127) ? c : '?';
  }
  return name;
}

// sRGB's transfer curve as a gray profile: where a gray image's values end up.
cmsHPROFILE SrgbGrayProfile(cmsContext id) {
  const cmsFloat64Number srgb[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
  cmsToneCurve* curve = cmsBuildParametricToneCurve(id, 4, srgb);
  if (curve == nullptr) return nullptr;
  cmsHPROFILE gray = cmsCreateGrayProfileTHR(id, cmsD50_xyY(), curve);
  cmsFreeToneCurve(curve);
  return gray;
}

// A matrix/TRC profile's colorants (D50, as the profile connection space has them) as the columns of the matrix from
// its linear RGB to XYZ; false when a tag is missing.
bool ColorantMatrix(cmsHPROFILE profile, double m[9]) {
  const cmsTagSignature tags[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag};
  for (int c = 0; c < 3; ++c) {
    const auto* xyz = static_cast<const cmsCIEXYZ*>(cmsReadTag(profile, tags[c]));
    if (xyz == nullptr) return false;
    m[0 * 3 + c] = xyz->X;
    m[1 * 3 + c] = xyz->Y;
    m[2 * 3 + c] = xyz->Z;
  }
  return true;
}

std::optional<ColorTransform::MatrixShaperForm> ReadMatrixShaperForm(cmsHPROFILE source, cmsHPROFILE srgb) {
  double from[9], to[9];
  if (!ColorantMatrix(source, from) || !ColorantMatrix(srgb, to)) return std::nullopt;
  const cv::Matx33d to_linear_srgb = cv::Matx33d(to).inv() * cv::Matx33d(from);
  ColorTransform::MatrixShaperForm form;
  for (int k = 0; k < 9; ++k) form.to_linear_srgb[k] = static_cast<float>(to_linear_srgb.val[k]);
  const cmsTagSignature curves[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
  for (int c = 0; c < 3; ++c) {
    const auto* curve = static_cast<const cmsToneCurve*>(cmsReadTag(source, curves[c]));
    if (curve == nullptr) return std::nullopt;
    for (int v = 0; v < 256; ++v) form.to_linear[c][v] = cmsEvalToneCurveFloat(curve, static_cast<float>(v / 255.0));
  }
  return form;
}

}  // namespace

ColorTransform::~ColorTransform() {
  if (transform_ != nullptr) cmsDeleteTransform(static_cast<cmsHTRANSFORM>(transform_));
}

size_t ColorTransform::bytes() const { return context_ != nullptr ? context_->bytes.load() : 0; }

absl::StatusOr<std::shared_ptr<const ColorTransform>> ColorTransform::FromIcc(const std::string& profile,
                                                                              bool sixteen_bit) {
  // The header (128 bytes) and the tag count: lcms2 would refuse less too, with a vaguer message.
  if (profile.size() < 132) {
    return absl::InvalidArgumentError(
        absl::StrCat("ICC profile of ", profile.size(), " bytes: shorter than its header"));
  }
  absl::StatusOr<std::unique_ptr<Context>> context = NewContext();
  if (!context.ok()) return context.status();
  cmsHPROFILE source =
      cmsOpenProfileFromMemTHR((*context)->handle, profile.data(), static_cast<cmsUInt32Number>(profile.size()));
  if (source == nullptr) return Refused(**context, "ICC profile not readable");
  absl::StatusOr<std::shared_ptr<const ColorTransform>> built = Build(*std::move(context), source, sixteen_bit);
  if (built.ok()) const_cast<ColorTransform&>(**built).source_profile_ = std::make_shared<const std::string>(profile);
  return built;
}

absl::StatusOr<std::shared_ptr<const ColorTransform>> ColorTransform::FromPngGamma(const ColorSource& png,
                                                                                   bool sixteen_bit) {
  absl::StatusOr<std::unique_ptr<Context>> context = NewContext();
  if (!context.ok()) return context.status();
  const cmsContext id = (*context)->handle;
  // sRGB's primaries and white (Rec. 709, D65) where no cHRM says otherwise.
  std::array<double, 8> c = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};
  if (png.png_chromaticities.has_value()) {
    for (int k = 0; k < 8; ++k) c[k] = (*png.png_chromaticities)[k] / 100000.0;
  }
  const cmsCIExyY white = {c[0], c[1], 1.0};
  const cmsCIExyYTRIPLE primaries = {{c[2], c[3], 1.0}, {c[4], c[5], 1.0}, {c[6], c[7], 1.0}};
  // gAMA is the encoding exponent (0.45455 for a 2.2 display gamma): the decoding curve is its inverse.
  cmsToneCurve* curve = cmsBuildGamma(id, 100000.0 / png.png_gamma);
  if (curve == nullptr) return Refused(**context, "PNG gAMA");
  cmsToneCurve* curves[3] = {curve, curve, curve};
  cmsHPROFILE source = cmsCreateRGBProfileTHR(id, &white, &primaries, curves);
  cmsFreeToneCurve(curve);
  if (source == nullptr) return Refused(**context, "PNG gAMA/cHRM do not make a profile");
  cmsUInt32Number saved_size = 0;
  std::string saved;
  if (cmsSaveProfileToMem(source, nullptr, &saved_size)) {
    saved.resize(saved_size);
    if (!cmsSaveProfileToMem(source, saved.data(), &saved_size)) saved.clear();
  }
  absl::StatusOr<std::shared_ptr<const ColorTransform>> built = Build(*std::move(context), source, sixteen_bit);
  if (built.ok()) {
    const_cast<ColorTransform&>(**built).description_ =
        png.png_chromaticities.has_value()
            ? absl::StrFormat("PNG gAMA %.5f, cHRM", png.png_gamma / 100000.0)
            : absl::StrFormat("PNG gAMA %.5f (sRGB primaries)", png.png_gamma / 100000.0);
    if (!saved.empty())
      const_cast<ColorTransform&>(**built).source_profile_ = std::make_shared<const std::string>(saved);
  }
  return built;
}

absl::StatusOr<std::shared_ptr<const ColorTransform>> ColorTransform::Build(std::unique_ptr<Context> context,
                                                                            void* opened, bool sixteen_bit) {
  const cmsContext id = context->handle;
  cmsHPROFILE source = static_cast<cmsHPROFILE>(opened);
  std::shared_ptr<ColorTransform> built(new ColorTransform());
  char description[256] = "";
  cmsGetProfileInfoASCII(source, cmsInfoDescription, "en", "US", description, sizeof(description));
  built->description_ = description;
  // As integers: a profile's header may hold any 32-bit value there, which an enum variable must not (UBSan, found
  // by fuzz_color_profile).
  const uint32_t device_class = static_cast<uint32_t>(cmsGetDeviceClass(source));
  const uint32_t space = static_cast<uint32_t>(cmsGetColorSpace(source));
  absl::Status problem;
  if (device_class == cmsSigLinkClass || device_class == cmsSigAbstractClass || device_class == cmsSigNamedColorClass) {
    problem = absl::InvalidArgumentError(
        "ICC profile is a device link, abstract or named-colour profile, not an "
        "image's colour space");
  }
  cmsUInt32Number in_format = 0, out_format = TYPE_BGR_8;
  if (space == cmsSigRgbData) {
    built->input_ = Input::kRgb;
    in_format = TYPE_BGR_8;
  } else if (space == cmsSigGrayData) {
    built->input_ = Input::kGray;
    in_format = TYPE_GRAY_8;
    out_format = TYPE_GRAY_8;
  } else if (space == cmsSigCmykData) {
    built->input_ = Input::kCmyk;
    in_format = TYPE_CMYK_8;
    sixteen_bit = false;  // the ink is a JPEG's, 8 bits
  } else if (problem.ok()) {
    problem = absl::InvalidArgumentError(
        absl::StrCat("ICC profile of colour space '", ColorSpaceName(space), "': RGB, gray and CMYK are converted"));
  }
  cmsHPROFILE target = nullptr;
  if (problem.ok()) target = out_format == TYPE_GRAY_8 ? SrgbGrayProfile(id) : cmsCreate_sRGBProfileTHR(id);
  built->sixteen_bit_ = sixteen_bit;
  if (sixteen_bit) {  // the same layouts, 2 bytes a sample
    in_format = in_format == TYPE_GRAY_8 ? TYPE_GRAY_16 : TYPE_BGR_16;
    out_format = out_format == TYPE_GRAY_8 ? TYPE_GRAY_16 : TYPE_BGR_16;
  }
  if (problem.ok() && target == nullptr) problem = Refused(*context, "building the sRGB profile");
  if (problem.ok()) {
    built->matrix_shaper_ = cmsIsMatrixShaper(source) != 0;
    built->transform_ =
        cmsCreateTransformTHR(id, source, in_format, target, out_format, INTENT_PERCEPTUAL, cmsFLAGS_NOCACHE);
    if (built->transform_ == nullptr) problem = Refused(*context, "no transform from this ICC profile to sRGB");
  }
  if (problem.ok() && built->matrix_shaper_ && built->input_ == Input::kRgb) {
    built->matrix_shaper_form_ = ReadMatrixShaperForm(source, target);
  }
  if (target != nullptr) cmsCloseProfile(target);
  cmsCloseProfile(source);
  built->context_ = std::move(context);
  if (!problem.ok()) return problem;

  // Gray is a curve: 256 entries, applied to each colour channel of whatever the decoder gave.
  if (built->input_ == Input::kGray) {
    uint8_t levels[256];
    for (int v = 0; v < 256; ++v) levels[v] = static_cast<uint8_t>(v);
    built->TransformPixels(levels, built->gray_table_, 256);
    if (built->sixteen_bit_) {
      std::vector<uint16_t> levels16(65536);
      for (int v = 0; v < 65536; ++v) levels16[v] = static_cast<uint16_t>(v);
      built->gray_table16_.resize(65536);
      built->TransformPixels16(levels16.data(), built->gray_table16_.data(), levels16.size());
    }
  }
  // An sRGB profile (or one within a level of it everywhere it is probed) changes nothing: its transform is
  // skipped. Probed on a 16-level grid of colours and every gray.
  if (built->input_ != Input::kCmyk) {
    std::vector<uint8_t> probe;
    if (built->input_ == Input::kGray) {
      probe.resize(256);
      for (int v = 0; v < 256; ++v) probe[v] = static_cast<uint8_t>(v);
    } else {
      for (int b = 0; b < 256; b += 17)
        for (int g = 0; g < 256; g += 17)
          for (int r = 0; r < 256; r += 17) probe.insert(probe.end(), {uint8_t(b), uint8_t(g), uint8_t(r)});
      for (int v = 0; v < 256; ++v) probe.insert(probe.end(), {uint8_t(v), uint8_t(v), uint8_t(v)});
    }
    const size_t channels = built->input_ == Input::kGray ? 1 : 3;
    std::vector<uint8_t> out(probe.size());
    built->TransformPixels(probe.data(), out.data(), probe.size() / channels);
    built->identity_ = std::equal(probe.begin(), probe.end(), out.begin(),
                                  [](uint8_t a, uint8_t b) { return std::abs(int{a} - int{b}) <= 1; });
  }
  return std::shared_ptr<const ColorTransform>(std::move(built));
}

void ColorTransform::TransformPixels(const uint8_t* in, uint8_t* out, size_t count) const {
  if (!sixteen_bit_) {
    cmsDoTransform(static_cast<cmsHTRANSFORM>(transform_), in, out, static_cast<cmsUInt32Number>(count));
    return;
  }
  const size_t in_values = count * (input_ == Input::kGray ? 1 : input_ == Input::kCmyk ? 4 : 3);
  const size_t out_values = count * (input_ == Input::kGray ? 1 : 3);
  std::vector<uint16_t> wide(in_values), result(out_values);
  for (size_t i = 0; i < in_values; ++i) wide[i] = static_cast<uint16_t>(in[i] * 257);
  cmsDoTransform(static_cast<cmsHTRANSFORM>(transform_), wide.data(), result.data(),
                 static_cast<cmsUInt32Number>(count));
  for (size_t i = 0; i < out_values; ++i) out[i] = static_cast<uint8_t>((result[i] + 128) / 257);
}

void ColorTransform::TransformPixels16(const uint16_t* in, uint16_t* out, size_t count) const {
  if (sixteen_bit_) {
    cmsDoTransform(static_cast<cmsHTRANSFORM>(transform_), in, out, static_cast<cmsUInt32Number>(count));
    return;
  }
  const size_t in_values = count * (input_ == Input::kGray ? 1 : input_ == Input::kCmyk ? 4 : 3);
  const size_t out_values = count * (input_ == Input::kGray ? 1 : 3);
  std::vector<uint8_t> narrow(in_values), result(out_values);
  for (size_t i = 0; i < in_values; ++i) narrow[i] = static_cast<uint8_t>((in[i] + 128) / 257);
  cmsDoTransform(static_cast<cmsHTRANSFORM>(transform_), narrow.data(), result.data(),
                 static_cast<cmsUInt32Number>(count));
  for (size_t i = 0; i < out_values; ++i) out[i] = static_cast<uint16_t>(result[i] * 257);
}

std::vector<float> ColorTransform::SampleLattice(int grid) const {
  std::vector<float> lattice;
  if (input_ != Input::kRgb || grid < 2 || grid > 129 || source_profile_ == nullptr) return lattice;
  absl::StatusOr<std::unique_ptr<Context>> context = NewContext();
  if (!context.ok()) return lattice;
  const cmsContext id = (*context)->handle;
  cmsHPROFILE source =
      cmsOpenProfileFromMemTHR(id, source_profile_->data(), static_cast<cmsUInt32Number>(source_profile_->size()));
  cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(id);
  cmsHTRANSFORM transform =
      source != nullptr && srgb != nullptr
          ? cmsCreateTransformTHR(id, source, TYPE_RGB_16, srgb, TYPE_RGB_16, INTENT_PERCEPTUAL, cmsFLAGS_NOCACHE)
          : nullptr;
  if (transform != nullptr) {
    const size_t points = static_cast<size_t>(grid) * grid * grid;
    std::vector<uint16_t> in(points * 3), out(points * 3);
    size_t i = 0;
    for (int b = 0; b < grid; ++b)
      for (int g = 0; g < grid; ++g)
        for (int r = 0; r < grid; ++r, i += 3) {
          in[i] = static_cast<uint16_t>(r * 65535 / (grid - 1));
          in[i + 1] = static_cast<uint16_t>(g * 65535 / (grid - 1));
          in[i + 2] = static_cast<uint16_t>(b * 65535 / (grid - 1));
        }
    cmsDoTransform(transform, in.data(), out.data(), static_cast<cmsUInt32Number>(points));
    lattice.resize(points * 3);
    for (size_t k = 0; k < lattice.size(); ++k) lattice[k] = out[k] / 65535.0f;
    cmsDeleteTransform(transform);
  }
  if (srgb != nullptr) cmsCloseProfile(srgb);
  if (source != nullptr) cmsCloseProfile(source);
  return lattice;
}

namespace {

// The colour channels of a BGR or BGRA image (8- or 16-bit samples) through `transform_row` (lcms2 on one row of BGR
// pixels), alpha left as it is.
template <typename Sample, typename TransformRow>
void TransformColourRows(cv::Mat& image, int channels, TransformRow transform_row) {
  cv::Mat bgr = channels == 4 ? cv::Mat() : image;
  if (channels == 4) cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
  cv::Mat out(bgr.rows, bgr.cols, CV_MAKETYPE(cv::DataType<Sample>::depth, 3));
  for (int y = 0; y < bgr.rows; ++y) {
    transform_row(bgr.ptr<Sample>(y), out.ptr<Sample>(y), static_cast<size_t>(bgr.cols));
  }
  if (channels == 4) {
    const int from_to[] = {0, 0, 1, 1, 2, 2};
    cv::mixChannels(&out, 1, &image, 1, from_to, 3);
  } else {
    image = out;
  }
}

}  // namespace

absl::Status ColorTransform::Apply(cv::Mat& image, bool inverted_cmyk) const {
  if (image.depth() != (sixteen_bit_ ? CV_16U : CV_8U)) {
    return absl::InternalError(
        absl::StrCat("a ", sixteen_bit_ ? 16 : 8, "-bit colour transform on an image of depth ", image.depth()));
  }
  const int channels = image.channels();
  if (sixteen_bit_) return Apply16(image, channels);
  switch (input_) {
    case Input::kGray: {
      if (channels == 4) {  // the colour channels through the curve, alpha as it is
        cv::Mat table(1, 256, CV_8UC4);
        for (int v = 0; v < 256; ++v)
          table.at<cv::Vec4b>(0, v) = {gray_table_[v], gray_table_[v], gray_table_[v], uint8_t(v)};
        cv::LUT(image, table, image);
      } else {
        cv::LUT(image, cv::Mat(1, 256, CV_8U, const_cast<uint8_t*>(gray_table_)), image);
      }
      return absl::OkStatus();
    }
    case Input::kRgb: {
      if (channels != 3 && channels != 4) {
        return absl::InternalError(absl::StrCat("RGB colour transform on ", channels, " channels"));
      }
      TransformColourRows<uint8_t>(
          image, channels, [this](const uint8_t* in, uint8_t* out, size_t count) { TransformPixels(in, out, count); });
      return absl::OkStatus();
    }
    case Input::kCmyk: {
      if (channels != 4) return absl::InternalError(absl::StrCat("CMYK colour transform on ", channels, " channels"));
      cv::Mat ink = image;
      if (inverted_cmyk) cv::bitwise_not(image, ink);
      cv::Mat out(ink.rows, ink.cols, CV_8UC3);
      for (int y = 0; y < ink.rows; ++y) TransformPixels(ink.ptr(y), out.ptr(y), static_cast<size_t>(ink.cols));
      image = out;
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown colour transform");
}

absl::Status ColorTransform::Apply16(cv::Mat& image, int channels) const {
  if (input_ == Input::kGray) {  // each colour channel through the curve, alpha as it is
    const int colours = channels == 4 ? 3 : channels;
    for (int y = 0; y < image.rows; ++y) {
      uint16_t* row = image.ptr<uint16_t>(y);
      for (int x = 0; x < image.cols; ++x, row += channels) {
        for (int c = 0; c < colours; ++c) row[c] = gray_table16_[row[c]];
      }
    }
    return absl::OkStatus();
  }
  if (input_ != Input::kRgb || (channels != 3 && channels != 4)) {
    return absl::InternalError(absl::StrCat("16-bit colour transform on ", channels, " channels"));
  }
  TransformColourRows<uint16_t>(
      image, channels, [this](const uint16_t* in, uint16_t* out, size_t count) { TransformPixels16(in, out, count); });
  return absl::OkStatus();
}

std::shared_ptr<const std::string> SrgbIccProfile() {
  static const std::shared_ptr<const std::string> saved = [] {
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsUInt32Number size = 0;
    std::string bytes;
    if (srgb != nullptr && cmsSaveProfileToMem(srgb, nullptr, &size)) {
      bytes.resize(size);
      if (!cmsSaveProfileToMem(srgb, bytes.data(), &size)) bytes.clear();
    }
    if (srgb != nullptr) cmsCloseProfile(srgb);
    return std::make_shared<const std::string>(std::move(bytes));
  }();
  return saved;
}

ColorTransformCache& ColorTransformCache::Shared() {
  static ColorTransformCache* cache = new ColorTransformCache(64, size_t{64} << 20);
  return *cache;
}

ColorTransformCache::Lookup ColorTransformCache::Get(const ColorSource& source, bool sixteen_bit) {
  Lookup lookup{absl::InternalError("no colour profile"), ""};
  std::string key;
  if (source.kind == ColorSourceKind::kIcc && source.icc != nullptr) {
    lookup.sha256 = Sha256Hex(*source.icc);
    key = "icc:" + lookup.sha256;
  } else if (source.kind == ColorSourceKind::kPngGamma) {
    std::string values = absl::StrCat("gAMA ", source.png_gamma);
    if (source.png_chromaticities.has_value()) {
      for (uint32_t v : *source.png_chromaticities) absl::StrAppend(&values, " ", v);
    }
    lookup.sha256 = Sha256Hex(values);
    key = "png:" + lookup.sha256;
  } else {
    return lookup;
  }
  if (sixteen_bit) key.insert(0, "16:");  // a 16-bit transform is another lcms2 transform
  {
    MutexLock lock(&mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second.recency);
      lookup.transform = it->second.transform;
      return lookup;
    }
  }
  lookup.transform = source.kind == ColorSourceKind::kIcc ? ColorTransform::FromIcc(*source.icc, sixteen_bit)
                                                          : ColorTransform::FromPngGamma(source, sixteen_bit);
  const size_t bytes =
      key.size() + (source.icc != nullptr ? source.icc->size() : 0) +
      (lookup.transform.ok() ? (*lookup.transform)->bytes() : lookup.transform.status().message().size());
  MutexLock lock(&mu_);
  ++builds_;
  if (entries_.count(key) != 0 || bytes > max_bytes_) return lookup;
  recency_.push_front(key);
  entries_.emplace(key, Entry{lookup.transform, bytes, recency_.begin()});
  bytes_ += bytes;
  EvictLocked();
  return lookup;
}

void ColorTransformCache::EvictLocked() {
  while (!recency_.empty() && (entries_.size() > max_entries_ || bytes_ > max_bytes_)) {
    auto it = entries_.find(recency_.back());
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    recency_.pop_back();
  }
}

size_t ColorTransformCache::entries() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

size_t ColorTransformCache::bytes() const {
  MutexLock lock(&mu_);
  return bytes_;
}

int64_t ColorTransformCache::builds() const {
  MutexLock lock(&mu_);
  return builds_;
}

}  // namespace imgproc
