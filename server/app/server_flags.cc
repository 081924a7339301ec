#include "app/server_flags.h"

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace {
const imgproc::ServerConfig kDefaults;
}  // namespace

ABSL_FLAG(std::string, listen, kDefaults.listen, "gRPC address; port 0 picks a free port (printed at start)");
ABSL_FLAG(std::string, metrics_listen, kDefaults.metrics_listen, "Prometheus /metrics address; empty: metrics off");
ABSL_FLAG(std::string, log_level, "info",
          "debug, info, warning or error: the least severe lines written (debug adds one line per request, with its "
          "request_id)");
ABSL_FLAG(std::string, log_format, "text",
          "text (timestamp, level, message) or json (one object per line: time, level, message, request_id where "
          "there is one) for a cluster's log stack");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for TLS on the gRPC port (with --tls_key); empty: plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: clients must present a certificate signed by one (mutual TLS); needs --tls_cert");
ABSL_FLAG(std::string, backend, "auto", "auto (CUDA when a GPU is usable, else CPU), cpu or cuda");
ABSL_FLAG(int, cpu_workers, kDefaults.cpu_workers,
          "CPU backend workers (per device with --cpu_devices); 0: one per hardware thread");
ABSL_FLAG(int, cpu_devices, kDefaults.cpu_devices,
          "CPU backend: devices (pools of --cpu_workers each, named cpu:0, cpu:1...), to run and test the multi-device "
          "paths (routing, device hints, one device out of service) without GPUs; 1: one device named cpu");
ABSL_FLAG(int, cuda_workers, kDefaults.cuda_workers,
          "workers (each with its own CUDA stream) per GPU; 0: CPU hardware threads / GPUs, since each worker also "
          "decodes and encodes on the CPU");
ABSL_FLAG(int64_t, cuda_memory_limit, kDefaults.cuda_memory_limit,
          "bytes of device memory the server may take per GPU; 0: all of it");
ABSL_FLAG(std::string, jpeg_decode, "auto",
          "CUDA backend: auto (the GPU's JPEG engine for the JPEGs it takes, batched across requests; nvJPEG on the "
          "SMs for other JPEGs; the CPU for the rest), engine (the same, and a GPU without a JPEG engine does not "
          "start), cuda (nvJPEG on the SMs, no JPEG engine), or cpu (libjpeg-turbo only)");
ABSL_FLAG(std::string, jpeg_encode, "cuda", "CUDA backend: cuda (nvJPEG) or cpu (libjpeg-turbo) for JPEG answers");
ABSL_FLAG(int, max_decode_batch, kDefaults.max_decode_batch,
          "CUDA backend: most JPEGs decoded in one batch on the JPEG engine");
ABSL_FLAG(absl::Duration, max_decode_delay, kDefaults.max_decode_delay,
          "CUDA backend: how long the oldest JPEG may wait for its batch to fill while another batch is decoded "
          "(with none, it goes at once); under load batches fill anyway");
ABSL_FLAG(int, decode_threads, kDefaults.decode_threads,
          "CUDA backend: batch-decode threads per GPU; they take turns at the JPEG engine, each waiting for its "
          "previous batch to finish while another's is decoded");
ABSL_FLAG(int, max_decoded_images, kDefaults.max_decoded_images,
          "CUDA backend: decoded images held for lanes at most (device memory: 12 MB each for a 4 MP photo)");
ABSL_FLAG(int, progressive_decode_threads, kDefaults.progressive_decode_threads,
          "CUDA backend: threads per GPU decoding progressive JPEGs (nvJPEG: Huffman on the CPU, the rest on the GPU) "
          "beside the lanes, which the JPEG engine does not take; -1: as many as lanes; 0: the lanes decode them");
ABSL_FLAG(int, sm_decode_threads, kDefaults.sm_decode_threads,
          "CUDA backend: threads per GPU decoding, beside the JPEG engine, a share of the baseline JPEGs of at least a "
          "million pixels that it takes (nvJPEG's GPU Huffman decoder, on the SMs); 0: the engine takes them all");
ABSL_FLAG(double, sm_decode_share, kDefaults.sm_decode_share,
          "CUDA backend, with --sm_decode_threads: the share of those JPEGs decoded on the SMs, from 0 to 1; -1: "
          "adaptive, a JPEG goes to the SMs while a full batch waits for the engine and an SM thread is free");
