#pragma once
// Which JPEGs the GPU's JPEG engine takes, read from their headers.

#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/cuda/cuda_handles.h"
#include "codec/cuda/nvjpeg_device.h"
#include "common/mutex.h"

namespace imgproc {

// A JPEG that the engine takes, with its frame size, as JpegEngineClassifier found it.
struct EngineJpeg {
  absl::string_view data;
  unsigned width = 0;
  unsigned height = 0;
};

// Which JPEGs the engine takes, from the header alone (nvjpegDecodeBatchedSupported): baseline Huffman, 8-bit,
// 3 components in the subsamplings the engine implements. Parses markers, no entropy data. Safe to call from any
// thread, so that request threads classify their own inputs rather than the batch thread, which the whole decode
// stage waits on (BENCHMARKS.md, "The decode stage under load, by phase").
class JpegEngineClassifier {
 public:
  static absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> Create(NvJpegDevice& device);
  std::optional<EngineJpeg> Inspect(absl::string_view jpeg);

 private:
  explicit JpegEngineClassifier(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  Mutex mutex_;
  std::vector<NvJpegParser> idle_parsers_ ABSL_GUARDED_BY(mutex_);  // one more is made when all are busy
};

}  // namespace imgproc
