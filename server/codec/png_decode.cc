#include "codec/png_decode.h"

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

// ~150 bytes of chunk cache each: enough for any real file's unknown chunks, few enough that a flood of them costs
// nothing (libpng's default is 1000).
constexpr png_uint_32 kChunkCacheMax = 128;

// The chunks of variable size that change no pixel, skipped unread: never allocated, inflated or kept (the header
// stage read eXIf's orientation already). gAMA, sRGB, iCCP and cHRM are read, since libpng's RGB-to-gray conversion
// works in linear light when the file states a gamma; the small fixed-size ones are left as OpenCV has them.
constexpr png_byte kSkippedChunks[] = "tEXt\0zTXt\0iTXt\0sPLT\0pCAL\0sCAL\0eXIf\0hIST";
constexpr int kSkippedChunkCount = sizeof(kSkippedChunks) / 5;

// What a decode touches after setjmp lives here, in the caller's frame: the function that calls setjmp has no
// object with a destructor of its own, so libpng's longjmp leaves nothing half-destroyed.
struct DecodeJob {
  absl::string_view bytes;
  size_t position = 0;
  int flags = cv::IMREAD_COLOR;
  png_uint_32 max_width = 0, max_height = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_infop end_info = nullptr;
  cv::Mat image;
  std::vector<png_bytep> rows;
  char message[256] = "";
  char warning[256] = "";  // libpng's first: often the why of the error after it ("... exceeds user limit")
};

// libpng's error callback must not return.
[[noreturn]] void JumpOnError(png_structp png, png_const_charp message) {
  auto* job = static_cast<DecodeJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof(job->message), "%s", message);
  png_longjmp(png, 1);
}

void KeepFirstWarning(png_structp png, png_const_charp message) {
  auto* job = static_cast<DecodeJob*>(png_get_error_ptr(png));
  if (job->warning[0] == '\0') std::snprintf(job->warning, sizeof(job->warning), "%s", message);
}

void ReadFromMemory(png_structp png, png_bytep out, size_t size) {
  auto* job = static_cast<DecodeJob*>(png_get_io_ptr(png));
  if (size > job->bytes.size() - job->position) png_error(png, "the data ends early (truncated)");
  std::memcpy(out, job->bytes.data() + job->position, size);
  job->position += size;
}

bool RunDecode(DecodeJob* job) {
  png_structp png = job->png;
  png_infop info = job->info;
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, job, ReadFromMemory);
  png_set_user_limits(png, job->max_width, job->max_height);
  png_set_chunk_malloc_max(png, kPngChunkMallocMax);
  png_set_chunk_cache_max(png, kChunkCacheMax);
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kSkippedChunks, kSkippedChunkCount);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, nullptr, nullptr, nullptr);

  // The type OpenCV 4.6's PngDecoder::readHeader gives the file (a tRNS makes RGB and palette images 4 channels;
  // gray keeps 1 channel whatever its tRNS) ...
  int channels = 1;
  switch (color_type) {
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE: {
      png_bytep trans = nullptr;
      int num_trans = 0;
      png_color_16p trans_values = nullptr;
      png_get_tRNS(png, info, &trans, &num_trans, &trans_values);
      channels = num_trans > 0 ? 4 : 3;
      break;
    }
    case PNG_COLOR_TYPE_GRAY_ALPHA:
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: break;
  }
  int depth = bit_depth == 16 ? CV_16U : CV_8U;
  // ... and the type imdecode then asks of it: all but IMREAD_UNCHANGED take 8 bits (unless IMREAD_ANYDEPTH: the
  // 16-bit decode), in 3 channels or in 1.
  if (job->flags != cv::IMREAD_UNCHANGED) {
    if ((job->flags & cv::IMREAD_ANYDEPTH) == 0) depth = CV_8U;
    channels = (job->flags & cv::IMREAD_COLOR) != 0 ? 3 : 1;
  }
  job->image.create(static_cast<int>(height), static_cast<int>(width), CV_MAKETYPE(depth, channels));

  // PngDecoder::readData's transformations, in its order (x86 and ARM hosts are little-endian: 16-bit samples are
  // swapped to host order).
  const bool color = channels > 1;
  if (depth == CV_8U && bit_depth == 16) {
    png_set_strip_16(png);
  } else {
    png_set_swap(png);
  }
  if (channels < 4) {
    png_set_strip_alpha(png);
  } else {
    png_set_tRNS_to_alpha(png);
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) != 0 && color) {
    png_set_bgr(png);
  } else if (color) {
    png_set_gray_to_rgb(png);
  } else {
    png_set_rgb_to_gray(png, 1, 0.299, 0.587);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  // libpng writes png_get_rowbytes per row: it must be the row the image holds, never more.
  if (png_get_rowbytes(png, info) != job->image.cols * job->image.elemSize()) {
    png_error(png, "the transformed row size differs from the image's (an unexpected PNG layout)");
  }
  job->rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) job->rows[y] = job->image.ptr(static_cast<int>(y));
  png_read_image(png, job->rows.data());
  png_read_end(png, job->end_info);
  return true;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodePng(absl::string_view bytes, int imread_flags, int max_width, int max_height) {
  DecodeJob job;
  job.bytes = bytes;
  job.flags = imread_flags & ~cv::IMREAD_IGNORE_ORIENTATION;
  if (imread_flags == cv::IMREAD_UNCHANGED) job.flags = cv::IMREAD_UNCHANGED;
  job.max_width = static_cast<png_uint_32>(std::max(max_width, 1));
  job.max_height = static_cast<png_uint_32>(std::max(max_height, 1));
  job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, JumpOnError, KeepFirstWarning);
  if (job.png != nullptr) {
    job.info = png_create_info_struct(job.png);
    job.end_info = png_create_info_struct(job.png);
  }
  if (job.png == nullptr || job.info == nullptr || job.end_info == nullptr) {
    png_destroy_read_struct(&job.png, &job.info, &job.end_info);
    return absl::ResourceExhaustedError("decoding png: libpng could not allocate its reader");
  }
  bool ok = false;
  try {
    ok = RunDecode(&job);
  } catch (const std::exception& e) {  // the image's allocation (cv::Exception, std::bad_alloc)
    png_destroy_read_struct(&job.png, &job.info, &job.end_info);
    return absl::ResourceExhaustedError(absl::StrCat("decoding png: ", e.what()));
  }
  png_destroy_read_struct(&job.png, &job.info, &job.end_info);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "could not decode png data (corrupt or truncated): ", job.message[0] != '\0' ? job.message : "libpng failed",
        job.warning[0] != '\0' ? absl::StrCat(" (after: ", job.warning, ")") : std::string()));
  }
  return std::move(job.image);
}

}  // namespace imgproc
