#pragma once
// The CUDA backend's decode stage: JPEGs that the GPU's JPEG engine takes are decoded together,
// across concurrent requests, in batches formed by a DynamicBatcher (--max_decode_batch,
// --max_decode_delay); each decoded image goes on to a lane with its job. Progressive colour JPEGs, which
// the engine does not take, are decoded by the stage's own threads with nvJPEG's CUDA decoder (Huffman on the
// thread, the rest on the SMs; --progressive_decode_threads), so that a lane does not spend its time on the
// host decoding them while GPU work waits. With --sm_decode_threads, a share of the JPEGs that the engine takes
// is decoded beside it on the SMs (nvJPEG's GPU Huffman decoder), so that the engine's ceiling is not the stage's. What
// else the engine does not take (4:1:1, CMYK, grayscale requests, other formats), every member of a batch that nvJPEG
// failed as a whole and every JPEG the stage's threads could not decode reach the lanes undecoded and are decoded there
// alone: on the SMs with nvJPEG, else on the CPU. So a bad image fails only its own request.

#include <memory>
#include <string>

#include "codec/cuda/jpeg_cuda_decoder.h"
#include "codec/cuda/jpeg_engine_decoder.h"
#include "core/job.h"
#include "scheduler/counted_budget.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/worker_pool.h"

namespace imgproc {

// Decoded images that no lane has finished with, bounded: when lanes fall behind, the stage waits instead of
// decoding ahead into device memory, and its queue grows into full batches meanwhile.
using DecodedImageBudget = CountedBudget;

// A job's input as the decode stage left it: decoded, in device memory, ready once its batch's `done` is.
class CudaStagedImage final : public StagedInput {
 public:
  // `path`: the engine, or cuda (nvJPEG's CUDA decoder); `host_decode_us`: the decode's wall time where the host
  // took part, -1 where the GPU's time (the batch's events) tells it.
  CudaStagedImage(std::unique_ptr<DeviceImage> image, std::shared_ptr<DecodedImageBudget> budget,
                  CodecPath path = CodecPath::kEngine, int64_t host_decode_us = -1)
      : image_(std::move(image)), budget_(std::move(budget)), path_(path), host_decode_us_(host_decode_us) {}
  ~CudaStagedImage() override { Release(); }
  const DeviceImage& image() const { return *image_; }
  CodecPath path() const { return path_; }
  int64_t host_decode_us() const { return host_decode_us_; }
  // Once the lane's reads of the image have completed: its memory may go to a later batch, and the stage may
  // decode one more image.
  void Release() {
    if (image_ == nullptr) return;
    image_.reset();
    budget_->Release();
  }

 private:
  std::unique_ptr<DeviceImage> image_;
  std::shared_ptr<DecodedImageBudget> budget_;
  CodecPath path_;
  int64_t host_decode_us_;
};

struct DecodeStageOptions {
  BatcherOptions batching;
  // At most this many decoded images (at least one batch) are held for lanes at a time, which bounds the
  // device memory they take.
  int max_decoded = 128;
  // Smaller JPEGs skip the batcher and decode in their lane (nvJPEG on the SMs): for them the wait for a
  // batch costs more than the decode (W4's 256x256 JPEGs went faster that way: BENCHMARKS.md, "The decode stage
  // under load, by phase").
  int64_t min_pixels = 100'000;
  // Threads decoding progressive JPEGs (of at least min_pixels) beside the lanes; 0: the lanes decode them.
  // Their Huffman decoding is host work (nvJPEG decodes it on the CPU), so they take as many cores as lanes
  // would have spent on them: decoded in the lanes, W1's progressive photos took a large share of a lane's time,
  // and W2's 4K progressive photo left GPU work waiting on lanes busy with Huffman decoding (BENCHMARKS.md, "H200
  // host: where a W1 lane's time goes").
  int progressive_threads = 0;
  // Threads decoding baseline JPEGs that the engine would take, beside it, with nvJPEG's GPU Huffman decoder
  // (JpegGpuHuffmanDecoder): past the engine's own ceiling the SMs, idle meanwhile, take a share (issue 31; DALI's
  // hw_decoder_load). 0: every such JPEG goes to the engine.
  int sm_threads = 0;
  // The share of those JPEGs (of at least sm_min_pixels) sent to the SM threads: from 0 to 1 a fixed share, for
  // benchmarks; below 0 it adapts to the engine's queue: a JPEG goes to the SMs while a full batch already waits for
  // the engine and an SM thread is free.
  double sm_share = -1;
  // Smaller JPEGs stay on the engine: below about a million pixels GPU Huffman decoding gains little (DALI's
  // hybrid_huffman_threshold).
  int64_t sm_min_pixels = 1'000'000;
};

// Null when the device has no JPEG engine: then the lanes decode every JPEG themselves.
FrontStageFactory JpegDecodeStageFactory(std::shared_ptr<NvJpegDevice> codec, DecodeStageOptions options,
                                         std::string device_name);

}  // namespace imgproc
