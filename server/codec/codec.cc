#include "codec/codec.h"

#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "codec/animation_decode.h"
#include "codec/avif_encode.h"
#include "codec/heic_encode.h"
#include "codec/heif_decode.h"
#include "codec/jpeg_turbo.h"
#include "codec/metadata.h"
#include "codec/os2_bmp.h"
#include "codec/png_decode.h"
#include "codec/shrink_on_load.h"
#include "codec/tiff_decode.h"
#include "common/status_macros.h"

namespace imgproc {

absl::Status CheckHeaderLimits(const ImageHeader& header, size_t encoded_bytes, const ImageLimits& limits) {
  if (static_cast<int64_t>(encoded_bytes) > limits.max_input_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image is ", encoded_bytes, " bytes, over the limit of ", limits.max_input_bytes));
  }
  const int64_t pixels = int64_t{header.width} * header.height;
  if (header.width > limits.max_width || header.height > limits.max_height || pixels > limits.max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        ImageFormatName(header.format), " image is ", header.width, "x", header.height, ", over the limits (",
        limits.max_width, "x", limits.max_height, ", ", limits.max_pixels, " pixels); refused before decoding"));
  }
  if (header.jpeg_scans > limits.max_jpeg_scans) {
    return absl::InvalidArgumentError(
        absl::StrCat("progressive JPEG with ", header.jpeg_scans, " scans, over the limit of ", limits.max_jpeg_scans,
                     " (its decode cost grows with every scan); refused before decoding"));
  }
  return absl::OkStatus();
}

ImageSpec DecodedSpec(const ImageHeader& header, DecodeMode mode, int shrink_factor, Depth depth) {
  ImageSpec spec{ShrunkSide(header.width, shrink_factor), ShrunkSide(header.height, shrink_factor), 3, depth};
  if (mode == DecodeMode::kGrayscale) {
    spec.channels = 1;
  } else if (mode == DecodeMode::kUnchanged) {
    if (header.format == ImageFormat::kJpeg) {
      // JPEG has no alpha: a 4-component one is CMYK or YCCK, which only a colour conversion makes pixels of.
      spec.channels = header.channels == 1 ? 1 : 3;
    } else {
      spec.channels = header.channels == 2 ? 4 : header.channels;  // OpenCV decodes gray+alpha as BGRA
    }
  }
  return spec;
}

cv::Mat ToDepth(const cv::Mat& image, Depth depth) {
  const int want = CvDepth(depth);
  if (image.depth() == want) return image;
  cv::Mat out;
  if (image.depth() == CV_8U && want == CV_16U) {
    image.convertTo(out, CV_16U, 257.0);  // exact: 255 -> 65535
  } else if (image.depth() == CV_16U && want == CV_8U) {
    image.convertTo(out, CV_8U, 1.0 / 257.0);  // round(v / 257), as the 8-bit decode of a 16-bit file
  } else {
    image.convertTo(out, want);  // to float32 as is; from float32 rounded and saturated
  }
  return out;
}

