#include "imgproc_testing/bounds_images.h"

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>

#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string Le32(uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
}
std::string Le24(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16)}; }

std::string Deflate(const std::string& data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()),
                static_cast<uLong>(data.size()), 9) != Z_OK) {
    throw std::runtime_error("zlib compress2 failed");
  }
  out.resize(size);
  return out;
}

std::string SmallPng() { return EncodeAs(GeneratedImage(64, 48), ".png"); }

}  // namespace

std::string PngChunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const uint32_t crc = static_cast<uint32_t>(
      crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  return Be32(static_cast<uint32_t>(data.size())) + body + Be32(crc);
}

std::string InsertAfterIhdr(const std::string& png, const std::string& chunk) {
  constexpr size_t kAfterIhdr = 8 + 12 + 13;
  return png.substr(0, kAfterIhdr) + chunk + png.substr(kAfterIhdr);
}

std::vector<std::string> AncillaryChunkTypes() { return {"tEXt", "zTXt", "iTXt", "sPLT", "pCAL", "sCAL"}; }

std::string ChunkBombPng(const std::string& type) {
  const std::string ihdr = Be32(16) + Be32(16) + std::string("\x08\x02\0\0\0", 5);  // 8-bit RGB
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + Be32(uint32_t{1} << 30) + type +
         std::string("key\0", 4) + PngChunk("IEND", "");
}

std::string ZtxtBombPng(int chunks, size_t inflated_bytes) {
  const std::string compressed = Deflate(std::string(inflated_bytes, 'A'));
  std::string text_chunks;
  for (int i = 0; i < chunks; ++i) {
    text_chunks += PngChunk("zTXt", "Comment" + std::to_string(i) + std::string("\0\0", 2) + compressed);
  }
  return InsertAfterIhdr(SmallPng(), text_chunks);
}

std::string IccpBombPng(size_t inflated_bytes) {
  // An ICC header (128 bytes) whose size field says the whole profile's size, then zeros: libpng reads the
  // declared size before inflating the rest.
  std::string profile(inflated_bytes, '\0');
  const std::string size = Be32(static_cast<uint32_t>(inflated_bytes));
  profile.replace(0, 4, size);
  profile.replace(36, 4, "acsp");
  return InsertAfterIhdr(SmallPng(), PngChunk("iCCP", std::string("bomb\0\0", 6) + Deflate(profile)));
}

std::string ExifOrientationTiff(int orientation) {
  // Header, then IFD0 at offset 8 with one SHORT entry (tag 0x0112) and no next IFD.
  return std::string("MM\0*\0\0\0\x08", 8) + std::string("\0\x01", 2) + std::string("\x01\x12\0\x03\0\0\0\x01", 8) +
         std::string{'\0', static_cast<char>(orientation), '\0', '\0'} + std::string(4, '\0');
}

std::string PngWithExifOrientation(const std::string& png, int orientation) {
  return InsertAfterIhdr(png, PngChunk("eXIf", ExifOrientationTiff(orientation)));
}

std::string WebpWithExifOrientation(const std::string& simple_webp, int width, int height, int orientation) {
  const std::string image_chunk = simple_webp.substr(12);  // "VP8 " or "VP8L" chunk, padded
  constexpr char kExifFlag = 0x08;
  const std::string vp8x = "VP8X" + Le32(10) + std::string{kExifFlag, 0, 0, 0} + Le24(width - 1) + Le24(height - 1);
  std::string exif = ExifOrientationTiff(orientation);
  std::string exif_chunk = "EXIF" + Le32(static_cast<uint32_t>(exif.size())) + exif;
  if (exif.size() % 2 == 1) exif_chunk += '\0';
  const std::string body = "WEBP" + vp8x + image_chunk + exif_chunk;
  return "RIFF" + Le32(static_cast<uint32_t>(body.size())) + body;
}

long long PeakResidentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   60296 kB"
  }
  return -1;
}

}  // namespace imgproc::testing
