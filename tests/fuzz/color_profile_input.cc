// What fuzz_color_profile does with one input (unit.ColorFuzzSeedsTest runs it on its seeds and their mutations).
// Each input is read twice: as an image, whose container is walked for its profile and whose transform is built
// through a cache as the server builds it; and as an ICC profile itself, handed to lcms2. Every transform that
// builds is applied to a small image of each kind it takes, alpha and gray included.
#include "fuzz/color_profile_input.h"

#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "codec/color_profile.h"
#include "codec/color_transform.h"
#include "codec/image_header.h"

namespace {

void Exercise(const imgproc::ColorTransform& transform) {
  using Input = imgproc::ColorTransform::Input;
  cv::Mat image;
  switch (transform.input()) {
    case Input::kRgb:
      for (int channels : {3, 4}) {
        image.create(5, 7, CV_8UC(channels));
        cv::randu(image, 0, 256);
        (void)transform.Apply(image);
      }
      break;
    case Input::kGray:
      for (int channels : {1, 3, 4}) {
        image.create(5, 7, CV_8UC(channels));
        cv::randu(image, 0, 256);
        (void)transform.Apply(image);
      }
      break;
    case Input::kCmyk:
      image.create(5, 7, CV_8UC4);
      cv::randu(image, 0, 256);
      (void)transform.Apply(image, /*inverted_cmyk=*/true);
      break;
  }
}

}  // namespace

namespace imgproc::fuzz {

void ColorProfileInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  // A cache of its own, small, so that eviction runs too.
  static imgproc::ColorTransformCache* cache = new imgproc::ColorTransformCache(4, size_t{4} << 20);
  if (absl::StatusOr<imgproc::ImageHeader> header = imgproc::ReadImageHeader(bytes); header.ok()) {
    const imgproc::ColorSource source = imgproc::ReadColorSource(bytes, *header);
    if (source.kind == imgproc::ColorSourceKind::kIcc || source.kind == imgproc::ColorSourceKind::kPngGamma) {
      imgproc::ColorTransformCache::Lookup lookup = cache->Get(source);
      if (lookup.transform.ok()) Exercise(**lookup.transform);
    }
  }
  if (size <= imgproc::kMaxColorProfileBytes) {
    absl::StatusOr<std::shared_ptr<const imgproc::ColorTransform>> direct =
        imgproc::ColorTransform::FromIcc(std::string(bytes));
    if (direct.ok()) Exercise(**direct);
  }
}

}  // namespace imgproc::fuzz