namespace {

// Bring a decoded image to the depth and channel count that validation predicted from the header; the
// header can understate (a palette PNG with transparency) or the file can hold 16-bit or float samples.
// `depth` is the plan's: uint8, or uint16 for the 16-bit decode (8-bit samples scaled by 257).
absl::Status ConformDepth(cv::Mat& image, Depth depth) {
  const int want = CvDepth(depth);
  const double full = want == CV_16U ? 65535.0 : 255.0;
  if (image.depth() == CV_8U || image.depth() == CV_16U) {
    image = ToDepth(image, depth);
  } else if (image.depth() == CV_32F || image.depth() == CV_64F) {
    // Float samples are intensities in [0, 1] (the convention of float TIFFs): uint8 = saturate(round(v * 255))
    // (uint16: v * 65535). Clamped first because a NaN or an infinity would not saturate (cvRound of them is
    // INT_MIN): NaN -> 0.
    cv::Mat clamped;
    image.convertTo(clamped, CV_32F);
    cv::patchNaNs(clamped, 0.0);
    cv::min(cv::max(clamped, 0.0), 1.0, clamped);
    clamped.convertTo(image, want, full);
  } else {
    cv::Mat scaled;
    cv::normalize(image, scaled, 0, full, cv::NORM_MINMAX, want);
    image = scaled;
  }
  return absl::OkStatus();
}

absl::Status ConformChannels(cv::Mat& image, const ImageSpec& expected) {
  const int have = image.channels(), want = expected.channels;
  if (have != want) {
    static constexpr int kCodes[5][5] = {{-1, -1, -1, -1, -1},
                                         {-1, -1, -1, cv::COLOR_GRAY2BGR, cv::COLOR_GRAY2BGRA},
                                         {-1, -1, -1, -1, -1},
                                         {-1, cv::COLOR_BGR2GRAY, -1, -1, cv::COLOR_BGR2BGRA},
                                         {-1, cv::COLOR_BGRA2GRAY, -1, cv::COLOR_BGRA2BGR, -1}};
    const int code = (have <= 4 && want <= 4) ? kCodes[have][want] : -1;
    if (code < 0) {
      return absl::InvalidArgumentError(absl::StrCat("decoded image has ", have, " channels, expected ", want));
    }
    cv::cvtColor(image, image, code);
  }
  return absl::OkStatus();
}

// OpenCV's flag for a JPEG decode at 1/factor (libjpeg's scale_denom); added to IMREAD_COLOR or IMREAD_GRAYSCALE.
int ReducedFlag(int shrink_factor) {
  switch (shrink_factor) {
    case 2: return cv::IMREAD_REDUCED_GRAYSCALE_2;
    case 4: return cv::IMREAD_REDUCED_GRAYSCALE_4;
    case 8: return cv::IMREAD_REDUCED_GRAYSCALE_8;
    default: return 0;
  }
}

absl::StatusOr<cv::Mat> DecodeWithOpenCv(absl::string_view bytes, const ImageHeader& header, DecodeMode mode,
                                         int shrink_factor, bool sixteen_bit) {
  // EXIF orientation is not applied: the size must stay the one the chain was validated against.
  int flags = cv::IMREAD_IGNORE_ORIENTATION;
  if (mode == DecodeMode::kGrayscale) {
    flags |= cv::IMREAD_GRAYSCALE;
  } else if (mode == DecodeMode::kUnchanged && header.format == ImageFormat::kJpeg) {
    // As DecodedSpec says: libjpeg's colour conversion for CMYK/YCCK (unchanged, OpenCV hands back the 4 raw,
    // inverted components), grayscale kept as one channel.
    flags |= header.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  } else if (mode == DecodeMode::kUnchanged) {
    flags = cv::IMREAD_UNCHANGED;
  } else {
    flags |= cv::IMREAD_COLOR;
  }
  if (header.format == ImageFormat::kJpeg) flags |= ReducedFlag(shrink_factor);  // 0 at full size
  // The 16-bit decode keeps a 16-bit PNG's samples in every mode (IMREAD_UNCHANGED keeps them anyway).
  if (sixteen_bit && flags != cv::IMREAD_UNCHANGED) flags |= cv::IMREAD_ANYDEPTH;
  // PNG through libpng with its allocation limits (codec/png_decode.h), as OpenCV would with these flags; the
  // header's size, checked against the limits, bounds libpng's.
  if (header.format == ImageFormat::kPng) return DecodePng(bytes, flags, header.width, header.height);
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    image = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode ", ImageFormatName(header.format), ": ", e.what()));
  }
  if (image.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode ", ImageFormatName(header.format), " data (corrupt or truncated)"));
  }
  return image;
}

