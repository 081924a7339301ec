#include "pipeline/plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "codec/avif_encode.h"
#include "codec/codec.h"
#include "codec/color_profile.h"
#include "codec/color_transform.h"
#include "codec/heic_encode.h"
#include "codec/orientation.h"
#include "codec/shrink_on_load.h"
#include "common/status_macros.h"
#include "ops/op_util.h"

namespace imgproc {

namespace {

// An answer is at most the chain's last image, uncompressed, in the answer's type (PNG and WebP can be slightly
// larger than raw pixels only for tiny images; JPEG is smaller), and the metadata it keeps. Over the limit, the
// message names the step after which the image last grew past it, since that is the one to change.
absl::Status CheckAnswerSize(const Plan& plan, const ImageLimits& limits) {
  const bool raw = plan.output.format == OutputFormat::kRaw;
  // Encoded answers are at most the chain's values (a 16-bit PNG or TIFF holds 2 bytes a value).
  const double value_bytes = DepthBytes(raw ? plan.output.raw_depth : plan.result.depth);
  auto bytes = [&](const ImageSpec& spec) { return PixelChannels(spec) * value_bytes; };
  const double answer = bytes(plan.result) + static_cast<double>(plan.metadata.bytes());
  if (answer <= static_cast<double>(limits.max_output_bytes)) return absl::OkStatus();
  // Where the pixels alone fit, the kept metadata (output.metadata) is what takes the answer over.
  const bool pixels_fit = bytes(plan.result) <= limits.max_output_bytes;
  std::string grower = pixels_fit ? "output.metadata" : "the decoded image";
  for (const BoundOp& step : plan.steps) {
    if (!pixels_fit && bytes(step.input) <= limits.max_output_bytes && bytes(step.output) > limits.max_output_bytes) {
      grower = absl::StrCat("operations[", step.index, "].", step.name, " (", step.input.DebugString(), " to ",
                            step.output.DebugString(), ")");
    }
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("the answer would be up to ", absl::SixDigits(answer), " bytes (", plan.result.DebugString(),
                   raw ? absl::StrCat(" as raw ", DepthName(plan.output.raw_depth)) : std::string(" encoded"),
                   plan.metadata.empty() ? "" : absl::StrCat(", ", plan.metadata.bytes(), " bytes of it metadata"),
                   "), over the server's limit of ", limits.max_output_bytes, " bytes for an answer; ", grower,
                   " makes it that large"));
}

// An AV1 or HEVC encode cannot be stopped once it runs (codec/avif_encode.h, codec/heic_encode.h), so its size is
// bounded apart (--max_avif_pixels, --max_heic_pixels) and its estimated cost is added to the chain's before
// anything runs.
absl::Status CheckUnstoppableEncode(const ImageSpec& result, const OutputSpec& output, const ImageLimits& limits,
                                    double& work) {
  if (output.format != OutputFormat::kAvif && output.format != OutputFormat::kHeic) return absl::OkStatus();
  const bool avif = output.format == OutputFormat::kAvif;
  const char* field = avif ? "output.avif" : "output.heic";
  const int64_t max_pixels = avif ? limits.max_avif_pixels : limits.max_heic_pixels;
  const int64_t pixels = int64_t{result.width} * result.height;
  if (pixels > max_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, ": the answer would be ", result.width, "x", result.height, " (", pixels, " pixels), over the server's ",
        avif ? "AVIF" : "HEIC", " limit of ", max_pixels, " pixels (", avif ? "an AV1" : "an HEVC",
        " encode cannot be stopped once it starts); resize first or ask for JPEG or WebP"));
  }
  const int speed = avif ? AvifOptionsOf(output).speed : HeicOptionsOf(output).speed;
  const double encode = avif ? AvifEncodeWork(pixels, speed) : HeicEncodeWork(pixels, speed);
  work += encode;
  if (work > limits.max_request_work) {
    return absl::ResourceExhaustedError(
        absl::StrCat(field, ": encoding ", result.width, "x", result.height, " at speed ", speed, " is estimated at ",
                     absl::SixDigits(encode), " pixel-channel taps, which brings the request to ",
                     absl::SixDigits(work), ", over the server's budget of ", absl::SixDigits(limits.max_request_work),
                     " pixel-channel taps; a higher speed or a smaller answer costs less"));
  }
  return absl::OkStatus();
}

