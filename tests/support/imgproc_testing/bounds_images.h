#pragma once
// Hostile and unusual files for the bounds tests, made here byte by byte: PNGs whose chunks declare more than the
// file holds or inflate to far more than they weigh, PNGs and WebPs carrying an EXIF orientation.

#include <string>
#include <vector>

namespace imgproc::testing {

// A PNG chunk: length, type, data, CRC-32 of type and data.
std::string PngChunk(const std::string& type, const std::string& data);
// `png` (a whole PNG file) with `chunk` inserted right after its IHDR chunk.
std::string InsertAfterIhdr(const std::string& png, const std::string& chunk);

// The ancillary chunk types whose declared length OpenCV 4.6 trusted before reading (issue 28 item 2).
std::vector<std::string> AncillaryChunkTypes();
// 57 bytes: a 16x16 PNG's signature and IHDR, then a `type` chunk declaring 1 GiB of which 4 bytes follow, then IEND.
std::string ChunkBombPng(const std::string& type);

// A valid PNG of a generated image with `chunks` zTXt chunks, each inflating to `inflated_bytes` of text from a few
// kilobytes (zlib at level 9 on repeated bytes).
std::string ZtxtBombPng(int chunks, size_t inflated_bytes);
// A valid PNG with an iCCP chunk whose profile inflates to `inflated_bytes` (its ICC header says so).
std::string IccpBombPng(size_t inflated_bytes);

// A big-endian TIFF structure holding only the EXIF Orientation tag, as eXIf and WebP's EXIF chunk carry it.
std::string ExifOrientationTiff(int orientation);
// `png` with an eXIf chunk carrying `orientation`.
std::string PngWithExifOrientation(const std::string& png, int orientation);
// A simple (VP8 or VP8L) WebP rewritten as an extended one (VP8X) with an EXIF chunk carrying `orientation`.
std::string WebpWithExifOrientation(const std::string& simple_webp, int width, int height, int orientation);

// VmHWM (peak resident memory) of process `pid` in bytes, from /proc/<pid>/status; -1 when unreadable.
long long PeakResidentBytes(int pid);

}  // namespace imgproc::testing
