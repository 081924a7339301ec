#include "codec/jpeg_turbo.h"

#include <jpeglib.h>
// after jpeglib.h, which it needs
#include <jerror.h>

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstdlib>
#include <exception>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#ifndef JCS_EXTENSIONS
#error "imgproc needs libjpeg-turbo (its JCS_EXT_BGR colour spaces): install libjpeg-dev from libjpeg-turbo"
#endif

namespace imgproc {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back to the setjmp in
// RunDecode/RunEncode with libjpeg's message. Warnings (a stream that ends early, a bad Huffman code) let the
// decode go on, as in OpenCV, but are not printed to stderr: the first one that means damaged pixels is kept.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  char damage[JMSG_LENGTH_MAX];
};

[[noreturn]] void JumpOnError(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  errors->base.format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void DropMessage(j_common_ptr) {}

// The warnings after which part of the image is libjpeg's fill (gray, or the last good data) rather than the
// file's. Others (stray bytes between markers, an unusual JFIF version, a bad ICC marker) leave the pixels whole.
bool DamagesPixels(int code) {
  switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL: return true;
    default: return false;
  }
}

// msg_level -1 is a warning; 0 and above are trace messages.
void NoteWarning(j_common_ptr info, int msg_level) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  if (msg_level >= 0) return;
  ++errors->base.num_warnings;
  if (errors->damage[0] == '\0' && DamagesPixels(errors->base.msg_code)) {
    errors->base.format_message(info, errors->damage);
  }
}

void InstallErrorManager(ErrorManager& errors, j_common_ptr info) {
  info->err = jpeg_std_error(&errors.base);
  errors.base.error_exit = JumpOnError;
  errors.base.output_message = DropMessage;
  errors.base.emit_message = NoteWarning;
  errors.message[0] = '\0';
  errors.damage[0] = '\0';
}

// What a decode touches after setjmp lives here, in the caller's frame, so that a longjmp leaves nothing
// half-destroyed: the function that calls setjmp has no object with a destructor of its own.
struct DecodeJob {
  absl::string_view bytes;
  bool grayscale = false;
  bool cmyk = false;  // a 4-component stream, decoded as CMYK (CheckCmykJpegDecodes)
  int shrink_factor = 1;
  ErrorManager errors;
  jpeg_decompress_struct info{};  // zeroed: jpeg_destroy_decompress is safe whatever happened
  cv::Mat image;
  std::vector<JSAMPROW> rows;
  bool every_row_decoded = false;
  bool adobe_marker = false;  // saw Adobe's APP14 marker (a CMYK stream's ink is then stored inverted)
};

enum class Outcome { kDone, kFailed, kNotOurs };

Outcome RunDecode(DecodeJob* job) {
  InstallErrorManager(job->errors, reinterpret_cast<j_common_ptr>(&job->info));
  // Once every row is out, an error can only come from what follows the scan (a bad marker before the end of the
  // image): the pixels are complete, and OpenCV returns them too (unit.JpegTurboTest's mutations include such).
  if (setjmp(job->errors.jump)) return job->every_row_decoded ? Outcome::kDone : Outcome::kFailed;
  jpeg_create_decompress(&job->info);
  jpeg_mem_src(&job->info, reinterpret_cast<const unsigned char*>(job->bytes.data()), job->bytes.size());
  jpeg_read_header(&job->info, TRUE);
  if (job->cmyk != (job->info.num_components == 4)) return Outcome::kNotOurs;
  job->adobe_marker = job->info.saw_Adobe_marker != 0;
  if (!job->cmyk && job->info.num_components != 1 && job->info.num_components != 3) return Outcome::kNotOurs;
  job->info.out_color_space = job->cmyk ? JCS_CMYK : job->grayscale ? JCS_GRAYSCALE : JCS_EXT_BGR;
  job->info.scale_num = 1;
  job->info.scale_denom = static_cast<unsigned int>(job->shrink_factor);
  jpeg_start_decompress(&job->info);
  const int height = static_cast<int>(job->info.output_height);
  job->image.create(height, static_cast<int>(job->info.output_width),
                    job->cmyk        ? CV_8UC4
                    : job->grayscale ? CV_8UC1
                                     : CV_8UC3);
  job->rows.resize(height);
  for (int y = 0; y < height; ++y) job->rows[y] = job->image.ptr(y);
  while (job->info.output_scanline < job->info.output_height) {
    const JDIMENSION done = job->info.output_scanline;
    // An in-memory source never suspends; a stream that ends early is padded by libjpeg with a warning.
    if (jpeg_read_scanlines(&job->info, job->rows.data() + done, job->info.output_height - done) == 0) {
      return Outcome::kFailed;
    }
  }
  job->every_row_decoded = true;
  jpeg_finish_decompress(&job->info);
  return Outcome::kDone;
}

