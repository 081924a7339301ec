#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/codec.h"
#include "pipeline/plan.h"

namespace imgproc {

using Clock = std::chrono::steady_clock;

struct StageTimings {
  int64_t batch_wait_us = 0;  // in a front stage (the JPEG decode batcher)
  int64_t queue_wait_us = 0;  // waiting for a lane
  int64_t decode_us = 0;
  int64_t upload_us = 0;
  int64_t operations_us = 0;
  int64_t download_us = 0;
  int64_t encode_us = 0;
  int64_t total_us = 0;
};

// Where one image was decoded or encoded (ARCHITECTURE.md's glossary: codec path).
enum class CodecPath {
  kCpu,     // libjpeg-turbo, OpenCV's and the other CPU codecs
  kCuda,    // nvJPEG on the SMs
  kEngine,  // the GPU's hardware JPEG decoder
  kNone,    // a raw answer, not encoded
};
// "cpu", "cuda", "engine" or "none": the `path` label of imgproc_decodes_total and imgproc_encodes_total.
inline const char* CodecPathName(CodecPath path) {
  switch (path) {
    case CodecPath::kCpu: return "cpu";
    case CodecPath::kCuda: return "cuda";
    case CodecPath::kEngine: return "engine";
    case CodecPath::kNone: return "none";
  }
  return "none";
}

struct JobResult {
  EncodedImage image;
  std::string device;
  StageTimings timings;
  std::vector<std::string> cpu_fallback_operations;
  int input_frames = 1;          // from the plan's header: of an animation only the first frame was processed
  int decode_shrink_factor = 1;  // 2, 4 or 8 when the lane decoded with the plan's shrink-on-load
  int64_t gpu_busy_us = 0;       // upload, kernels and download as CUDA events on the worker's stream measured them
  CodecPath decode_path = CodecPath::kCpu;  // engine, cuda or cpu
  CodecPath encode_path = CodecPath::kCpu;  // cuda or cpu; none for raw answers
  // A CUDA lane's JPEG answer that nvJPEG could not encode with the request's options, encoded on the CPU instead:
  // a short label for the metric (the option, e.g. "progressive"; "" when none) and the whole reason for the answer.
  const char* encode_fallback_kind = "";
  std::string encode_fallback_reason;
  // Why part of the image is not the file's (the data was cut short or damaged and the decoder filled the rest):
  // the plan's reason, or the CPU decoder's; empty when the decode was whole.
  std::string partial_decode;
  // What the answer carries of the input's metadata (Plan::metadata), and what it was asked for but lacks, with why.
  MetadataKinds metadata_kept;
  std::vector<std::string> metadata_not_kept;
  // What was done with the input's colour profile (the plan's decision, as the lane carried it out).
  ColorDecision color;
};

// What a stage before the lanes made of a job's input (the GPU decode batcher's decoded image). Only the
// lane type that runs the job knows the concrete type; a job without one is decoded by its lane.
class StagedInput {
 public:
  virtual ~StagedInput() = default;
};

using JobCallback = std::function<void(absl::StatusOr<JobResult>)>;

// Where a lane writes a raw answer instead of JobResult::image.bytes: one image's slot of a batch's tensor
// (ProcessBatch), in host memory or in device memory of the job's CUDA device (a client's shared-memory region). The
// submitter checked that the plan's result fills it exactly; the lane writes it converted to the plan's raw dtype and
// layout, and the write is complete when the job's `done` runs.
struct TensorSlot {
  enum class Memory { kHost, kCudaDevice };
  Memory memory = Memory::kHost;
  char* data = nullptr;
  size_t bytes = 0;
  int cuda_device = -1;  // kCudaDevice: the device `data` is mapped on
};

// One validated request on its way through a worker pool. `done` is called exactly once: on a worker thread
// with the result, or on the submitting thread when the scheduler or the pool refuses the job.
struct Job {
  std::shared_ptr<const Plan> plan;
  absl::string_view input;                  // encoded image
  std::shared_ptr<const void> input_owner;  // keeps `input` alive where the caller cannot
  Clock::time_point arrival = Clock::now();
  Clock::time_point deadline = Clock::time_point::max();
  std::function<bool()> cancelled;        // may be empty
  std::shared_ptr<StagedInput> staged;    // set by a front stage; may be empty
  Clock::time_point left_front_stage;     // when a front stage handed the job on; epoch if none had it
  std::optional<TensorSlot> output_slot;  // set: the raw answer goes there, and JobResult::image.bytes stays empty
  JobCallback done;
};

// Checked by lanes between steps, between passes and, on the CPU, between the stripes of a pass
// (CpuPassContext::stop, ops/operation.h): CANCELLED once the client cancelled, DEADLINE_EXCEEDED once the
// deadline passed (gRPC also cancels the call then, but the stream path has no per-call context), else OK.
inline absl::Status StopReason(const Job& job) {
  if (job.cancelled && job.cancelled()) return absl::CancelledError("request cancelled by the client");
  if (Clock::now() > job.deadline) return absl::DeadlineExceededError("deadline passed while the request ran");
  return absl::OkStatus();
}

inline int64_t MicrosSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
}

}  // namespace imgproc