ABSL_FLAG(int64_t, min_decode_batch_pixels, kDefaults.min_decode_batch_pixels,
          "CUDA backend: JPEGs of fewer pixels skip the JPEG engine's batches and decode in their lane (nvJPEG on "
          "the SMs), which is faster for small images; 0: every JPEG the engine takes goes to it");
ABSL_FLAG(int, opencv_threads, kDefaults.opencv_threads,
          "threads OpenCV may use inside one CPU operation (workers give the parallelism)");
ABSL_FLAG(int, queue_capacity, kDefaults.queue_capacity, "requests waiting per device before RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_stream_in_flight, kDefaults.max_stream_in_flight,
          "requests of one ProcessStream call processed at once");
ABSL_FLAG(int64_t, max_stream_bytes, kDefaults.max_stream_bytes,
          "bytes one ProcessStream call may hold: its requests read and not yet answered plus its answers not yet "
          "written (a client that does not read leaves them all); reading it pauses beyond this, though one request "
          "is always taken; 0: half of --max_input_bytes, so that a stream of the largest requests runs them one "
          "at a time, and one of requests of a few MB keeps --max_stream_in_flight of them running");
ABSL_FLAG(absl::Duration, retry_pushback, kDefaults.retry_pushback,
          "a Process call refused for a full queue tells the client to retry after this long, randomized up to "
          "twice as long (gRPC's grpc-retry-pushback-ms); 0: no pushback, so clients do not retry");
ABSL_FLAG(int64_t, max_input_bytes, kDefaults.limits.max_input_bytes, "largest encoded image accepted");
ABSL_FLAG(int, max_width, kDefaults.limits.max_width, "widest image accepted, decoded or produced by a step");
ABSL_FLAG(int, max_height, kDefaults.limits.max_height, "tallest image accepted, decoded or produced by a step");
ABSL_FLAG(int64_t, max_pixels, kDefaults.limits.max_pixels, "most pixels in an image, decoded or produced by a step");
ABSL_FLAG(int, max_operations, kDefaults.limits.max_operations, "longest operation chain");
ABSL_FLAG(int, max_jpeg_scans, kDefaults.limits.max_jpeg_scans,
          "most scans in a progressive JPEG (decode cost grows with each; encoders write ~10)");
ABSL_FLAG(double, max_request_work, kDefaults.limits.max_request_work,
          "most work one request may ask for, estimated from its plan in pixel-channel taps (pixels x channels x "
          "kernel taps x passes, per operation family); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_queued_bytes, kDefaults.max_queued_bytes,
          "encoded input that queued and running requests may hold in all; RESOURCE_EXHAUSTED beyond it; 0: a tenth "
          "of the memory limit (the cgroup's, else physical memory; README, Memory budgets)");
ABSL_FLAG(int64_t, max_queued_bytes_per_device, kDefaults.max_queued_bytes_per_device,
          "the same per device; 0: --max_queued_bytes divided among the devices");
ABSL_FLAG(int, max_concurrent_streams, kDefaults.max_concurrent_streams,
          "calls one client connection may have open at once (HTTP/2)");
ABSL_FLAG(int64_t, max_pixel_bytes, kDefaults.max_pixel_bytes,
          "decoded pixel memory (each plan's peak) that a device's queued and running requests may need in all; "
          "RESOURCE_EXHAUSTED beyond it; 0: 40% of the memory limit divided among the devices");
ABSL_FLAG(int64_t, grpc_memory_quota, kDefaults.grpc_memory_quota,
          "bytes gRPC may hold of messages still being received (its ResourceQuota: under pressure it shrinks reads "
          "and refuses new calls); 0: a tenth of the memory limit, at least one largest request");
ABSL_FLAG(std::string, memory_limit_root, kDefaults.memory_limit_root,
          "TEST ONLY: the directory read as / to find the memory limit (proc/self/cgroup, proc/self/mountinfo and "
          "the cgroup files below it)");