// JPEGs go to libjpeg-turbo directly (codec/jpeg_turbo.h says why), except CMYK/YCCK ones, which need OpenCV's
// colour conversion.
absl::StatusOr<cv::Mat> DecodeJpegOrFallBack(absl::string_view bytes, const ImageHeader& header, DecodeMode mode,
                                             int shrink_factor, std::string* damage) {
  const bool grayscale = mode == DecodeMode::kGrayscale || (mode == DecodeMode::kUnchanged && header.channels == 1);
  absl::StatusOr<cv::Mat> image = DecodeJpegBgr(bytes, grayscale, shrink_factor, damage);
  if (absl::IsUnimplemented(image.status())) {
    if (absl::Status whole = CheckCmykJpegDecodes(bytes, shrink_factor); !whole.ok()) return whole;
    return DecodeWithOpenCv(bytes, header, mode, shrink_factor, /*sixteen_bit=*/false);  // CMYK JPEGs are 8-bit
  }
  return image;
}

}  // namespace

absl::StatusOr<cv::Mat> Decode(absl::string_view bytes, const ImageHeader& header, DecodeMode mode,
                               const ImageSpec& expected, int shrink_factor, std::string* damage,
                               const ColorTransform* color) {
  if (damage != nullptr) damage->clear();
  const bool sixteen_bit = expected.depth == Depth::kU16;
  if (color != nullptr && color->input() == ColorTransform::Input::kCmyk) {
    // The ink itself, through the file's profile, where OpenCV would use libjpeg's profile-blind CMYK to RGB.
    bool inverted = false;
    absl::StatusOr<cv::Mat> ink = DecodeCmykJpeg(bytes, shrink_factor, &inverted);
    if (!ink.ok()) return ink.status();
    if (absl::Status s = color->Apply(*ink, inverted); !s.ok()) return s;
    if (absl::Status s = ConformChannels(*ink, expected); !s.ok()) return s;
    return ToDepth(*ink, expected.depth);  // CMYK through its profile is 8-bit; the 16-bit decode scales it
  }
  // Gray from an RGB profile's colours: the colour decode converted, then made gray by ConformChannels.
  if (color != nullptr && color->input() == ColorTransform::Input::kRgb && mode == DecodeMode::kGrayscale) {
    mode = DecodeMode::kColor;
  }
  // OpenCV 4.6 has no GIF decoder and decodes only still WebP: animations go to giflib and libwebp's demuxer,
  // which hand over the first frame as BGRA for ConformChannels to bring to the predicted channels. OpenCV would also
  // decode a WebP at full size and then resize it: a shrunk one goes to libwebp's rescaler.
  absl::StatusOr<cv::Mat> decoded =
      header.format == ImageFormat::kGif                            ? DecodeGifFirstFrame(bytes)
      : header.format == ImageFormat::kWebp && header.webp_animated ? DecodeAnimatedWebpFirstFrame(bytes)
      : header.format == ImageFormat::kWebp && shrink_factor > 1
          ? DecodeWebpShrunk(bytes, header, shrink_factor, expected.channels == 4 ? 4 : 3)
      : header.format == ImageFormat::kJpeg ? DecodeJpegOrFallBack(bytes, header, mode, shrink_factor, damage)
      // TIFF through libtiff and OS/2 bitmaps through a reader of ours: OpenCV 4.6 misread both (issue 28).
      // The 16-bit decode keeps a gray 16-bit TIFF's values (the high byte is the 8-bit GRAYSCALE rule).
      : header.format == ImageFormat::kTiff
          ? DecodeTiff(bytes, /*gray16_high_byte=*/mode == DecodeMode::kGrayscale && !sixteen_bit)
      // HEIC and AVIF through libheif (codec/heif_decode.h), rotated and mirrored as their irot/imir say.
      : header.format == ImageFormat::kHeif ? DecodeHeif(bytes, header, sixteen_bit)
      : header.format == ImageFormat::kBmp && IsOs2CoreBmp(bytes)
          ? DecodeOs2CoreBmp(bytes)
          : DecodeWithOpenCv(bytes, header, mode, shrink_factor, sixteen_bit);
  if (!decoded.ok()) return decoded.status();
  cv::Mat image = *std::move(decoded);
  if (image.cols != expected.width || image.rows != expected.height) {
    return absl::InvalidArgumentError(absl::StrCat("decoded image is ", image.cols, "x", image.rows,
                                                   " but its header says ", expected.width, "x", expected.height));
  }
  // Converted once at the plan's depth (8 bits, or 16 for the 16-bit decode; other samples are brought there
  // first), before the channels are made what the plan predicts: alpha stays as decoded, gray is made from the
  // converted colours.
  if (absl::Status s = ConformDepth(image, expected.depth); !s.ok()) return s;
  if (color != nullptr) {
    if (color->input() == ColorTransform::Input::kRgb && image.channels() < 3) {
      return absl::InternalError("an RGB colour transform for an image the decoder gave in gray");
    }
    if (absl::Status s = color->Apply(image); !s.ok()) return s;
  }
  if (absl::Status s = ConformChannels(image, expected); !s.ok()) return s;
  return image;
}

