#pragma once
// AVIF answers through libavif (Debian 12: 0.11.1) with libaom as the AV1 encoder, on the CPU.
//
// Why libavif and libaom: Debian's libavif is built with aom, rav1e and SVT-AV1 for encoding; aom is the one whose
// speed range (0-10) libavif maps fully and whose small-image encodes are fastest at the speeds thumbnails want.
// libheif's AVIF encoder is the same libaom behind one more layer. The encode runs on the calling worker's thread
// (maxThreads 1): the worker pool is what spreads requests over the cores.
//
// An AV1 encode cannot be stopped once it runs: libavif 0.11 has no progress callback, so a cancelled or expired
// request still finishes its encode. The plan bounds it instead: ImageLimits::max_avif_pixels, and AvifEncodeWork
// counted into the request's work budget.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "codec/encode_options.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

struct OutputMetadata;

// The estimated cost of encoding `pixels` at `speed`, in the pixel-channel taps of the work budget: one core's
// microseconds per pixel, measured with avifenc 0.11.1 (libaom 3.6.0) on this host, at ~6000 taps per microsecond
// (what the bilateral filter, the heaviest chain the budget is tuned on, runs at: 4.86e10 taps in ~8 s).
double AvifEncodeWork(int64_t pixels, int speed);

// Encodes 8-bit gray (monochrome AV1), BGR or BGRA (alpha as an auxiliary alpha image at the same quantizer) in
// sRGB (nclx: BT.709 primaries, sRGB transfer, BT.601 matrix, full range). `metadata` (when given) goes into the
// file's items: its ICC profile (beside the nclx colour) and XMP (MetadataSupportOf(kAvif) says why not EXIF).
absl::StatusOr<std::string> EncodeAvif(const cv::Mat& image, const AvifEncodeOptions& options,
                                       const OutputMetadata* metadata = nullptr);

}  // namespace imgproc