ABSL_FLAG(int64_t, max_output_bytes, kDefaults.limits.max_output_bytes,
          "largest answer, checked from the plan before any work; RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_avif_pixels, kDefaults.limits.max_avif_pixels,
          "largest AVIF answer in pixels (an AV1 encode cannot be stopped once it runs); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int64_t, max_heic_pixels, kDefaults.limits.max_heic_pixels,
          "largest HEIC answer in pixels (an HEVC encode cannot be stopped once it runs); RESOURCE_EXHAUSTED above it");
ABSL_FLAG(int, max_batch_images, kDefaults.limits.max_batch_images,
          "images in one ProcessBatch call; INVALID_ARGUMENT above it");
ABSL_FLAG(bool, allow_cuda_shared_memory, kDefaults.allow_cuda_shared_memory,
          "let clients register CUDA shared memory (their cudaMalloc buffers, by IPC handle) for ProcessBatch to write "
          "its tensor into: the server then writes into other processes' GPU memory, so only clients trusted with "
          "that should reach it (the trust of Triton's --allow-client-shm; README, CUDA shared memory)");
ABSL_FLAG(int, max_cuda_shared_memory_regions_per_client, kDefaults.max_cuda_shared_memory_regions_per_client,
          "CUDA shared-memory regions one client (peer address) may hold registered; RESOURCE_EXHAUSTED beyond");
ABSL_FLAG(absl::Duration, drain_delay, kDefaults.drain_delay,
          "on SIGTERM/SIGINT, how long to keep serving while health says NOT_SERVING, so that clients that watch "
          "health (round_robin with health checking) and load balancers stop sending first; then --shutdown_grace");
ABSL_FLAG(absl::Duration, shutdown_grace, kDefaults.shutdown_grace,
          "on SIGTERM/SIGINT, how long the requests already admitted may take; those that would not finish within it "
          "are refused at once (UNAVAILABLE), what still runs at its end is cancelled; the process exits within the "
          "grace plus 2 s");
ABSL_FLAG(absl::Duration, no_device_exit_delay, kDefaults.no_device_exit_delay,
          "once no device is left in service (a GPU failed with a sticky CUDA error), how long the server goes on "
          "answering (UNAVAILABLE, health NOT_SERVING, /metrics) before it exits with code 3 to be restarted");
#if IMGPROC_TEST_FAULT_INJECTION
ABSL_FLAG(std::string, test_fault_injection, "",
          "TEST ONLY (imgproc-server-testing): device_failure_after=N (a lane reports a device failure after N "
          "requests, any backend) or illegal_address_after=N (the CUDA backend launches a kernel that faults); "
          "with @DEVICE (device_failure_after=0@cpu:1) only that device fails, otherwise each one");
#endif

// The spellings before the glossary's (ARCHITECTURE.md), kept for one release; unset unless given.
ABSL_FLAG(std::optional<int>, gpu_workers, std::nullopt, "DEPRECATED: use --cuda_workers");
ABSL_FLAG(std::optional<int64_t>, gpu_memory_limit, std::nullopt, "DEPRECATED: use --cuda_memory_limit");
ABSL_FLAG(std::optional<int>, decode_max_batch, std::nullopt, "DEPRECATED: use --max_decode_batch");
ABSL_FLAG(std::optional<int>, decode_max_delay_us, std::nullopt,
          "DEPRECATED: use --max_decode_delay (a duration: 500us)");
ABSL_FLAG(std::optional<int>, decoded_images_max, std::nullopt, "DEPRECATED: use --max_decoded_images");
ABSL_FLAG(std::optional<int64_t>, decode_batch_min_pixels, std::nullopt, "DEPRECATED: use --min_decode_batch_pixels");