absl::Status ValidateOutputSpec(const OutputSpec& spec, const ImageSpec& image) {
  auto range = [](const char* field, const std::optional<int>& value, int lo, int hi) -> absl::Status {
    if (!value.has_value() || (*value >= lo && *value <= hi)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be in [", lo, ", ", hi, "] (got ", *value, ")"));
  };
  const char* format = nullptr;
  switch (spec.format) {
    case OutputFormat::kJpeg:
      format = spec.format_named ? "output.jpeg" : "output (default JPEG)";
      if (absl::Status s = range("output.jpeg.quality", spec.quality, 1, 100); !s.ok()) return s;
      if (spec.chroma != ChromaSubsampling::kDefault && image.channels == 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "output.jpeg.chroma_subsampling: the image is gray (1 channel), which has no chroma to subsample; "
            "leave it unset"));
      }
      break;
    case OutputFormat::kAvif:
      format = "output.avif";
      if (absl::Status s = range("output.avif.quality", spec.quality, 1, 100); !s.ok()) return s;
      if (absl::Status s = range("output.avif.speed", spec.speed, 0, 10); !s.ok()) return s;
      if (spec.chroma != ChromaSubsampling::kDefault && image.channels == 1) {
        return absl::InvalidArgumentError(
            "output.avif.chroma_subsampling: the image is gray (1 channel), encoded as monochrome AV1; leave it unset");
      }
      break;
    case OutputFormat::kHeic:
      format = "output.heic";
      if (absl::Status s = range("output.heic.quality", spec.quality, 1, 100); !s.ok()) return s;
      if (absl::Status s = range("output.heic.speed", spec.speed, 0, 9); !s.ok()) return s;
      if (spec.chroma != ChromaSubsampling::kDefault && image.channels == 1) {
        return absl::InvalidArgumentError(
            "output.heic.chroma_subsampling: the image is gray (1 channel), which has no chroma to subsample; leave "
            "it unset");
      }
      break;
    case OutputFormat::kPng:
      format = "output.png";
      if (absl::Status s = range("output.png.compression_level", spec.compression_level, 0, 9); !s.ok()) return s;
      break;
    case OutputFormat::kWebp:
      format = "output.webp";
      if (absl::Status s = range("output.webp.quality", spec.quality, 1, 101); !s.ok()) return s;
      break;
    case OutputFormat::kRaw:
      if (spec.metadata.KeepsAny()) {
        return absl::InvalidArgumentError(
            "output.metadata: raw pixels carry no metadata; ask for JPEG, PNG or WebP to keep ICC, EXIF or XMP");
      }
      return absl::OkStatus();  // any pixels convert to every dtype
    case OutputFormat::kTiff: format = "output.tiff"; break;
  }
  // uint16 chains: PNG and TIFF keep the 16 bits, JPEG, WebP, AVIF and HEIC take round(v / 257) (Encode).
  if (image.depth == Depth::kF32) {
    return absl::InvalidArgumentError(absl::StrCat(format, ": needs uint8 or uint16 pixels but the chain ends in ",
                                                   DepthName(image.depth), "; use output.raw"));
  }
  if (image.channels != 1 && image.channels != 3 && image.channels != 4) {
    return absl::InvalidArgumentError(absl::StrCat(format, ": cannot encode ", image.channels, " channels"));
  }
  return absl::OkStatus();
}

