#pragma once
// PNG decode on the CPU straight through libpng, so that its allocation limits can be set.
//
// Why not cv::imdecode: OpenCV 4.6 creates its libpng reader with libpng's defaults and no way to change them, and a
// 57-byte PNG whose tEXt declared 1 GiB took 1 GiB of memory on each request before it failed. Here libpng gets
// png_set_user_limits (the size the header was checked for), png_set_chunk_malloc_max (kPngChunkMallocMax: iCCP, the
// one compressed chunk kept, decompresses to no more) and png_set_chunk_cache_max, and the chunks that do not change
// pixels (text, sPLT, pCAL, sCAL, eXIf, ...) are skipped unread, so a zTXt bomb is never inflated. The
// transformations are OpenCV 4.6's PngDecoder's, in its order, so the pixels are the same as cv::imdecode's in each
// mode, for every colour type and bit depth, interlaced or not (tests/unit/png_decode_test.cc checks them).

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core/mat.hpp"

namespace imgproc {

// The largest allocation libpng may make for one chunk; iCCP profiles are a few kilobytes, 4 MiB at most in practice.
inline constexpr size_t kPngChunkMallocMax = size_t{4} << 20;

// The image as cv::imdecode(bytes, flags) gives it, for flags IMREAD_COLOR, IMREAD_GRAYSCALE (each with
// IMREAD_IGNORE_ORIENTATION: libpng never turns an image, and optionally IMREAD_ANYDEPTH: 16 bits kept) or
// IMREAD_UNCHANGED: 8-bit BGR, 8-bit gray, or the
// file's own channels (gray, BGR, BGRA; gray+alpha as BGRA; a tRNS as alpha) and depth (8 or 16 bits).
// A PNG wider or taller than max_width x max_height, or one libpng cannot read, is INVALID_ARGUMENT with libpng's
// reason; RESOURCE_EXHAUSTED when the image cannot be allocated.
absl::StatusOr<cv::Mat> DecodePng(absl::string_view bytes, int imread_flags, int max_width, int max_height);

}  // namespace imgproc