// The factor (2, 4, 8; 1: none) at which the decoder may start a first-step resize of the stored image to
// width x height. The rule keeps the answer within 35 dB PSNR of the full-size path on every test photo at every
// ratio from 2 to 40 (unit.ShrinkOnLoadTest.AreaRatioSweepStaysOver35DbOnEveryPhoto sweeps them; lowest 36.6 dB at
// 1/2, 35.5 at 1/4, 39.6 at 1/8):
// - libjpeg's 1/2 is close to a 2x2 average, which is what INTER_LINEAR computes when a side is exactly halved
//   and INTER_AREA always: an exact half takes factor 2 with nothing left to resize (44 dB at worst);
// - before an INTER_AREA resize, the decoded image must stay 1.5x (1/2), 2x (1/4) or 4x (1/8) the output: libjpeg's
//   1/4 and 1/8 keep each block's lowest frequencies rather than average it, which the area resize after must
//   smooth over (at 1.0x they fall to 31 dB on the sand of Dune.jpg);
// - LINEAR, CUBIC and NEAREST beyond an exact half read a few source pixels per output pixel and alias on fine
//   texture; a shrunk decode does not, and the answers would differ by far more (23 dB on Elephants_3840x2160.jpg),
//   so those are decoded at full size.
int ShrinkFactor(const ImageHeader& header, int width, int height, int interpolation) {
  if (!HasScaledDecode(header)) return 1;
  const bool averages = interpolation == cv::INTER_AREA || interpolation == cv::INTER_LINEAR;
  if (averages && width == ShrunkSide(header.width, 2) && height == ShrunkSide(header.height, 2)) return 2;
  if (interpolation != cv::INTER_AREA) return 1;
  struct Margin {
    int factor, numerator, denominator;
  };  // decoded side >= output side * numerator / denominator
  for (const Margin m : {Margin{8, 4, 1}, Margin{4, 2, 1}, Margin{2, 3, 2}}) {
    if (int64_t{ShrunkSide(header.width, m.factor)} * m.denominator >= int64_t{width} * m.numerator &&
        int64_t{ShrunkSide(header.height, m.factor)} * m.denominator >= int64_t{height} * m.numerator) {
      return m.factor;
    }
  }
  return 1;
}

// Shrink-on-load applies when the chain starts with a resize that ShrinkFactor accepts. The resize is bound again
// from the shrunk image to the very same output size (its width/height/scale/keep_aspect were resolved against
// the full-size image, so the new binding names the size outright).
absl::StatusOr<std::optional<ShrinkOnLoad>> PlanShrinkOnLoad(const ImageRequest& request, const Plan& plan,
                                                             const ImageLimits& limits) {
  if (request.disable_shrink_on_load || plan.steps.empty() || request.operations[0].name != "resize") {
    return std::nullopt;
  }
  const ImageSpec& target = plan.steps[0].output;
  const absl::string_view interpolation_name = request.operations[0].args.Enum("interpolation");
  const int interpolation = ToCvInterpolation(interpolation_name);
  const bool transposed = plan.orientation >= 5;  // EXIF 5-8 swap width and height (see Oriented)
  const int factor = ShrinkFactor(plan.header, transposed ? target.height : target.width,
                                  transposed ? target.width : target.height, interpolation);
  if (factor == 1) return std::nullopt;
  ShrinkOnLoad shrink;
  shrink.factor = factor;
  shrink.decoded = DecodedSpec(plan.header, plan.decode_mode, factor, plan.decoded.depth);
  shrink.oriented = Oriented(shrink.decoded, plan.orientation);
  OpArgs rest;
  rest.Set("width", int64_t{target.width}).Set("height", int64_t{target.height});
  rest.Set("interpolation", std::string(interpolation_name));
  StepBinder binder(0, plan.steps[0].name, shrink.oriented, limits);
  if (absl::Status s = OpRegistry::Find("resize")->bind(rest, binder); !s.ok()) {
    return absl::InternalError(absl::StrCat("shrink-on-load: binding the rest of operations[0] failed: ", s.message()));
  }
  shrink.first_step = binder.Take();
  return shrink;
}