absl::Status WriteRaw(const cv::Mat& image, const OutputSpec& spec, char* destination, size_t destination_bytes) {
  cv::Mat pixels = ToDepth(image, spec.raw_depth);
  if (!pixels.isContinuous()) pixels = pixels.clone();
  const size_t bytes = pixels.total() * pixels.elemSize();
  if (bytes != destination_bytes) {
    return absl::InternalError(absl::StrCat(
        "raw answer of ", ImageSpec{pixels.cols, pixels.rows, pixels.channels(), spec.raw_depth}.DebugString(), " is ",
        bytes, " bytes, its destination ", destination_bytes));
  }
  // Split as the 2-byte values they are, whatever cv::split makes of half precision: a header over `pixels`, which
  // keeps owning them.
  const cv::Mat values =
      pixels.depth() == CV_16F ? cv::Mat(pixels.rows, pixels.cols, CV_16UC(pixels.channels()), pixels.data) : pixels;
  if (spec.raw_layout == Layout::kChw && values.channels() > 1) {
    const size_t plane_bytes = values.total() * values.elemSize1();
    std::vector<cv::Mat> planes;
    for (int c = 0; c < values.channels(); ++c) {
      planes.emplace_back(values.rows, values.cols, values.depth(), destination + c * plane_bytes);
    }
    cv::split(values, planes);  // writes straight into the destination
  } else {
    std::memcpy(destination, pixels.data, bytes);
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<EncodedImage> EncodeRaw(const cv::Mat& image, const OutputSpec& spec) {
  EncodedImage out;
  out.format = "raw";
  out.spec = ImageSpec{image.cols, image.rows, image.channels(), spec.raw_depth};
  out.layout = spec.raw_layout;
  out.bytes.resize(RawBytes(out.spec));
  IMGPROC_RETURN_IF_ERROR(WriteRaw(image, spec, out.bytes.data(), out.bytes.size()));
  return out;
}

// TIFF through OpenCV's encoder (libtiff): 8- or 16-bit, BGR(A) stored as RGB(A), deflate (lossless; OpenCV adds
// the horizontal predictor) or none. OpenCV 4.6 writes no ICC, EXIF or XMP tags, so the answer carries none.
absl::StatusOr<EncodedImage> EncodeTiff(const cv::Mat& image, const OutputSpec& spec) {
  constexpr int kCompressionNone = 1, kCompressionAdobeDeflate = 8;  // libtiff's COMPRESSION_* values
  const std::vector<int> params = {cv::IMWRITE_TIFF_COMPRESSION,
                                   spec.tiff_deflate ? kCompressionAdobeDeflate : kCompressionNone};
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(".tiff", image, buffer, params)) return absl::InternalError("encoding tiff failed");
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("encoding tiff failed: ", e.what()));
  }
  EncodedImage out;
  out.format = "tiff";
  out.bytes.assign(reinterpret_cast<const char*>(buffer.data()), buffer.size());
  out.spec = ImageSpec{image.cols, image.rows, image.channels(), image.depth() == CV_16U ? Depth::kU16 : Depth::kU8};
  return out;
}

}  // namespace

JpegEncodeOptions JpegOptionsOf(const OutputSpec& spec) {
  JpegEncodeOptions options;
  options.quality = spec.quality.value_or(options.quality);
  options.progressive = spec.progressive;
  options.chroma = spec.chroma;
  options.optimize = spec.optimize;
  return options;
}