// RunDecode with what every caller does around it: the image's allocation failing (cv::Exception, std::bad_alloc)
// is RESOURCE_EXHAUSTED, and libjpeg's state is released in every outcome.
absl::StatusOr<Outcome> DecodeAndRelease(DecodeJob& job) {
  absl::StatusOr<Outcome> outcome = Outcome::kFailed;
  try {
    outcome = RunDecode(&job);
  } catch (const std::exception& e) {
    outcome = absl::ResourceExhaustedError(absl::StrCat("decoding jpeg: ", e.what()));
  }
  jpeg_destroy_decompress(&job.info);
  return outcome;
}

std::string FailureMessage(const DecodeJob& job) {
  return absl::StrCat("could not decode jpeg data (corrupt or truncated): ",
                      job.errors.message[0] != '\0' ? job.errors.message : "libjpeg returned no rows");
}

struct EncodeJob {
  const cv::Mat* image = nullptr;
  JpegEncodeOptions options;
  ErrorManager errors;
  jpeg_compress_struct info{};
  unsigned char* buffer = nullptr;  // malloc'ed by jpeg_mem_dest, grown by libjpeg; freed by the caller
  unsigned long size = 0;
  std::vector<JSAMPROW> rows;
};

bool RunEncode(EncodeJob* job) {
  InstallErrorManager(job->errors, reinterpret_cast<j_common_ptr>(&job->info));
  if (setjmp(job->errors.jump)) return false;
  jpeg_create_compress(&job->info);
  jpeg_mem_dest(&job->info, &job->buffer, &job->size);
  const cv::Mat& image = *job->image;
  job->info.image_width = static_cast<JDIMENSION>(image.cols);
  job->info.image_height = static_cast<JDIMENSION>(image.rows);
  job->info.input_components = image.channels();
  job->info.in_color_space = image.channels() == 1 ? JCS_GRAYSCALE : image.channels() == 3 ? JCS_EXT_BGR : JCS_EXT_BGRX;
  jpeg_set_defaults(&job->info);
  jpeg_set_quality(&job->info, job->options.quality, TRUE);
  if (image.channels() != 1) {
    // jpeg_set_defaults gave luma 2x2 and chroma 1x1 (4:2:0); the chroma's resolution follows luma's factors.
    const ChromaSubsampling chroma = job->options.chroma;
    job->info.comp_info[0].h_samp_factor = chroma == ChromaSubsampling::k444 ? 1 : 2;
    job->info.comp_info[0].v_samp_factor =
        chroma == ChromaSubsampling::k444 || chroma == ChromaSubsampling::k422 ? 1 : 2;
  }
  job->info.optimize_coding = job->options.optimize ? TRUE : FALSE;
  // After the sampling factors: the scan script depends on the components. libjpeg optimizes a progressive JPEG's
  // tables whatever optimize_coding says (its standard tables do not fit the scans' statistics).
  if (job->options.progressive) jpeg_simple_progression(&job->info);
  jpeg_start_compress(&job->info, TRUE);
  job->rows.resize(image.rows);
  for (int y = 0; y < image.rows; ++y) job->rows[y] = const_cast<JSAMPROW>(image.ptr(y));
  while (job->info.next_scanline < job->info.image_height) {
    const JDIMENSION done = job->info.next_scanline;
    if (jpeg_write_scanlines(&job->info, job->rows.data() + done, job->info.image_height - done) == 0) return false;
  }
  jpeg_finish_compress(&job->info);
  return true;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeJpegBgr(absl::string_view bytes, bool grayscale, int shrink_factor, std::string* damage) {
  if (shrink_factor != 1 && shrink_factor != 2 && shrink_factor != 4 && shrink_factor != 8) {
    return absl::InvalidArgumentError(absl::StrCat("JPEG decode at 1/", shrink_factor, ": not a libjpeg scale"));
  }
  DecodeJob job;
  job.bytes = bytes;
  job.grayscale = grayscale;
  job.shrink_factor = shrink_factor;
  const absl::StatusOr<Outcome> outcome = DecodeAndRelease(job);
  if (!outcome.ok()) return outcome.status();
  switch (*outcome) {
    case Outcome::kDone:
      if (damage != nullptr) damage->assign(job.errors.damage);
      return std::move(job.image);
    case Outcome::kNotOurs:
      return absl::UnimplementedError("JPEG with 4 components (CMYK or YCCK): OpenCV converts those");
    case Outcome::kFailed: break;
  }
  return absl::InvalidArgumentError(FailureMessage(job));
}

absl::StatusOr<cv::Mat> DecodeCmykJpeg(absl::string_view bytes, int shrink_factor, bool* inverted) {
  DecodeJob job;
  job.bytes = bytes;
  job.cmyk = true;
  job.shrink_factor = shrink_factor;
  const absl::StatusOr<Outcome> outcome = DecodeAndRelease(job);
  if (!outcome.ok()) return outcome.status();
  if (*outcome == Outcome::kNotOurs) return absl::InvalidArgumentError("JPEG without 4 components: not CMYK or YCCK");
  if (*outcome == Outcome::kFailed) return absl::InvalidArgumentError(FailureMessage(job));
  if (job.errors.damage[0] != '\0') {
    return absl::InvalidArgumentError(absl::StrCat(
        "damaged or truncated CMYK/YCCK JPEG (", job.errors.damage,
        "): refused, since only a whole one converts reliably (OpenCV's converter leaves what it does not reach "
        "unwritten)"));
  }
  if (inverted != nullptr) *inverted = job.adobe_marker;
  return std::move(job.image);
}

absl::Status CheckCmykJpegDecodes(absl::string_view bytes, int shrink_factor) {
  return DecodeCmykJpeg(bytes, shrink_factor, nullptr).status();
}

absl::StatusOr<std::string> EncodeJpegBgr(const cv::Mat& image, const JpegEncodeOptions& options) {
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return absl::InvalidArgumentError(absl::StrCat("JPEG encode needs 8-bit pixels with 1, 3 or 4 channels (got depth ",
                                                   image.depth(), ", ", image.channels(), " channels)"));
  }
  EncodeJob job;
  job.image = &image;
  job.options = options;
  bool ok = false;
  try {
    ok = RunEncode(&job);
  } catch (const std::exception& e) {  // the row table's allocation
    jpeg_destroy_compress(&job.info);
    std::free(job.buffer);
    return absl::ResourceExhaustedError(absl::StrCat("encoding jpeg: ", e.what()));
  }
  jpeg_destroy_compress(&job.info);
  std::string bytes;
  if (ok) bytes.assign(reinterpret_cast<const char*>(job.buffer), job.size);
  std::free(job.buffer);
  if (!ok) {
    return absl::InternalError(absl::StrCat(
        "encoding jpeg failed: ", job.errors.message[0] != '\0' ? job.errors.message : "libjpeg wrote no rows"));
  }
  return bytes;
}

}  // namespace imgproc
