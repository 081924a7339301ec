// libFuzzer target: the metadata policy's readers and writers (codec/exif.h, codec/metadata.h). The input is tried as
// an EXIF block (a rewrite is bounded by the block and is its own rewrite) and as an image whose blocks, extracted,
// prepared and spliced into a JPEG, PNG and WebP answer, are extracted from each answer unchanged. A difference
// aborts, so a wrong length, CRC or RIFF size is a finding, not only a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <opencv2/core.hpp>

#include "codec/codec.h"
#include "codec/exif.h"
#include "codec/image_header.h"
#include "codec/metadata.h"

namespace {

using imgproc::OutputFormat;

const std::string& SmallAnswer(OutputFormat format) {
  static const auto* answers = [] {
    const cv::Mat image(6, 8, CV_8UC3, cv::Scalar(40, 120, 200));
    auto* encoded = new std::string[3];
    for (const OutputFormat f : {OutputFormat::kJpeg, OutputFormat::kPng, OutputFormat::kWebp}) {
      imgproc::OutputSpec spec;
      spec.format = f;
      encoded[static_cast<int>(f)] = imgproc::Encode(image, spec)->bytes;
    }
    return encoded;
  }();
  return answers[static_cast<int>(format)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const bool copyright_only : {false, true}) {
    imgproc::ExifRewrite rewrite;
    rewrite.copyright_only = copyright_only;
    rewrite.pixel_width = 70000;  // a LONG where the block may have a SHORT
    rewrite.pixel_height = 5;
    absl::StatusOr<std::string> once = imgproc::RewriteExif(bytes, rewrite);
    if (!once.ok() || once->empty()) continue;
    if (once->size() > bytes.size() + 64) std::abort();
    absl::StatusOr<std::string> twice = imgproc::RewriteExif(*once, rewrite);
    if (!twice.ok() || *twice != *once) std::abort();
  }

  absl::StatusOr<imgproc::ImageHeader> header = imgproc::ReadImageHeader(bytes);
  if (!header.ok()) return 0;
  const imgproc::MetadataPolicy everything{true, imgproc::ExifPolicy::kKeep, true};
  const imgproc::InputMetadata input = imgproc::ExtractMetadata(bytes, header->format, everything);
  for (const OutputFormat format : {OutputFormat::kJpeg, OutputFormat::kPng, OutputFormat::kWebp}) {
    const imgproc::OutputMetadata kept =
        imgproc::PrepareOutputMetadata(input, everything, format, imgproc::ExifRewrite{});
    std::string answer = SmallAnswer(format);
    if (!imgproc::EmbedMetadata(kept, format, answer).ok()) std::abort();
    absl::StatusOr<imgproc::ImageHeader> answer_header = imgproc::ReadImageHeader(answer);
    if (!answer_header.ok()) std::abort();
    const imgproc::InputMetadata back = imgproc::ExtractMetadata(answer, answer_header->format, everything);
    if (back.icc_profile != kept.icc_profile || back.exif != kept.exif || back.xmp != kept.xmp) std::abort();
  }
  return 0;
}
