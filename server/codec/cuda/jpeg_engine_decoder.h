#pragma once
// Batched JPEG decode on the GPU's JPEG engine (nvJPEG's hardware backend): one decoder per batch thread of the
// decode stage, since its nvJPEG state is one thread's at a time (nvJPEG's thread-safety rules).

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "codec/cuda/cuda_handles.h"
#include "codec/cuda/decoded_batch.h"
#include "codec/cuda/jpeg_engine_classifier.h"
#include "codec/cuda/nvjpeg_device.h"

namespace imgproc {

// A batch given its output memory, ready for the engine: what Prepare leaves for Run.
struct PreparedBatch {
  std::vector<std::unique_ptr<DeviceImage>> images;  // one per input, in input order
  std::vector<const unsigned char*> data;
  std::vector<size_t> lengths;
  std::vector<nvjpegImage_t> destinations;
  std::shared_ptr<DecodedBatch> shared;  // the images' memory and events; null for an empty batch
  int size() const { return static_cast<int>(data.size()); }
};

class JpegEngineDecoder {
 public:
  static absl::StatusOr<std::unique_ptr<JpegEngineDecoder>> Create(NvJpegDevice& device);
  ~JpegEngineDecoder();

  // Gives each JPEG (one the classifier accepted) device memory for its BGR output. The inputs' data must
  // outlive Run.
  absl::StatusOr<PreparedBatch> Prepare(absl::Span<const EngineJpeg> jpegs);
  // Decodes the prepared batch on the engine. nvJPEG reports one status per call, so the batch succeeds or
  // fails as a whole; the caller retries the members of a failed batch one by one elsewhere.
  absl::Status Run(PreparedBatch& batch);
  // Waits on the host until the engine has written the batch: INVALID_ARGUMENT or INTERNAL if it failed late.
  absl::Status WaitUntilDecoded(PreparedBatch& batch);
  // Classify, Prepare and Run; INVALID_ARGUMENT unless the engine takes every input.
  absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> Decode(JpegEngineClassifier& classifier,
                                                                   absl::Span<const absl::string_view> jpegs);

 private:
  explicit JpegEngineDecoder(NvJpegDevice& device) : device_(device) {}
  NvJpegDevice& device_;
  CudaStream stream_;
  NvJpegState state_;  // used by the work queued on stream_
};

}  // namespace imgproc
