#pragma once
// Images carrying EXIF, XMP and ICC profiles, written and read back with the formats' own libraries (libexif,
// libjpeg-turbo, libpng, libwebp's mux and demux), never with the server's code, so that a test of the server's
// metadata handling checks it against independent readers and writers.

#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace imgproc::testing {

// An ICC profile from Debian's colord-data or icc-profiles-free, e.g. "colord/AdobeRGB1998.icc", "ITULab.icc".
std::string IccProfile(const std::string& relative);

struct ExifFields {
  int orientation = 0;  // 0: no Orientation tag
  std::string make, copyright, artist;
  bool gps = false;     // a GPS IFD with GPSLatitudeRef "N"
  int pixel_width = 0;  // 0: no PixelXDimension/PixelYDimension
  int pixel_height = 0;
  std::string thumbnail;    // a JPEG written as IFD1's JPEGInterchangeFormat
  bool big_endian = false;  // "MM" rather than libexif's default "II"
};
// The TIFF structure (no "Exif\0\0" prefix), written by libexif.
std::string ExifBlock(const ExifFields& fields);

// An XMP packet with a tiff:Orientation attribute of `orientation` (0: none) and a dc:rights of `rights`.
std::string XmpPacket(const std::string& rights, int orientation = 0);

struct Metadata {
  std::optional<std::string> exif;  // TIFF structure
  std::optional<std::string> xmp;
  std::optional<std::string> icc_profile;
};
// `image` (BGR) encoded with the metadata, by libjpeg (jpeg_write_marker, jpeg_write_icc_profile), libpng
// (png_set_eXIf_1, png_set_iCCP, an iTXt text chunk) or OpenCV and libwebpmux (EXIF, XMP, ICCP chunks).
std::string JpegWith(const cv::Mat& image, const Metadata& metadata, int quality = 90);
std::string PngWith(const cv::Mat& image, const Metadata& metadata);
std::string WebpWith(const cv::Mat& image, const Metadata& metadata);

// What an answer carries, read by the format's library. `blocks` names every metadata-like segment or chunk found:
// JPEG "APPn:<identifier>" for each APPn segment (e.g. "APP0:JFIF", "APP1:Exif", "APP2:ICC_PROFILE"), COM as "COM";
// PNG the ancillary text, EXIF and colour chunks ("iCCP", "eXIf", "iTXt", "tEXt", "zTXt", "sRGB", "gAMA", "cHRM");
// WebP the "ICCP", "EXIF", "XMP " chunks.
struct ReadMetadata {
  Metadata metadata;
  std::vector<std::string> blocks;
  bool decodes = false;  // the pixels decode (OpenCV)
};
ReadMetadata ReadJpegMetadata(const std::string& jpeg);
ReadMetadata ReadPngMetadata(const std::string& png);
ReadMetadata ReadWebpMetadata(const std::string& webp);
ReadMetadata ReadAnswerMetadata(const std::string& bytes, const std::string& format);  // "jpeg", "png", "webp"

// An EXIF block as libexif reads it: every tag of IFD0, the EXIF IFD and the GPS IFD ("0:0x0112", "exif:0xa002",
// "gps:0x0001"), the Orientation and pixel dimensions (0 when absent), the thumbnail's bytes and the ASCII tags.
struct ParsedExif {
  bool loaded = false;
  std::vector<std::string> tags;
  int orientation = 0;
  int pixel_width = 0;
  int pixel_height = 0;
  size_t thumbnail_bytes = 0;
  std::string make, copyright, artist;
};
ParsedExif ParseExif(const std::string& tiff);

}  // namespace imgproc::testing
