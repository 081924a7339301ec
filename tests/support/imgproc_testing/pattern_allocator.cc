#include "imgproc_testing/pattern_allocator.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

#if defined(__SANITIZE_ADDRESS__)
#define IMGPROC_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define IMGPROC_SANITIZER_MALLOC 1
#endif
#endif
#if IMGPROC_SANITIZER_MALLOC
// Declared here rather than by <sanitizer/allocator_interface.h>, which clang ships and GCC (whose libasan exports the
// same function) does not.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
#endif

namespace imgproc::testing {
namespace {

#if IMGPROC_SANITIZER_MALLOC
std::atomic<int> malloc_fill{-1};

void FillOnMalloc(const volatile void* pointer, size_t size) {
  const int fill = malloc_fill.load(std::memory_order_relaxed);
  if (fill >= 0) std::memset(const_cast<void*>(pointer), fill, size);
}

void IgnoreFree(const volatile void*) {}  // the sanitizers install no hook pair without a free hook
#endif

// Fills every later malloc with `byte` (-1: stop): what a decoder's own buffers (libtiff's, OpenCV's AutoBuffer, a
// std::vector it does not zero) start with, so that an output copied from an unwritten one shows it too. glibc's
// M_PERTURB where malloc is glibc's (it fills every allocation but those served from the per-thread cache of chunks
// up to 1 KiB); the sanitizers' allocator hook in the fuzz build, whose malloc is the sanitizer's.
void SetMallocFill(int byte) {
#if IMGPROC_SANITIZER_MALLOC
  static const bool installed = __sanitizer_install_malloc_and_free_hooks(FillOnMalloc, IgnoreFree) != 0;
  if (!installed) std::abort();  // the check would silently see nothing
  malloc_fill.store(byte, std::memory_order_relaxed);
#else
  mallopt(M_PERTURB, byte < 0 ? 0 : (byte ^ 0xFF));  // glibc fills with the complement of the value
#endif
}

}  // namespace

constexpr size_t kAutoStep = 0x7fffffff;  // OpenCV's CV_AUTOSTEP (core_c.h): "compute the step"

// As OpenCV's standard allocator (fastMalloc, steps of a dense array), with the fill added.
cv::UMatData* PatternAllocator::allocate(int dims, const int* sizes, int type, void* data, size_t* step, cv::AccessFlag,
                                         cv::UMatUsageFlags) const {
  size_t total = CV_ELEM_SIZE(type);
  for (int i = dims - 1; i >= 0; --i) {
    if (step != nullptr) {
      if (data != nullptr && step[i] != kAutoStep) {
        total = step[i];
      } else {
        step[i] = total;
      }
    }
    total *= sizes[i];
  }
  auto* u = new cv::UMatData(this);
  if (data != nullptr) {
    u->data = u->origdata = static_cast<uchar*>(data);
    u->flags |= cv::UMatData::USER_ALLOCATED;
  } else {
    u->data = u->origdata = static_cast<uchar*>(cv::fastMalloc(total));
    std::memset(u->data, pattern_, total);
  }
  u->size = total;
  return u;
}

bool PatternAllocator::allocate(cv::UMatData* data, cv::AccessFlag, cv::UMatUsageFlags) const {
  return data != nullptr;
}

void PatternAllocator::deallocate(cv::UMatData* u) const {
  if (u == nullptr) return;
  if (!(u->flags & cv::UMatData::USER_ALLOCATED)) cv::fastFree(u->origdata);
  delete u;
}

ScopedDefaultAllocator::ScopedDefaultAllocator(cv::MatAllocator* allocator)
    : previous_(cv::Mat::getDefaultAllocator()) {
  cv::Mat::setDefaultAllocator(allocator);
}

ScopedDefaultAllocator::~ScopedDefaultAllocator() { cv::Mat::setDefaultAllocator(previous_); }

std::string CompareUnderTwoPatterns(const std::function<absl::StatusOr<cv::Mat>()>& decode) {
  static PatternAllocator zeros(0x00), other(0xA5);
  absl::StatusOr<cv::Mat> first, second;
  {
    ScopedDefaultAllocator scoped(&zeros);
    SetMallocFill(0x00);
    first = decode();
  }
  {
    ScopedDefaultAllocator scoped(&other);
    SetMallocFill(0xA5);
    second = decode();
  }
  SetMallocFill(-1);
  if (first.ok() != second.ok() || first.status().code() != second.status().code()) {
    return absl::StrCat("statuses differ: ", first.status().ToString(), " / ", second.status().ToString());
  }
  if (!first.ok()) return "";
  const cv::Mat &a = *first, &b = *second;
  if (a.size() != b.size() || a.type() != b.type()) return "shapes differ";
  for (int y = 0; y < a.rows; ++y) {
    const size_t row_bytes = static_cast<size_t>(a.cols) * a.elemSize();
    if (std::memcmp(a.ptr(y), b.ptr(y), row_bytes) != 0) {
      size_t x = 0;
      while (a.ptr(y)[x] == b.ptr(y)[x]) ++x;
      return absl::StrCat("pixels differ first at row ", y, ", byte ", x, " (", int{a.ptr(y)[x]}, " under fill 0x00, ",
                          int{b.ptr(y)[x]}, " under 0xA5): unwritten output");
    }
  }
  return "";
}

}  // namespace imgproc::testing