const char* ColorSourceName(const ImageHeader& header, const ColorSource& source) {
  switch (source.kind) {
    case ColorSourceKind::kPngSrgb: return "png sRGB chunk";
    case ColorSourceKind::kPngGamma: return source.png_chromaticities ? "png gAMA and cHRM chunks" : "png gAMA chunk";
    case ColorSourceKind::kNone:
      if (source.problem.empty()) return "";
      break;  // an ICC profile was there but could not be read
    case ColorSourceKind::kIcc: break;
  }
  switch (header.format) {
    case ImageFormat::kJpeg: return "jpeg APP2 ICC_PROFILE";
    case ImageFormat::kPng: return "png iCCP chunk";
    case ImageFormat::kWebp: return "webp ICCP chunk";
    case ImageFormat::kTiff: return "tiff tag 34675 (ICC profile)";
    case ImageFormat::kHeif: return source.heif_nclx ? "heif colr nclx" : "heif colr ICC profile";
    default: return "icc profile";
  }
}

// Why a profile lcms2 reads does not fit the image as it is decoded; empty when it does.
std::string ColorMismatch(const ColorTransform& transform, const ImageHeader& header) {
  const bool gray = header.channels <= 2;
  const bool cmyk_jpeg = header.format == ImageFormat::kJpeg && header.channels == 4;
  switch (transform.input()) {
    case ColorTransform::Input::kRgb:
      if (gray) return "an RGB profile on a gray image";
      if (cmyk_jpeg) return "an RGB profile on a CMYK JPEG";
      return "";
    case ColorTransform::Input::kGray: return gray ? "" : "a gray profile on a colour image";
    case ColorTransform::Input::kCmyk:
      if (cmyk_jpeg) return "";
      if (header.format == ImageFormat::kTiff) {
        return "a CMYK TIFF, which libtiff's RGBA interface converts without its profile";
      }
      return "a CMYK profile on an image without 4 ink channels";
  }
  return "";
}

// What the lanes will do with the input's colours (issue 29). An unusable profile leaves the pixels as stored and
// says why, or is refused under strict_decode: a profile is optional information, the pixels are still the file's.
// Why the input's profile cannot describe the answer's pixels left as stored (COLOR_POLICY_KEEP); empty when it can.
std::string CannotKeep(const ColorTransform& transform, const ImageSpec& answer) {
  const bool gray_answer = answer.channels == 1;
  switch (transform.input()) {
    case ColorTransform::Input::kCmyk: return "a CMYK JPEG's answer is RGB, which its CMYK profile cannot describe";
    case ColorTransform::Input::kGray:
      return gray_answer ? "" : "the answer has colour channels, which a gray profile cannot describe";
    case ColorTransform::Input::kRgb:
      return gray_answer ? "the answer is gray, which an RGB profile cannot describe" : "";
  }
  return "";
}

