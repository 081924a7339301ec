#include "codec/cuda/jpeg_engine_decoder.h"

#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "common/status_macros.h"

namespace imgproc {

absl::StatusOr<std::unique_ptr<JpegEngineDecoder>> JpegEngineDecoder::Create(NvJpegDevice& device) {
  if (device.engine() == nullptr) return absl::FailedPreconditionError(device.engine_note());
  std::unique_ptr<JpegEngineDecoder> d(new JpegEngineDecoder(device));
  IMGPROC_ASSIGN_OR_RETURN(d->stream_, device.CreateStream());
  nvjpegJpegState_t state = nullptr;
  IMGPROC_RETURN_IF_ERROR(NvJpegError(nvjpegJpegStateCreate(device.engine(), &state), "nvjpegJpegStateCreate"));
  d->state_.reset(state);
  return d;
}

JpegEngineDecoder::~JpegEngineDecoder() {
  // The state goes first, once the batch queued with it has run.
  if (stream_ != nullptr) cudaStreamSynchronize(stream_.get());
}

absl::StatusOr<PreparedBatch> JpegEngineDecoder::Prepare(absl::Span<const EngineJpeg> jpegs) {
  PreparedBatch batch;
  if (jpegs.empty()) return batch;
  std::vector<size_t> pitches, offsets;
  size_t total = 0;
  for (const EngineJpeg& jpeg : jpegs) {
    pitches.push_back(DecodedPitch(static_cast<int>(jpeg.width)));
    offsets.push_back(total);
    total += pitches.back() * jpeg.height;
  }
  IMGPROC_ASSIGN_OR_RETURN(NvJpegDevice::BatchEvents events, device_.TakeBatchEvents());
  absl::StatusOr<void*> memory = device_.Allocate(total, stream_.get());
  if (!memory.ok()) {
    device_.ReturnBatchEvents(std::move(events));
    return memory.status();
  }
  batch.shared = std::make_shared<DecodedBatch>(&device_, *memory, std::move(events));
  for (size_t i = 0; i < jpegs.size(); ++i) {
    unsigned char* data = static_cast<unsigned char*>(*memory) + offsets[i];
    batch.images.push_back(std::make_unique<DeviceImage>(
        batch.shared, data, pitches[i], static_cast<int>(jpegs[i].width), static_cast<int>(jpegs[i].height)));
    batch.data.push_back(NvJpegBytes(jpegs[i].data));
    batch.lengths.push_back(jpegs[i].data.size());
    nvjpegImage_t destination{};
    destination.channel[0] = data;
    destination.pitch[0] = pitches[i];
    batch.destinations.push_back(destination);
  }
  return batch;
}

absl::Status JpegEngineDecoder::Run(PreparedBatch& batch) {
  const int n = batch.size();
  if (n == 0) return absl::OkStatus();
  // No wait for other streams here: the pool hands out only memory whose free has completed (NvJpegDevice).
  // But the host waits for this decoder's previous batch: the engine does not follow stream order (see the
  // notes on pytorch/vision#9606; nvImageCodec waits the same way), and batches given to it back to back on one
  // state, once preparing them got fast, left it stuck for good under load on an H100 (the batch thread
  // spinning in nvJPEG, every lane idle). Several batch threads keep the engine fed meanwhile.
  if (absl::Status s = CudaError(cudaStreamSynchronize(stream_.get()), "the previous JPEG engine batch"); !s.ok()) {
    batch.images.clear();
    return s;
  }
  MutexLock engine(&device_.engine_mutex());
  absl::Status decoded =
      NvJpegError(nvjpegDecodeBatchedInitialize(device_.engine(), state_.get(), n, 1, NVJPEG_OUTPUT_BGRI),
                  "nvjpegDecodeBatchedInitialize");
  if (decoded.ok()) {
    cudaEventRecord(batch.shared->start(), stream_.get());
    decoded = NvJpegError(nvjpegDecodeBatched(device_.engine(), state_.get(), batch.data.data(), batch.lengths.data(),
                                              batch.destinations.data(), stream_.get()),
                          absl::StrCat("JPEG engine decode of a batch of ", n));
  }
  // Recorded in every case, so that `done` (which the batch's destructor waits for, before its events go to
  // another batch) is this batch's, never a completed record left by an earlier one.
  cudaEventRecord(batch.shared->done(), stream_.get());
  if (!decoded.ok()) batch.images.clear();  // its memory goes back once nvJPEG is done with it
  return decoded;
}

absl::Status JpegEngineDecoder::WaitUntilDecoded(PreparedBatch& batch) {
  if (batch.shared == nullptr) return absl::OkStatus();
  absl::Status s = CudaError(cudaEventSynchronize(batch.shared->done()), "JPEG engine batch");
  if (!s.ok()) batch.images.clear();
  return s;
}

absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> JpegEngineDecoder::Decode(
    JpegEngineClassifier& classifier, absl::Span<const absl::string_view> jpegs) {
  std::vector<EngineJpeg> taken;
  for (absl::string_view jpeg : jpegs) {
    std::optional<EngineJpeg> inspected = classifier.Inspect(jpeg);
    if (!inspected) {
      return absl::InvalidArgumentError(
          absl::StrCat("the JPEG engine does not take image ", taken.size(), " of the batch"));
    }
    taken.push_back(*inspected);
  }
  IMGPROC_ASSIGN_OR_RETURN(PreparedBatch batch, Prepare(taken));
  IMGPROC_RETURN_IF_ERROR(Run(batch));
  return std::move(batch.images);
}

}  // namespace imgproc