namespace imgproc {
namespace {

struct Notes {
  std::vector<std::string> problems;
  std::vector<std::string> warnings;
};

// Where the flags were given: names on the command line, names whose IMGPROC_<NAME> was read.
struct Sources {
  std::set<std::string> command_line;
  std::set<std::string> environment;
};

struct Row {
  ServerFlag flag;
  std::function<void(ServerConfig&, Notes&)> read;  // null for a deprecated spelling (ResolveDeprecated)
};

template <typename T>
std::function<void(ServerConfig&, Notes&)> Into(absl::Flag<T>& flag, T ServerConfig::*field) {
  return [&flag, field](ServerConfig& config, Notes&) { config.*field = absl::GetFlag(flag); };
}
template <typename T>
std::function<void(ServerConfig&, Notes&)> IntoLimit(absl::Flag<T>& flag, T ImageLimits::*field) {
  return [&flag, field](ServerConfig& config, Notes&) { config.limits.*field = absl::GetFlag(flag); };
}
std::function<void(ServerConfig&, Notes&)> IntoTls(absl::Flag<std::string>& flag, std::string ServerTlsFiles::*field) {
  return [&flag, field](ServerConfig& config, Notes&) { config.tls.*field = absl::GetFlag(flag); };
}

// A flag whose words name an enum's values; `deprecated` holds old words and the word that replaced each.
template <typename E>
std::function<void(ServerConfig&, Notes&)> Choice(absl::Flag<std::string>& flag, const char* name,
                                                  E ServerConfig::*field, std::vector<std::pair<std::string, E>> words,
                                                  std::vector<std::pair<std::string, std::string>> deprecated = {}) {
  return [&flag, name, field, words, deprecated](ServerConfig& config, Notes& notes) {
    std::string value = absl::GetFlag(flag);
    for (const auto& [old_word, new_word] : deprecated) {
      if (value != old_word) continue;
      notes.warnings.push_back(absl::StrCat("--", name, "=", old_word, " is deprecated: use --", name, "=", new_word));
      value = new_word;
    }
    std::vector<std::string> names;
    for (const auto& [word, choice] : words) {
      if (value == word) {
        config.*field = choice;
        return;
      }
      names.push_back(word);
    }
    const std::string last = names.back();
    names.pop_back();
    notes.problems.push_back(absl::StrCat("--", name, " must be ", absl::StrJoin(names, ", "), " or ", last, " (got '",
                                          absl::GetFlag(flag), "')"));
  };
}

void ReadLogLevel(ServerConfig& config, Notes& notes) {
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return notes.problems.push_back(absl::StrCat("--log_level: ", level.status().message()));
  config.log_level = *level;
}

void ReadLogFormat(ServerConfig& config, Notes& notes) {
  absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) return notes.problems.push_back(absl::StrCat("--log_format: ", format.status().message()));
  config.log_format = *format;
}

#if IMGPROC_TEST_FAULT_INJECTION
void ReadTestFaultInjection(ServerConfig& config, Notes& notes) {
  absl::StatusOr<TestFaultInjection> faults = ParseTestFaultInjection(absl::GetFlag(FLAGS_test_fault_injection));
  if (!faults.ok()) return notes.problems.push_back(std::string(faults.status().message()));
  config.test_faults = *std::move(faults);
}
#endif

// The list: each flag with what it fills in a ServerConfig.
const std::vector<Row>& Rows() {
  static const std::vector<Row>* rows = [] {
    auto* rows = new std::vector<Row>{
        {{"listen"}, Into(FLAGS_listen, &ServerConfig::listen)},
        {{"metrics_listen"}, Into(FLAGS_metrics_listen, &ServerConfig::metrics_listen)},
        {{"log_level"}, ReadLogLevel},
        {{"log_format"}, ReadLogFormat},
        {{"tls_cert"}, IntoTls(FLAGS_tls_cert, &ServerTlsFiles::certificate_chain)},
        {{"tls_key"}, IntoTls(FLAGS_tls_key, &ServerTlsFiles::private_key)},
        {{"tls_client_ca"}, IntoTls(FLAGS_tls_client_ca, &ServerTlsFiles::client_ca)},
        {{"backend"},
         Choice<BackendChoice>(
             FLAGS_backend, "backend", &ServerConfig::backend,
             {{"auto", BackendChoice::kAuto}, {"cpu", BackendChoice::kCpu}, {"cuda", BackendChoice::kCuda}})},
        {{"cpu_workers"}, Into(FLAGS_cpu_workers, &ServerConfig::cpu_workers)},
        {{"cpu_devices"}, Into(FLAGS_cpu_devices, &ServerConfig::cpu_devices)},
        {{"cuda_workers"}, Into(FLAGS_cuda_workers, &ServerConfig::cuda_workers)},
        {{"cuda_memory_limit"}, Into(FLAGS_cuda_memory_limit, &ServerConfig::cuda_memory_limit)},
        {{"jpeg_decode"},
         Choice<JpegDecodeChoice>(FLAGS_jpeg_decode, "jpeg_decode", &ServerConfig::jpeg_decode,
                                  {{"auto", JpegDecodeChoice::kAuto},
                                   {"engine", JpegDecodeChoice::kEngine},
                                   {"cuda", JpegDecodeChoice::kCuda},
                                   {"cpu", JpegDecodeChoice::kCpu}})},
        {{"jpeg_encode"},
         Choice<JpegEncodeChoice>(FLAGS_jpeg_encode, "jpeg_encode", &ServerConfig::jpeg_encode,
                                  {{"cuda", JpegEncodeChoice::kCuda}, {"cpu", JpegEncodeChoice::kCpu}},
                                  {{"gpu", "cuda"}})},
        {{"max_decode_batch"}, Into(FLAGS_max_decode_batch, &ServerConfig::max_decode_batch)},
        {{"max_decode_delay"}, Into(FLAGS_max_decode_delay, &ServerConfig::max_decode_delay)},
        {{"decode_threads"}, Into(FLAGS_decode_threads, &ServerConfig::decode_threads)},
        {{"max_decoded_images"}, Into(FLAGS_max_decoded_images, &ServerConfig::max_decoded_images)},
        {{"progressive_decode_threads"},
         Into(FLAGS_progressive_decode_threads, &ServerConfig::progressive_decode_threads)},
        {{"sm_decode_threads"}, Into(FLAGS_sm_decode_threads, &ServerConfig::sm_decode_threads)},
        {{"sm_decode_share"}, Into(FLAGS_sm_decode_share, &ServerConfig::sm_decode_share)},
        {{"min_decode_batch_pixels"}, Into(FLAGS_min_decode_batch_pixels, &ServerConfig::min_decode_batch_pixels)},
        {{"opencv_threads"}, Into(FLAGS_opencv_threads, &ServerConfig::opencv_threads)},
        {{"queue_capacity"}, Into(FLAGS_queue_capacity, &ServerConfig::queue_capacity)},
        {{"max_stream_in_flight"}, Into(FLAGS_max_stream_in_flight, &ServerConfig::max_stream_in_flight)},
        {{"max_stream_bytes"}, Into(FLAGS_max_stream_bytes, &ServerConfig::max_stream_bytes)},
        {{"retry_pushback"}, Into(FLAGS_retry_pushback, &ServerConfig::retry_pushback)},
        {{"max_input_bytes"}, IntoLimit(FLAGS_max_input_bytes, &ImageLimits::max_input_bytes)},
        {{"max_width"}, IntoLimit(FLAGS_max_width, &ImageLimits::max_width)},
        {{"max_height"}, IntoLimit(FLAGS_max_height, &ImageLimits::max_height)},
        {{"max_pixels"}, IntoLimit(FLAGS_max_pixels, &ImageLimits::max_pixels)},
        {{"max_operations"}, IntoLimit(FLAGS_max_operations, &ImageLimits::max_operations)},
        {{"max_jpeg_scans"}, IntoLimit(FLAGS_max_jpeg_scans, &ImageLimits::max_jpeg_scans)},
        {{"max_request_work"}, IntoLimit(FLAGS_max_request_work, &ImageLimits::max_request_work)},
        {{"max_output_bytes"}, IntoLimit(FLAGS_max_output_bytes, &ImageLimits::max_output_bytes)},
        {{"max_avif_pixels"}, IntoLimit(FLAGS_max_avif_pixels, &ImageLimits::max_avif_pixels)},
        {{"max_heic_pixels"}, IntoLimit(FLAGS_max_heic_pixels, &ImageLimits::max_heic_pixels)},
        {{"max_batch_images"}, IntoLimit(FLAGS_max_batch_images, &ImageLimits::max_batch_images)},
        {{"allow_cuda_shared_memory"}, Into(FLAGS_allow_cuda_shared_memory, &ServerConfig::allow_cuda_shared_memory)},
        {{"max_cuda_shared_memory_regions_per_client"},
         Into(FLAGS_max_cuda_shared_memory_regions_per_client,
              &ServerConfig::max_cuda_shared_memory_regions_per_client)},
        {{"max_queued_bytes"}, Into(FLAGS_max_queued_bytes, &ServerConfig::max_queued_bytes)},
        {{"max_queued_bytes_per_device"},
         Into(FLAGS_max_queued_bytes_per_device, &ServerConfig::max_queued_bytes_per_device)},
        {{"max_concurrent_streams"}, Into(FLAGS_max_concurrent_streams, &ServerConfig::max_concurrent_streams)},
        {{"max_pixel_bytes"}, Into(FLAGS_max_pixel_bytes, &ServerConfig::max_pixel_bytes)},
        {{"grpc_memory_quota"}, Into(FLAGS_grpc_memory_quota, &ServerConfig::grpc_memory_quota)},
        {{"memory_limit_root", false}, Into(FLAGS_memory_limit_root, &ServerConfig::memory_limit_root)},
        {{"drain_delay"}, Into(FLAGS_drain_delay, &ServerConfig::drain_delay)},
        {{"shutdown_grace"}, Into(FLAGS_shutdown_grace, &ServerConfig::shutdown_grace)},
        {{"no_device_exit_delay"}, Into(FLAGS_no_device_exit_delay, &ServerConfig::no_device_exit_delay)},
    };
#if IMGPROC_TEST_FAULT_INJECTION
    rows->push_back({{"test_fault_injection", false}, ReadTestFaultInjection});
#endif
    for (ServerFlag old :
         {ServerFlag("gpu_workers", true, "cuda_workers"), ServerFlag("gpu_memory_limit", true, "cuda_memory_limit"),
          ServerFlag("decode_max_batch", true, "max_decode_batch"),
          ServerFlag("decode_max_delay_us", true, "max_decode_delay"),
          ServerFlag("decoded_images_max", true, "max_decoded_images"),
          ServerFlag("decode_batch_min_pixels", true, "min_decode_batch_pixels")}) {
      rows->push_back({std::move(old), nullptr});
    }
    return rows;
  }();
  return *rows;
}

// A deprecated spelling given (`old_flag` holds a value): its value goes to `new_flag` unless the command line gave
// the new spelling and only the environment the old one. Both in the same place (both on the command line, or both
// in the environment) with different values is a problem.
template <typename Old, typename New>
void ResolveDeprecated(absl::Flag<std::optional<Old>>& old_flag, absl::Flag<New>& new_flag, const ServerFlag& flag,
                       const Sources& sources, Notes& notes, New (*convert)(Old)) {
  const std::optional<Old> old_value = absl::GetFlag(old_flag);
  if (!old_value.has_value()) return;
  const std::string& old_name = flag.name;
  const std::string& new_name = flag.replaced_by;
  const bool old_on_command_line = sources.command_line.count(old_name) > 0;
  const bool new_on_command_line = sources.command_line.count(new_name) > 0;
  const std::string old_spelling = old_on_command_line ? "--" + old_name : EnvironmentVariableOf(old_name);
  const std::string new_spelling = old_on_command_line ? "--" + new_name : EnvironmentVariableOf(new_name);
  notes.warnings.push_back(
      absl::StrCat(old_spelling, " is deprecated and goes in the next release: use ", new_spelling));
  if (new_on_command_line && !old_on_command_line) return;  // the command line wins over the environment
  const bool new_given_too = old_on_command_line ? new_on_command_line : sources.environment.count(new_name) > 0;
  const New value = convert(*old_value);
  if (new_given_too && absl::GetFlag(new_flag) != value) {
    notes.problems.push_back(absl::StrCat(old_spelling, " (deprecated) and ", new_spelling,
                                          " are both given, with different values: give only ", new_spelling));
    return;
  }
  absl::SetFlag(&new_flag, value);
}

template <typename T>
T Same(T value) {
  return value;
}
absl::Duration Microseconds(int us) { return absl::Microseconds(us); }

void ResolveDeprecatedSpellings(const Sources& sources, Notes& notes) {
  for (const Row& row : Rows()) {
    const ServerFlag& f = row.flag;
    if (f.replaced_by.empty()) continue;
    if (f.name == "gpu_workers") ResolveDeprecated(FLAGS_gpu_workers, FLAGS_cuda_workers, f, sources, notes, Same<int>);
    if (f.name == "gpu_memory_limit") {
      ResolveDeprecated(FLAGS_gpu_memory_limit, FLAGS_cuda_memory_limit, f, sources, notes, Same<int64_t>);
    }
    if (f.name == "decode_max_batch") {
      ResolveDeprecated(FLAGS_decode_max_batch, FLAGS_max_decode_batch, f, sources, notes, Same<int>);
    }
    if (f.name == "decode_max_delay_us") {
      ResolveDeprecated(FLAGS_decode_max_delay_us, FLAGS_max_decode_delay, f, sources, notes, Microseconds);
    }
    if (f.name == "decoded_images_max") {
      ResolveDeprecated(FLAGS_decoded_images_max, FLAGS_max_decoded_images, f, sources, notes, Same<int>);
    }
    if (f.name == "decode_batch_min_pixels") {
      ResolveDeprecated(FLAGS_decode_batch_min_pixels, FLAGS_min_decode_batch_pixels, f, sources, notes, Same<int64_t>);
    }
  }
}

// IMGPROC_<FLAG> in the environment sets a flag's value before the command line is read, so the command line still
// wins (Kubernetes sets env, a developer types flags).
void ApplyEnvironment(Sources& sources, Notes& notes) {
  for (const Row& row : Rows()) {
    if (!row.flag.from_environment) continue;
    const std::string env = EnvironmentVariableOf(row.flag.name);
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(row.flag.name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      notes.problems.push_back(absl::StrCat("invalid ", env, "='", value, "': ", error));
      continue;
    }
    sources.environment.insert(row.flag.name);
  }
}

// The flag names the command line gives (--name, --name=value, -name), up to a lone "--".
std::set<std::string> NamesOnCommandLine(int argc, char** argv) {
  std::set<std::string> names;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    names.insert(std::string(arg.substr(0, arg.find('='))));
  }
  return names;
}