absl::StatusOr<ColorDecision> DecideColor(const ImageRequest& request, const ImageHeader& header,
                                          const ImageSpec& answer) {
  ColorDecision decision;
  const ColorSource source = ReadColorSource(request.image, header);
  decision.source = ColorSourceName(header, source);
  decision.profile = source.icc;
  const bool applies = request.color_policy != ColorPolicy::kIgnore;
  auto invalid = [&](std::string why) -> absl::StatusOr<ColorDecision> {
    if (request.strict_decode && applies) {
      return absl::InvalidArgumentError(absl::StrCat("strict_decode: the input's colour profile is unusable: ", why,
                                                     "; without strict_decode the pixels are left as stored"));
    }
    decision.action = ColorAction::kInvalid;
    decision.reason = std::move(why);
    decision.profile = nullptr;
    return decision;
  };
  if (!source.problem.empty()) return invalid(source.problem);
  if (source.kind == ColorSourceKind::kNone) return decision;
  if (source.kind == ColorSourceKind::kPngSrgb) {
    decision.action = ColorAction::kAlreadySrgb;
    decision.pixels_profile = SrgbIccProfile();
    return decision;
  }
  if (!applies) {  // not even parsed: the behaviour before colour management
    decision.action = ColorAction::kIgnored;
    decision.reason = "color_policy IGNORE";
    if (source.icc != nullptr) decision.sha256 = Sha256Hex(*source.icc);
    return decision;
  }
  // The 16-bit decode converts its pixels at 16 bits (lcms2's TYPE_*_16), a transform cached apart.
  ColorTransformCache::Lookup lookup =
      ColorTransformCache::Shared().Get(source, /*sixteen_bit=*/request.decode_depth == Depth::kU16);
  decision.sha256 = lookup.sha256;
  if (!lookup.transform.ok()) return invalid(std::string(lookup.transform.status().message()));
  const std::shared_ptr<const ColorTransform>& transform = *lookup.transform;
  decision.description = transform->description();
  if (std::string mismatch = ColorMismatch(*transform, header); !mismatch.empty()) return invalid(mismatch);
  // KEEP keeps the profile where it describes the answer; where it cannot, the pixels are converted as by default.
  std::string not_kept;
  if (request.color_policy == ColorPolicy::kKeep) {
    not_kept =
        source.icc == nullptr ? "a PNG's gAMA/cHRM chunks are no ICC profile to embed" : CannotKeep(*transform, answer);
    if (not_kept.empty()) {
      decision.action = ColorAction::kKept;
      decision.pixels_profile = source.icc;
      return decision;
    }
    not_kept = absl::StrCat("COLOR_POLICY_KEEP: ", not_kept, "; converted ");
  }
  if (transform->identity()) {
    decision.action = ColorAction::kAlreadySrgb;
    decision.pixels_profile = source.icc != nullptr ? source.icc : SrgbIccProfile();
    return decision;
  }
  decision.action = ColorAction::kConverted;
  decision.pixels_profile = SrgbIccProfile();
  decision.reason =
      absl::StrCat(not_kept, transform->matrix_shaper() ? "to sRGB by lcms2 (matrix/TRC profile, perceptual intent)"
                                                        : "to sRGB by lcms2 (LUT profile, perceptual intent)");
  decision.transform = transform;
  return decision;
}

// The profile an encoded answer embeds, asked for by MetadataPolicy::keep_icc_profile or ColorPolicy::kKeep, is the
// one its pixels are in (ColorDecision::pixels_profile): the input's when kept or already sRGB, lcms2's sRGB after a
// conversion. The input's profile on converted pixels would undo the conversion in every viewer. Under
// ColorPolicy::kIgnore the pixels are as stored, so the input's profile, as the metadata extraction read it, is
// still theirs; an unusable profile is embedded nowhere.
absl::Status ChooseEmbeddedProfile(const ImageRequest& request, const ImageLimits& limits, Plan& plan) {
  const bool wanted = plan.output.metadata.keep_icc_profile || request.color_policy == ColorPolicy::kKeep;
  if (!wanted || plan.output.format == OutputFormat::kRaw) return absl::OkStatus();
  if (!MetadataSupportOf(plan.output.format).icc_profile) {
    if (plan.color.pixels_profile) plan.metadata.not_kept.push_back("icc profile: the answer's format carries none");
    return absl::OkStatus();
  }
  switch (plan.color.action) {
    case ColorAction::kNone: return absl::OkStatus();
    case ColorAction::kIgnored:
      if (request.color_policy == ColorPolicy::kIgnore) return absl::OkStatus();
      plan.metadata.icc_profile.reset();
      plan.metadata.not_kept.push_back(absl::StrCat("icc profile: ", plan.color.reason));
      break;
    case ColorAction::kInvalid:
      if (plan.metadata.icc_profile) {
        plan.metadata.icc_profile.reset();
        plan.metadata.not_kept.push_back(absl::StrCat("icc profile: unusable: ", plan.color.reason));
      }
      break;
    case ColorAction::kAlreadySrgb:
    case ColorAction::kConverted:
    case ColorAction::kKept:
      if (plan.color.pixels_profile) plan.metadata.icc_profile = *plan.color.pixels_profile;
      break;
  }
  return CheckAnswerSize(plan, limits);
}

}  // namespace

