#include "codec/cuda/jpeg_engine_classifier.h"

namespace imgproc {

absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> JpegEngineClassifier::Create(NvJpegDevice& device) {
  if (device.engine() == nullptr) return absl::FailedPreconditionError(device.engine_note());
  return std::unique_ptr<JpegEngineClassifier>(new JpegEngineClassifier(device));
}

std::optional<EngineJpeg> JpegEngineClassifier::Inspect(absl::string_view jpeg) {
  NvJpegParser parser;
  {
    MutexLock lock(&mutex_);
    if (!idle_parsers_.empty()) {
      parser = std::move(idle_parsers_.back());
      idle_parsers_.pop_back();
    }
  }
  if (parser == nullptr) {
    nvjpegJpegStream_t made = nullptr;
    if (nvjpegJpegStreamCreate(device_.engine(), &made) != NVJPEG_STATUS_SUCCESS)
      return std::nullopt;  // lanes decode it
    parser.reset(made);
  }
  EngineJpeg taken{jpeg};
  unsigned components = 0;
  int supported = 1;  // nvJPEG's convention: 0 means supported
  nvjpegJpegStream_t p = parser.get();
  const bool takes =
      nvjpegJpegStreamParseHeader(device_.engine(), NvJpegBytes(jpeg), jpeg.size(), p) == NVJPEG_STATUS_SUCCESS &&
      nvjpegJpegStreamGetComponentsNum(p, &components) == NVJPEG_STATUS_SUCCESS && components == 3 &&
      nvjpegDecodeBatchedSupported(device_.engine(), p, &supported) == NVJPEG_STATUS_SUCCESS && supported == 0 &&
      nvjpegJpegStreamGetFrameDimensions(p, &taken.width, &taken.height) == NVJPEG_STATUS_SUCCESS && taken.width > 0 &&
      taken.height > 0;
  {
    MutexLock lock(&mutex_);
    idle_parsers_.push_back(std::move(parser));
  }
  if (!takes) return std::nullopt;
  return taken;
}

}  // namespace imgproc