AvifEncodeOptions AvifOptionsOf(const OutputSpec& spec) {
  AvifEncodeOptions options;
  options.quality = spec.quality.value_or(options.quality);
  options.speed = spec.speed.value_or(options.speed);
  options.chroma = spec.chroma;
  return options;
}

HeicEncodeOptions HeicOptionsOf(const OutputSpec& spec) {
  HeicEncodeOptions options;
  options.quality = spec.quality.value_or(options.quality);
  options.speed = spec.speed.value_or(options.speed);
  options.chroma = spec.chroma;
  return options;
}

absl::StatusOr<EncodedImage> Encode(const cv::Mat& given, const OutputSpec& spec, const OutputMetadata* metadata) {
  if (spec.format == OutputFormat::kRaw) return EncodeRaw(given, spec);
  // PNG and TIFF write 16-bit samples; the 8-bit formats take round(v / 257) of a uint16 chain.
  const bool keeps_16 = spec.format == OutputFormat::kPng || spec.format == OutputFormat::kTiff;
  const cv::Mat image = keeps_16 ? given : ToDepth(given, Depth::kU8);
  const Depth depth = image.depth() == CV_16U ? Depth::kU16 : Depth::kU8;
  EncodedImage out;
  if (spec.format == OutputFormat::kAvif) {
    absl::StatusOr<std::string> bytes = EncodeAvif(image, AvifOptionsOf(spec), metadata);
    if (!bytes.ok()) return bytes.status();
    out.format = "avif";
    out.bytes = *std::move(bytes);
    out.spec = ImageSpec{image.cols, image.rows, image.channels(), Depth::kU8};
    return out;
  }
  if (spec.format == OutputFormat::kHeic) {
    absl::StatusOr<std::string> bytes = EncodeHeic(image, HeicOptionsOf(spec), metadata);
    if (!bytes.ok()) return bytes.status();
    out.format = "heic";
    out.bytes = *std::move(bytes);
    // Gray is stored as colour with equal channels (codec/heic_encode.h).
    out.spec = ImageSpec{image.cols, image.rows, image.channels() == 1 ? 3 : image.channels(), Depth::kU8};
    return out;
  }
  if (spec.format == OutputFormat::kTiff) return EncodeTiff(image, spec);
  if (spec.format == OutputFormat::kJpeg) {
    absl::StatusOr<std::string> bytes = EncodeJpegBgr(image, JpegOptionsOf(spec));
    if (!bytes.ok()) return bytes.status();
    out.format = "jpeg";
    out.bytes = *std::move(bytes);
    // JPEG has no alpha: the fourth channel is dropped, so the answer reports the three it stored.
    out.spec = ImageSpec{image.cols, image.rows, image.channels() == 4 ? 3 : image.channels(), Depth::kU8};
    return out;
  }
  std::vector<int> params;
  const char* extension = nullptr;
  switch (spec.format) {
    case OutputFormat::kPng:
      out.format = "png";
      extension = ".png";
      params = {cv::IMWRITE_PNG_COMPRESSION, spec.compression_level.value_or(3)};
      break;
    case OutputFormat::kWebp:
      out.format = "webp";
      extension = ".webp";
      params = {cv::IMWRITE_WEBP_QUALITY, spec.quality.value_or(90)};
      break;
    default: return absl::InternalError("unknown output format");
  }
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(extension, image, buffer, params)) {
      return absl::InternalError(absl::StrCat("encoding ", out.format, " failed"));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("encoding ", out.format, " failed: ", e.what()));
  }
  out.bytes.assign(reinterpret_cast<const char*>(buffer.data()), buffer.size());
  out.spec = ImageSpec{image.cols, image.rows, image.channels(), depth};
  return out;
}

}  // namespace imgproc
