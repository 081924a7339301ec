#pragma once
// HEIC answers (HEVC in HEIF, what iPhones write) through libheif 1.15 with its x265 plugin, on the CPU.
//
// x265 runs single-threaded here (no thread pool, one frame thread): the worker pool is what spreads requests over
// the cores, as for AVIF. Like an AV1 encode, an HEVC encode cannot be stopped once it runs (libheif has no
// progress callback), so the plan bounds it the same way: ImageLimits::max_heic_pixels, and HeicEncodeWork counted
// into the request's work budget.
//
// HEVC is patent-encumbered: whoever serves HEIC answers takes on its licensing, as with any x265 build. The
// format is asked for by name only; nothing answers HEIC by default.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "codec/encode_options.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

struct OutputMetadata;

// The estimated cost of encoding `pixels` at `speed` (x265's preset), in the work budget's pixel-channel taps.
double HeicEncodeWork(int64_t pixels, int speed);

// x265's preset name for a speed 0..9: placebo .. ultrafast.
const char* HeicPresetName(int speed);

// Encodes 8-bit gray, BGR or BGRA (alpha as an auxiliary image) in sRGB (BT.709 primaries, sRGB transfer, BT.601
// matrix, full range: what a decoder assumes of a HEIC without an nclx box, which libheif leaves out for sRGB). A
// gray image is encoded as colour with equal channels. `metadata` (when given) goes into the file: its ICC profile
// (colr 'prof'), EXIF and XMP items.
absl::StatusOr<std::string> EncodeHeic(const cv::Mat& image, const HeicEncodeOptions& options,
                                       const OutputMetadata* metadata = nullptr);

}  // namespace imgproc