// --help lists the server's flags: those of the files that define the list's flags (Abseil's default lists only
// files named like the program, which none of ours are).
void ConfigureHelp() {
  static const std::set<std::string>* files = [] {
    auto* set = new std::set<std::string>;
    for (const Row& row : Rows()) {
      if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(row.flag.name)) set->insert(flag->Filename());
    }
    return set;
  }();
  absl::FlagsUsageConfig help;
  help.contains_help_flags = [](absl::string_view file) { return files->count(std::string(file)) > 0; };
  help.contains_helpshort_flags = help.contains_help_flags;
  absl::SetFlagsUsageConfig(help);
}

}  // namespace

const std::vector<ServerFlag>& ServerFlags() {
  static const std::vector<ServerFlag>* flags = [] {
    auto* list = new std::vector<ServerFlag>;
    for (const Row& row : Rows()) list->push_back(row.flag);
    return list;
  }();
  return *flags;
}

std::string EnvironmentVariableOf(absl::string_view flag) {
  return absl::StrCat("IMGPROC_", absl::AsciiStrToUpper(flag));
}

absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "imgproc server: image processing over gRPC on NVIDIA GPUs or CPUs\n\n"
      "  imgproc-server --listen=0.0.0.0:50051 --metrics_listen=0.0.0.0:9090 --backend=auto --log_format=json\n\n"
      "Every flag may also be set as IMGPROC_<FLAG> in the environment (the command line wins).");
  ConfigureHelp();
  Notes notes;
  Sources sources;
  ApplyEnvironment(sources, notes);
  absl::ParseCommandLine(argc, argv);
  sources.command_line = NamesOnCommandLine(argc, argv);
  ResolveDeprecatedSpellings(sources, notes);
  ServerConfig config;
  for (const Row& row : Rows()) {
    if (row.read) row.read(config, notes);
  }
  // The problems are written in the format asked, when that one parsed.
  ConfigureLog(config.log_level, config.log_format);
  for (const std::string& warning : notes.warnings) IMGPROC_LOG(kWarning) << warning;
  if (absl::Status valid = ValidateServerConfig(config); !valid.ok()) {
    notes.problems.push_back(std::string(valid.message()));
  }
  if (!notes.problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid configuration: ", absl::StrJoin(notes.problems, "; ")));
  }
  return config;
}

}  // namespace imgproc
