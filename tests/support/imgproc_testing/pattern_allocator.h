#pragma once
// Catches decoders that hand back memory they did not write (issue 28): every cv::Mat allocated while a
// PatternAllocator is installed starts filled with its byte, so decoding the same input under two different bytes
// gives two different answers exactly when some output byte was never written. Used by unit.DecodePatternTest
// and the libFuzzer target fuzz_decode_pattern.

#include <functional>
#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace imgproc::testing {

class PatternAllocator : public cv::MatAllocator {
 public:
  explicit PatternAllocator(unsigned char pattern) : pattern_(pattern) {}
  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step, cv::AccessFlag flags,
                         cv::UMatUsageFlags usage) const override;
  bool allocate(cv::UMatData* data, cv::AccessFlag flags, cv::UMatUsageFlags usage) const override;
  void deallocate(cv::UMatData* data) const override;

 private:
  unsigned char pattern_;
};

// Installs `allocator` as OpenCV's default for its lifetime (one thread at a time: the default is process-wide).
class ScopedDefaultAllocator {
 public:
  explicit ScopedDefaultAllocator(cv::MatAllocator* allocator);
  ~ScopedDefaultAllocator();
  ScopedDefaultAllocator(const ScopedDefaultAllocator&) = delete;
  ScopedDefaultAllocator& operator=(const ScopedDefaultAllocator&) = delete;

 private:
  cv::MatAllocator* previous_;
};

// Runs `decode` twice, under fill bytes 0x00 and 0xA5 (for cv::Mat allocations and for malloc's), and says how
// the two outcomes differ: empty when they agree (same status; same shape, type and bytes when both succeed).
std::string CompareUnderTwoPatterns(const std::function<absl::StatusOr<cv::Mat>()>& decode);

}  // namespace imgproc::testing
