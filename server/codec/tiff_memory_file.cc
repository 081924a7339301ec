#include "codec/tiff_memory_file.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace imgproc {
namespace {

tmsize_t ReadBytes(thandle_t handle, void* buffer, tmsize_t count) {
  auto* file = static_cast<TiffMemoryFile*>(handle);
  if (count <= 0 || file->position >= file->size) return 0;
  const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(count), file->size - file->position);
  std::memcpy(buffer, file->data + file->position, n);
  file->position += n;
  return static_cast<tmsize_t>(n);
}

tmsize_t WriteNothing(thandle_t, void*, tmsize_t) { return 0; }

toff_t Seek(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<TiffMemoryFile*>(handle);
  // toff_t is unsigned: a negative relative offset arrives wrapped, and the sum wraps back.
  const uint64_t base = whence == SEEK_CUR ? file->position : whence == SEEK_END ? file->size : 0;
  file->position = base + offset;
  return file->position;
}

int CloseNothing(thandle_t) { return 0; }
toff_t Size(thandle_t handle) { return static_cast<TiffMemoryFile*>(handle)->size; }

// libtiff reads strips straight from the request's bytes instead of copying each into a buffer of its own; it
// never writes to a mapping (TIFFOpen's own is read-only).
int Map(thandle_t handle, void** base, toff_t* size) {
  auto* file = static_cast<TiffMemoryFile*>(handle);
  *base = const_cast<unsigned char*>(file->data);
  *size = file->size;
  return 1;
}
void Unmap(thandle_t, void*, toff_t) {}

int KeepFirstError(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
  auto* file = static_cast<TiffMemoryFile*>(user_data);
  if (file->first_error.empty()) {
    char message[512];
    std::vsnprintf(message, sizeof(message), format, args);
    file->first_error = module != nullptr ? absl::StrCat(module, ": ", message) : message;
  }
  return 1;  // handled: libtiff's process-wide handler (stderr) is not called
}

int DropWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

constexpr tmsize_t kMaxLibtiffAllocation = tmsize_t{512} << 20;

}  // namespace

TiffHandle OpenTiffInMemory(TiffMemoryFile* file) {
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  if (options == nullptr) return nullptr;
  TIFFOpenOptionsSetErrorHandlerExtR(options, KeepFirstError, file);
  TIFFOpenOptionsSetWarningHandlerExtR(options, DropWarning, nullptr);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, kMaxLibtiffAllocation);
  TiffHandle tiff(
      TIFFClientOpenExt("request", "r", file, ReadBytes, WriteNothing, Seek, CloseNothing, Size, Map, Unmap, options));
  TIFFOpenOptionsFree(options);
  return tiff;
}

}  // namespace imgproc
