#pragma once
// What the server runs with, read once from the flags and the environment (app/server_flags.h) and checked as a
// whole before anything starts: typed fields, the engine's own limit structs, each field with one flag.
// The defaults here are the flags' defaults.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/limits.h"
#include "common/log.h"
#include "transport/tls.h"
#if IMGPROC_TEST_FAULT_INJECTION
#include "app/test_fault_injection.h"
#endif

namespace imgproc {

enum class BackendChoice { kAuto, kCpu, kCuda };  // auto: CUDA when a GPU is usable, else the CPU
// Where JPEGs are decoded on the CUDA backend: auto (the GPU's JPEG engine where it has one, nvJPEG on the SMs for
// the JPEGs the engine does not take, the CPU for the rest), engine (the same, but a GPU without a JPEG engine does
// not start), cuda (nvJPEG on the SMs, no engine) or cpu (libjpeg-turbo only).
enum class JpegDecodeChoice { kAuto, kEngine, kCuda, kCpu };
enum class JpegEncodeChoice { kCuda, kCpu };  // JPEG answers of the CUDA backend: nvJPEG or libjpeg-turbo

struct ServerConfig {
  // Where it listens and what it says.
  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9090";  // empty: no metrics
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  ServerTlsFiles tls;

  // The backend and its devices.
  BackendChoice backend = BackendChoice::kAuto;
  int cpu_workers = 0;  // per device; 0: one per hardware thread
  int cpu_devices = 1;
  int cuda_workers = 0;           // per GPU; 0: hardware threads / GPUs, at least 2
  int64_t cuda_memory_limit = 0;  // bytes per GPU; 0: all of it
  JpegDecodeChoice jpeg_decode = JpegDecodeChoice::kAuto;
  JpegEncodeChoice jpeg_encode = JpegEncodeChoice::kCuda;
  int max_decode_batch = 64;
  absl::Duration max_decode_delay = absl::Microseconds(500);
  int decode_threads = 2;
  int max_decoded_images = 128;
  // Off by default: with them W1 and W2 were no faster and W1's p99 at half load was worse, since a progressive
  // JPEG's Huffman decode is CPU work either way (BENCHMARKS.md, "H100 host, GPU codecs, final table of issue 9",
  // the progressive-decode threads).
  int progressive_decode_threads = 0;  // -1: as many as lanes
  // Off by default until measured on a GPU host (issue 31): the GPU Huffman decoder beside the engine.
  int sm_decode_threads = 0;
  double sm_decode_share = -1;  // below 0: adaptive; 0 to 1: fixed
  int64_t min_decode_batch_pixels = 100'000;
  int opencv_threads = 1;

  // Admission and streams.
  int queue_capacity = 256;
  int max_stream_in_flight = 32;
  int64_t max_stream_bytes = 0;  // 0: half of limits.max_input_bytes
  absl::Duration retry_pushback = absl::Milliseconds(100);
  int max_concurrent_streams = 64;
  ImageLimits limits;
  // CUDA shared memory (issue 34): whether clients may lend the server their GPU buffers (README, CUDA shared
  // memory: opening another process's memory is a privilege), and how many regions one client may hold.
  bool allow_cuda_shared_memory = false;
  int max_cuda_shared_memory_regions_per_client = 16;

  // Memory budgets: 0 derives each from the memory limit (common/memory_limit.h).
  int64_t max_queued_bytes = 0;
  int64_t max_queued_bytes_per_device = 0;  // 0: max_queued_bytes divided among the devices
  int64_t max_pixel_bytes = 0;
  int64_t grpc_memory_quota = 0;
  std::string memory_limit_root = "/";  // TEST ONLY: the directory read as / to find the memory limit

  // Stopping.
  absl::Duration drain_delay = absl::ZeroDuration();
  absl::Duration shutdown_grace = absl::Seconds(10);
  absl::Duration no_device_exit_delay = absl::Seconds(5);

#if IMGPROC_TEST_FAULT_INJECTION
  TestFaultInjection test_faults;  // TEST ONLY: imgproc-server-testing alone has this field and its flag
#endif
};

// OK, or INVALID_ARGUMENT listing every problem of `config`, each naming its flag.
absl::Status ValidateServerConfig(const ServerConfig& config);

}  // namespace imgproc