absl::StatusOr<Plan> BuildPlan(const ImageRequest& request, const ImageLimits& limits) {
  Plan plan;
  if (static_cast<int64_t>(request.operations.size()) > limits.max_operations) {
    return absl::InvalidArgumentError(
        absl::StrCat("operations: ", request.operations.size(), " steps, over the limit of ", limits.max_operations));
  }
  plan.decode_mode = request.decode_mode;
  if (static_cast<int64_t>(request.image.size()) > limits.max_input_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image is ", request.image.size(), " bytes, over the limit of ", limits.max_input_bytes));
  }
  absl::StatusOr<ImageHeader> header = ReadImageHeader(request.image);
  if (!header.ok()) return header.status();
  plan.header = *header;
  IMGPROC_RETURN_IF_ERROR(CheckHeaderLimits(plan.header, request.image.size(), limits));
  plan.partial_decode = plan.header.truncation;
  plan.strict_decode = request.strict_decode;
  if (plan.strict_decode && !plan.partial_decode.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("strict_decode: ", plan.partial_decode, "; without strict_decode it is decoded in part"));
  }
  plan.decoded = DecodedSpec(plan.header, plan.decode_mode, 1, request.decode_depth);
  plan.orientation = request.ignore_exif_orientation ? 1 : plan.header.exif_orientation;
  plan.oriented = Oriented(plan.decoded, plan.orientation);

  ImageSpec current = plan.oriented;
  plan.steps.reserve(request.operations.size());
  for (int i = 0; i < static_cast<int>(request.operations.size()); ++i) {
    const OpCall& op = request.operations[i];
    const OpDefinition* def = OpRegistry::Find(op.name);
    if (def == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "operations[", i,
          "]: ", op.name.empty() ? "no operation set" : absl::StrCat("unknown operation '", op.name, "'")));
    }
    StepBinder binder(i, def->name, current, limits);
    IMGPROC_RETURN_IF_ERROR(binder.RequireDepth(def->depths));
    IMGPROC_RETURN_IF_ERROR(def->bind(op.args, binder));
    plan.steps.push_back(binder.Take());
    const BoundOp& step = plan.steps.back();
    plan.work += step.work();
    if (plan.work > limits.max_request_work) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "operations[", i, "].", step.name, ": estimated work ", absl::SixDigits(step.work()), " pixel-channel taps (",
          step.input.DebugString(), " in, ", step.passes, " pass(es)) brings the request to ",
          absl::SixDigits(plan.work), ", over the server's budget of ", absl::SixDigits(limits.max_request_work),
          " pixel-channel taps"));
    }
    current = step.output;
  }
  plan.result = current;
  auto bytes = [](const ImageSpec& spec) { return static_cast<int64_t>(PixelChannels(spec)) * DepthBytes(spec.depth); };
  plan.peak_pixel_bytes = bytes(plan.decoded) + (plan.orientation != 1 ? bytes(plan.oriented) : 0);
  for (const BoundOp& step : plan.steps) {
    plan.peak_pixel_bytes = std::max(plan.peak_pixel_bytes, bytes(step.input) + bytes(step.output));
  }
  IMGPROC_RETURN_IF_ERROR(ValidateOutputSpec(request.output, current));
  IMGPROC_RETURN_IF_ERROR(CheckUnstoppableEncode(current, request.output, limits, plan.work));
  plan.output = request.output;
  if (plan.output.metadata.KeepsAny()) {
    ExifRewrite rewrite;
    // The tag stays true of pixels left as stored; a HEIF's pixels are always turned (libheif applies irot/imir, which
    // the EXIF tag only repeats), so its tag is always reset.
    rewrite.reset_orientation = !request.ignore_exif_orientation || plan.header.format == ImageFormat::kHeif;
    rewrite.pixel_width = plan.result.width;
    rewrite.pixel_height = plan.result.height;
    plan.metadata = PrepareOutputMetadata(ExtractMetadata(request.image, plan.header.format, plan.output.metadata),
                                          plan.output.metadata, plan.output.format, rewrite);
  }
  IMGPROC_RETURN_IF_ERROR(CheckAnswerSize(plan, limits));
  absl::StatusOr<std::optional<ShrinkOnLoad>> shrink = PlanShrinkOnLoad(request, plan, limits);
  if (!shrink.ok()) return shrink.status();
  plan.shrink_on_load = *std::move(shrink);
  // Last: the request is valid otherwise, so that a refused one costs no profile parse.
  absl::StatusOr<ColorDecision> color = DecideColor(request, plan.header, plan.result);
  if (!color.ok()) return color.status();
  plan.color = *std::move(color);
  IMGPROC_RETURN_IF_ERROR(ChooseEmbeddedProfile(request, limits, plan));
  return plan;
}

}  // namespace imgproc
