// imgproc-load: a load generator for imgproc, after ghz's conventions.
//
//   imgproc-load --target=127.0.0.1:50051 --input=/usr/share/backgrounds/mate/nature \
//       --ops="resize scale=0.5 | gaussian_blur kernel_width=5 sigma_x=1.5" --format=jpeg --quality=90 \
//       --concurrency=32 --duration=20s --warmup=3s [--rps=500] [--stream] [--report_format=json] \
//       [--verify_fraction=0.05] [--metrics=127.0.0.1:9090]
//
// Closed loop at --concurrency by default (each worker sends its next request when the last is answered);
// --rps spreads sends evenly in time instead (open loop) up to that rate. Answers are checked, all of them by
// default or a deterministic sample with --verify_fraction: an answer must decode (or be raw pixels of the
// right byte count) and have the size that the same request got when it was sent alone before the run (a bad
// chain stops the run there, with the server's error). Wrong answers are counted apart from errors. With
// --metrics, the server's own figures over the measured window (CPU, GPU and JPEG-engine busy, decode/encode
// backends, decode batch size) come with the report. The report is a LoadReport (load_report.proto), printed
// as text or JSON.
//
// The program runs in four steps: Prepare (flags, inputs, channels, reference answers), Drive (the workers and
// the window's scrapes), Aggregate (samples into a LoadReport) and Print.
#include <avif/avif.h>
#include <google/protobuf/util/json_util.h>
#include <libheif/heif.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "batch_sender.h"
#include "cli/channel_flags.h"
#include "cli/request_parsing.h"
#include "imgproc/client.h"
#include "load_report.pb.h"
#include "server_window.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(int, concurrency, 10, "workers sending at once (streams with --stream)");
ABSL_FLAG(int, connections, 1, "gRPC channels (TCP connections) the workers share round-robin");
ABSL_FLAG(double, rps, 0, "requests per second over all workers; 0: as fast as answers come");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to send, warm-up excluded; 0: until --total");
ABSL_FLAG(int64_t, total, 0, "requests to send, warm-up excluded; 0: until --duration");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(), "sending before measuring starts");
ABSL_FLAG(bool, stream, false, "use ProcessStream (one stream per worker) instead of unary Process");
ABSL_FLAG(std::string, input, "", "image files or directories, comma-separated; requests cycle through them");
ABSL_FLAG(std::string, ops, "", "operation chain, as imgproc-cli --ops");
ABSL_FLAG(std::string, request_file, "",
          "a ProcessRequest as JSON (operations, output, ...); --input supplies the image");
ABSL_FLAG(
    std::string, format, "jpeg",
    "the answers' format, as imgproc-cli's: jpeg, png, webp, avif, heic, tiff or raw (ignored with --request_file)");
ABSL_FLAG(int, quality, -1, "JPEG/WebP quality or PNG level; -1: the server's default");
ABSL_FLAG(std::string, dtype, "uint8", "raw: uint8, uint16 or float32");
ABSL_FLAG(std::string, layout, "hwc", "raw: hwc or chw");
ABSL_FLAG(std::string, device, "", "device to ask for; empty: the server picks");
ABSL_FLAG(bool, shrink_on_load, true, "false: ask for full-size decodes (disable_shrink_on_load), as imgproc-cli");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of each request");
ABSL_FLAG(std::string, report_format, "text", "the report: text or json");
ABSL_FLAG(bool, progress, true, "a progress line on stderr every second");
ABSL_FLAG(std::string, metrics, "", "host:port of the server's /metrics: report its CPU, GPU and codec figures");
ABSL_FLAG(double, invalid_fraction, 0,
          "share of requests sent with a truncated image (the first 64 bytes), which must fail as INVALID_ARGUMENT");
ABSL_FLAG(double, cancel_fraction, 0,
          "share of requests sent with the deadline --cancel_after, which must end OK or DEADLINE_EXCEEDED");
ABSL_FLAG(absl::Duration, cancel_after, absl::Milliseconds(5), "deadline of the --cancel_fraction requests");
ABSL_FLAG(int, batch, 0,
          "images per ProcessBatch call (the inputs cycled; raw output, every answer the same size); 0: one image per "
          "Process call. Rates and latencies are then per batch, and the report adds images per second");
ABSL_FLAG(bool, cuda_shared_memory, false,
          "with --batch: each worker registers a CUDA buffer of this process (on --cuda_device) with the server and "
          "has the tensors written there on the GPU (the server needs --allow_cuda_shared_memory)");
ABSL_FLAG(int, cuda_device, 0, "the GPU of the --cuda_shared_memory buffers, as the server numbers them");
ABSL_FLAG(double, verify_fraction, 1.0,
          "share of answers to check (decode, size): every round(1/F)-th answer of each worker; 0: none");

namespace imgproc {
namespace {

namespace pb = ::imgproc::v1;
using load::HistogramBucket;
using load::LatencyMs;
using load::LoadReport;
using load::ServerFigures;
using Clock = std::chrono::steady_clock;

// What an answer to an input must be: the size the server gave it alone, before the run.
struct ExpectedAnswer {
  int width = 0;
  int height = 0;
  int channels = 0;
  bool raw = false;
  size_t raw_bytes = 0;  // raw answers: the pixels' byte count
};

struct Input {
  std::string name;
  pb::ProcessRequest request;
  pb::ProcessRequest truncated;  // for --invalid_fraction
  ExpectedAnswer expected;
};

// What a request is sent to test, and so which statuses its answer may have (--invalid_fraction, --cancel_fraction).
enum class Kind { kValid, kInvalid, kCancelled };
bool Expected(Kind kind, int code) {
  switch (kind) {
    case Kind::kValid: return code == grpc::OK;
    case Kind::kInvalid: return code == grpc::INVALID_ARGUMENT;
    case Kind::kCancelled: return code == grpc::OK || code == grpc::DEADLINE_EXCEEDED;
  }
  return false;
}

constexpr int kStages = 7;
constexpr const char* kStageNames[kStages] = {"batch_wait", "queue_wait", "decode", "upload",
                                              "operations", "download",   "encode"};

struct Sample {
  int64_t latency_us;
  int code;
  int64_t bytes_out;
  int64_t bytes_in;
  std::array<int64_t, kStages> stage_us;  // not the protobuf: no allocation per answer
  int images = 1;                         // answered images: a batch's slots written (--batch)
};

// Each worker keeps its own, merged after the run: no lock on the answer path at thousands of answers a second.
struct WorkerResults {
  std::vector<Sample> samples;
  int64_t answers_outside_window = 0;
  int64_t ok_answers = 0;  // measured, numbers the answers for --verify_fraction's sample
  std::map<int, int64_t> invalid_codes, cancelled_codes;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "imgproc-load: " << message << "\n";
  std::exit(2);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pb::ProcessRequest RequestTemplate() {
  pb::ProcessRequest request;
  if (!absl::GetFlag(FLAGS_request_file).empty()) {
    auto status = google::protobuf::util::JsonStringToMessage(ReadAll(absl::GetFlag(FLAGS_request_file)), &request);
    if (!status.ok()) Die("--request_file: " + status.ToString());
    return request;
  }
  absl::StatusOr<google::protobuf::RepeatedPtrField<pb::Operation>> operations =
      cli::ParseOperationChain(absl::GetFlag(FLAGS_ops));
  if (!operations.ok()) Die(absl::StrCat("--ops: ", operations.status().message()));
  *request.mutable_operations() = *std::move(operations);
  absl::StatusOr<pb::OutputSpec> output = cli::MakeOutputSpec(absl::GetFlag(FLAGS_format), absl::GetFlag(FLAGS_quality),
                                                              absl::GetFlag(FLAGS_dtype), absl::GetFlag(FLAGS_layout));
  if (!output.ok()) Die(std::string(output.status().message()));
  *request.mutable_output() = *std::move(output);
  request.set_disable_shrink_on_load(!absl::GetFlag(FLAGS_shrink_on_load));
  return request;
}

std::vector<Input> LoadInputs() {
  std::vector<std::string> files;
  for (const std::string& item :
       std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty()))) {
    if (std::filesystem::is_directory(item)) {
      for (const auto& e : std::filesystem::directory_iterator(item)) {
        const std::string ext = e.path().extension().string();
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".tif" || ext == ".tiff" ||
            ext == ".heic" || ext == ".heif" || ext == ".avif") {
          files.push_back(e.path().string());
        }
      }
    } else {
      files.push_back(item);
    }
  }
  if (files.empty()) Die("--input names no images");
  std::sort(files.begin(), files.end());
  const pb::ProcessRequest base = RequestTemplate();
  std::vector<Input> inputs;
  for (const std::string& f : files) {
    Input in{f, base, {}, {}};
    in.request.set_image(ReadAll(f));
    in.request.set_device(absl::GetFlag(FLAGS_device));
    in.truncated = in.request;
    in.truncated.set_image(in.request.image().substr(0, 64));
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// Each input sent once, alone, before the run: its answer is what answers under load must match, and a chain
// the server refuses stops the run here with the server's own message.
void LearnExpectedAnswers(ImgprocClient& client, std::vector<Input>& inputs) {
  for (Input& in : inputs) {
    const absl::StatusOr<pb::ProcessResponse> answer = client.Process(in.request);
    if (!answer.ok()) {
      // A bad chain (INVALID_ARGUMENT naming the field) or no server at --target (UNAVAILABLE, DEADLINE_EXCEEDED).
      Die(absl::StrCat(in.name, ": sent alone before the run, it got ",
                       absl::StatusCodeToString(answer.status().code()), ": ", answer.status().message()));
    }
    const pb::ProcessResponse& response = *answer;
    in.expected.width = response.width();
    in.expected.height = response.height();
    in.expected.channels = response.channels();
    in.expected.raw = in.request.output().format_case() == pb::OutputSpec::kRaw;
    in.expected.raw_bytes = response.image().size();
  }
}

// OpenCV 4.6 reads no AVIF: libavif's decoder, which must decode the whole image at the expected size.
bool AvifIsWrong(const Input& in, const std::string& avif) {
  avifDecoder* decoder = avifDecoderCreate();
  avifResult result = avifDecoderSetIOMemory(decoder, reinterpret_cast<const uint8_t*>(avif.data()), avif.size());
  if (result == AVIF_RESULT_OK) result = avifDecoderParse(decoder);
  if (result == AVIF_RESULT_OK) result = avifDecoderNextImage(decoder);
  const bool wrong = result != AVIF_RESULT_OK || static_cast<int>(decoder->image->width) != in.expected.width ||
                     static_cast<int>(decoder->image->height) != in.expected.height;
  avifDecoderDestroy(decoder);
  return wrong;
}

// Nor HEIC: libheif's decoder (libde265), the primary image at the expected size.
bool HeicIsWrong(const Input& in, const std::string& heic) {
  heif_context* context = heif_context_alloc();
  heif_image_handle* handle = nullptr;
  heif_image* image = nullptr;
  bool wrong =
      heif_context_read_from_memory_without_copy(context, heic.data(), heic.size(), nullptr).code != heif_error_Ok ||
      heif_context_get_primary_image_handle(context, &handle).code != heif_error_Ok ||
      heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, nullptr).code !=
          heif_error_Ok;
  wrong = wrong || heif_image_get_width(image, heif_channel_interleaved) != in.expected.width ||
          heif_image_get_height(image, heif_channel_interleaved) != in.expected.height;
  if (image != nullptr) heif_image_release(image);
  if (handle != nullptr) heif_image_handle_release(handle);
  heif_context_free(context);
  return wrong;
}

bool IsWrong(const Input& in, const pb::ProcessResponse& r) {
  if (r.width() != in.expected.width || r.height() != in.expected.height) return true;
  if (in.expected.raw) return r.image().size() != in.expected.raw_bytes;
  if (r.format() == pb::IMAGE_FORMAT_AVIF) return AvifIsWrong(in, r.image());
  if (r.format() == pb::IMAGE_FORMAT_HEIC) return HeicIsWrong(in, r.image());
  const cv::Mat buffer(1, static_cast<int>(r.image().size()), CV_8U, const_cast<char*>(r.image().data()));
  const cv::Mat decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  return decoded.empty() || decoded.cols != in.expected.width || decoded.rows != in.expected.height;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A share as "every k-th"; 0: none.
int64_t EveryKth(double fraction, const char* flag) {
  if (!(fraction >= 0 && fraction <= 1)) Die(absl::StrCat(flag, " must be within [0, 1]"));
  return fraction == 0 ? 0 : std::max<int64_t>(1, std::llround(1 / fraction));
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(p / 100.0 * sorted.size())) - (p > 0 ? 1 : 0));
  return sorted[i] / 1000.0;
}

// ---- Prepare: what the flags ask for, the channels, and each input's expected answer.
struct Plan {
  std::vector<Input> inputs;
  int concurrency = 1;
  int connections = 1;
  double rps = 0;
  bool streaming = false;
  int64_t verify_every = 0, invalid_every = 0, cancel_every = 0;  // every k-th; 0: none
  std::chrono::nanoseconds warmup{0}, duration{0};
  int64_t total = 0;
  int batch = 0;                 // images per ProcessBatch; 0: Process
  int cuda_device = -1;          // the --cuda_shared_memory buffers' GPU; -1: none
  load::BatchShape batch_shape;  // every input's answer's
  ClientOptions options;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
};

Plan Prepare() {
  Plan p;
  p.inputs = LoadInputs();
  p.concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  p.connections = std::clamp(absl::GetFlag(FLAGS_connections), 1, p.concurrency);
  p.rps = absl::GetFlag(FLAGS_rps);
  p.streaming = absl::GetFlag(FLAGS_stream);
  p.verify_every = EveryKth(absl::GetFlag(FLAGS_verify_fraction), "--verify_fraction");
  p.invalid_every = EveryKth(absl::GetFlag(FLAGS_invalid_fraction), "--invalid_fraction");
  p.cancel_every = EveryKth(absl::GetFlag(FLAGS_cancel_fraction), "--cancel_fraction");
  if ((p.invalid_every > 0 || p.cancel_every > 0) && p.streaming) {
    Die("--invalid_fraction and --cancel_fraction are for unary calls, not --stream");
  }
  p.warmup = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  p.duration = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  p.total = absl::GetFlag(FLAGS_total);
  if (p.duration.count() <= 0 && p.total <= 0) Die("set --duration or --total");
  if (p.duration.count() <= 0) p.duration = std::chrono::hours(24);  // bounded by --total

  p.options.deadline =
      std::chrono::duration_cast<std::chrono::milliseconds>(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_timeout)));
  p.options.max_attempts = 1;  // a load test counts what the server answers, not what retries hide
  p.options.wait_for_ready = true;
  if (absl::Status s = cli::ApplyChannelFlags(p.options); !s.ok()) Die(std::string(s.message()));
  const std::shared_ptr<grpc::ChannelCredentials> credentials = ChannelCredentialsFor(p.options.tls);
  for (int i = 0; i < p.connections; ++i) {
    grpc::ChannelArguments args = ChannelArgumentsFor(p.options);  // retries off: max_attempts is 1
    args.SetInt("imgproc.load.channel", i);  // a distinct argument per channel keeps gRPC from sharing one connection
    p.channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), credentials, args));
  }
  ImgprocClient client(p.channels[0], p.options);
  LearnExpectedAnswers(client, p.inputs);
  p.batch = absl::GetFlag(FLAGS_batch);
  if (p.batch < 0) Die("--batch must be 0 or more");
  if (absl::GetFlag(FLAGS_cuda_shared_memory)) {
    if (p.batch == 0) Die("--cuda_shared_memory needs --batch");
    p.cuda_device = absl::GetFlag(FLAGS_cuda_device);
  }
  if (p.batch > 0) {
    if (p.streaming || p.invalid_every > 0 || p.cancel_every > 0) {
      Die("--batch is for unary calls: not with --stream, --invalid_fraction or --cancel_fraction");
    }
    const Input& first = p.inputs.front();
    if (!first.expected.raw) Die("--batch needs a raw output (--format=raw): a batch is answered as one tensor");
    p.batch_shape = {first.expected.width, first.expected.height, first.expected.channels};
    for (const Input& in : p.inputs) {
      if (in.expected.width != first.expected.width || in.expected.height != first.expected.height ||
          in.expected.channels != first.expected.channels) {
        Die(absl::StrCat("--batch: ", in.name, " is answered ", in.expected.width, "x", in.expected.height, ", ",
                         first.name, " ", first.expected.width, "x", first.expected.height,
                         ": a batch's images must end in one size (end the chain with a resize)"));
      }
    }
  }
  return p;
}

// ---- Drive: the workers send, each keeping its own samples; a thread of its own scrapes the server.
struct Counters {
  std::atomic<int64_t> done{0}, errors{0}, wrong{0}, verified{0}, unexpected{0};
  std::atomic<int64_t> invalid_sent{0}, cancelled_sent{0};
};

struct Run {
  std::vector<WorkerResults> results;  // one per worker
  Counters counters;
  double window_s = 0;
  double client_cpu_cores = 0;
  std::optional<ServerFigures> server;
  std::map<std::string, double> busy;
};

void Drive(const Plan& p, Run& run) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + p.warmup;
  const Clock::time_point stop_at = measure_from + p.duration;
  std::atomic<int64_t> tickets{0}, measured{0};
  std::atomic<bool> stop{false};
  Counters& c = run.counters;
  run.results.resize(static_cast<size_t>(p.concurrency));

  auto take_ticket = [&](Clock::time_point* due) -> bool {
    if (stop) return false;
    const int64_t t = tickets++;
    *due = p.rps > 0 ? start + std::chrono::nanoseconds(static_cast<int64_t>(t * 1e9 / p.rps)) : Clock::now();
    if (*due >= stop_at) return false;
    if (*due >= measure_from && p.total > 0 && measured++ >= p.total) return false;
    return true;
  };
  // With --duration, what is measured is the window [measure_from, stop_at): the answers that arrive in it,
  // whenever their requests were sent. Counting instead the requests sent in it and waiting for their answers
  // would, once latency nears the window (W2 at 256 in flight: 6 s), leave out the answers to warm-up requests
  // and stretch the window over the drain, and so report half the server's rate. With --total, the requests
  // sent after the warm-up are measured, until the last answer.
  const bool window_by_answers = p.total <= 0;
  auto record = [&](WorkerResults& mine, Clock::time_point sent, const Input& in, Kind kind, int code,
                    const pb::ProcessResponse* response) {
    const Clock::time_point now = Clock::now();
    ++c.done;
    if (!Expected(kind, code)) ++c.unexpected;
    if (kind == Kind::kInvalid) ++mine.invalid_codes[code];
    if (kind == Kind::kCancelled) ++mine.cancelled_codes[code];
    if (kind != Kind::kValid) return;  // counted above; their latency is not the service's
    const bool measured_answer = window_by_answers ? now >= measure_from && now < stop_at : sent >= measure_from;
    if (!measured_answer) {  // answers outside the window are neither reported nor checked
      ++mine.answers_outside_window;
      return;
    }
    Sample s{std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count(),
             code,
             static_cast<int64_t>(in.request.image().size()),
             response ? static_cast<int64_t>(response->image().size()) : 0,
             {}};
    if (code != 0 || response == nullptr) {
      ++c.errors;
    } else {
      const pb::StageTimings& t = response->timings();
      s.stage_us = {t.batch_wait_us(), t.queue_wait_us(), t.decode_us(), t.upload_us(),
                    t.operations_us(), t.download_us(),   t.encode_us()};
      if (p.verify_every > 0 && mine.ok_answers % p.verify_every == 0) {
        ++c.verified;
        if (IsWrong(in, *response)) ++c.wrong;
      }
      ++mine.ok_answers;
    }
    mine.samples.push_back(s);
  };

  // Server scrapes and this process's CPU time over the measured window, on a thread of their own so that no
  // worker waits for them.
  load::ServerWindow server(absl::GetFlag(FLAGS_metrics));
  std::mutex window_mu;
  std::condition_variable window_cv;
  bool workers_done = false;
  std::optional<double> client_cpu_begin, client_cpu_end;
  std::optional<Clock::time_point> window_end;
  std::thread window_thread([&] {
    std::unique_lock<std::mutex> lock(window_mu);
    if (window_cv.wait_until(lock, measure_from, [&] { return workers_done; })) return;
    client_cpu_begin = ProcessCpuSeconds();
    const bool scraping = server.enabled() && server.Begin();
    // Until stop_at (with --duration) or the last answer, a scrape a second.
    for (auto next = Clock::now() + std::chrono::seconds(1);; next += std::chrono::seconds(1)) {
      const auto until = window_by_answers ? std::min(next, stop_at) : next;
      if (window_cv.wait_until(lock, until, [&] { return workers_done; })) break;
      if (window_by_answers && Clock::now() >= stop_at) break;
      if (scraping) server.Sample();
    }
    window_end = window_by_answers ? std::min(Clock::now(), stop_at) : Clock::now();
    client_cpu_end = ProcessCpuSeconds();
    if (scraping) server.End();
  });

  // --batch: a batch's answer is one sample; every one is checked (its shape and slots from the answer alone).
  auto record_batch = [&](WorkerResults& mine, Clock::time_point sent, const load::BatchAnswer& answer) {
    const Clock::time_point now = Clock::now();
    ++c.done;
    if (answer.code != 0) ++c.unexpected;
    const bool measured_answer = window_by_answers ? now >= measure_from && now < stop_at : sent >= measure_from;
    if (!measured_answer) {
      ++mine.answers_outside_window;
      return;
    }
    Sample s{std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count(),
             answer.code,
             answer.bytes_sent,
             answer.bytes_received,
             answer.stage_us,
             answer.images_ok};
    if (answer.code != 0) {
      ++c.errors;
    } else {
      ++c.verified;
      if (answer.wrong) ++c.wrong;
      ++mine.ok_answers;
    }
    mine.samples.push_back(s);
  };
  std::vector<std::string> images;
  for (const Input& in : p.inputs) images.push_back(in.request.image());

  std::vector<std::thread> workers;
  for (int w = 0; w < p.concurrency; ++w) {
    workers.emplace_back([&, w] {
      WorkerResults& mine = run.results[static_cast<size_t>(w)];
      const std::shared_ptr<grpc::Channel>& channel = p.channels[static_cast<size_t>(w % p.connections)];
      if (p.batch > 0) {
        absl::StatusOr<std::unique_ptr<load::BatchSender>> sender = load::BatchSender::Create(
            channel, p.options, p.inputs.front().request, images, static_cast<size_t>(w) * p.batch, p.batch,
            p.batch_shape, p.cuda_device, absl::StrCat("imgproc-load-", getpid(), "-", w));
        if (!sender.ok()) Die(absl::StrCat("worker ", w, ": ", sender.status().message()));
        Clock::time_point due;
        while (take_ticket(&due)) {
          std::this_thread::sleep_until(due);
          const Clock::time_point sent = p.rps > 0 ? due : Clock::now();
          record_batch(mine, sent, (*sender)->Send());
        }
        return;
      }
      ImgprocClient client(channel, p.options);
      ClientOptions hasty_options = p.options;
      hasty_options.deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
          absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_cancel_after)));
      ImgprocClient hasty(channel, hasty_options);
      std::unique_ptr<ImgprocClient::Stream> stream;
      if (p.streaming) {
        stream = client.OpenStream(std::chrono::duration_cast<std::chrono::milliseconds>(p.warmup + p.duration) +
                                   std::chrono::minutes(1));
      }
      Clock::time_point due;
      for (int64_t i = w; take_ticket(&due); i += p.concurrency) {
        std::this_thread::sleep_until(due);
        const Input& in = p.inputs[static_cast<size_t>(i) % p.inputs.size()];
        const Clock::time_point sent = p.rps > 0 ? due : Clock::now();  // open loop: latency from when it was due
        if (p.streaming) {
          std::optional<StreamAnswer> answer;
          if (!stream->Send(in.request) || !(answer = stream->Read())) {
            record(mine, sent, in, Kind::kValid, grpc::UNAVAILABLE, nullptr);
            break;
          }
          const absl::StatusOr<pb::ProcessResponse>& r = answer->response;
          record(mine, sent, in, Kind::kValid, static_cast<int>(r.status().code()), r.ok() ? &*r : nullptr);
          continue;
        }
        const int64_t n = i / p.concurrency;  // this worker's n-th request
        const Kind kind = p.cancel_every > 0 && n % p.cancel_every == p.cancel_every - 1      ? Kind::kCancelled
                          : p.invalid_every > 0 && n % p.invalid_every == p.invalid_every / 2 ? Kind::kInvalid
                                                                                              : Kind::kValid;
        absl::StatusOr<pb::ProcessResponse> r;
        if (kind == Kind::kCancelled) {
          ++c.cancelled_sent;
          r = hasty.Process(in.request);
        } else if (kind == Kind::kInvalid) {
          ++c.invalid_sent;
          r = client.Process(in.truncated);
        } else {
          r = client.Process(in.request);
        }
        record(mine, sent, in, kind, static_cast<int>(r.status().code()), r.ok() ? &*r : nullptr);
      }
      if (stream) stream->Finish().IgnoreError();  // its answers were counted as they came
    });
  }
  std::thread progress([&] {
    int64_t last = 0;
    while (!stop) {
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stop || !absl::GetFlag(FLAGS_progress)) continue;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const int64_t now_done = c.done;
      std::fprintf(stderr, "[%6.1fs]%s %lld answers, %.1f/s now, %lld errors, %lld verified, %lld wrong\n", elapsed,
                   Clock::now() < measure_from ? " warm-up," : "", (long long)now_done, double(now_done - last),
                   (long long)c.errors.load(), (long long)c.verified.load(), (long long)c.wrong.load());
      last = now_done;
    }
  });
  for (auto& t : workers) t.join();
  {
    std::lock_guard<std::mutex> lock(window_mu);
    workers_done = true;
  }
  window_cv.notify_all();
  window_thread.join();
  stop = true;
  progress.join();

  run.window_s = std::chrono::duration<double>(window_end.value_or(measure_from) - measure_from).count();
  run.client_cpu_cores =
      client_cpu_begin && client_cpu_end ? (*client_cpu_end - *client_cpu_begin) / std::max(run.window_s, 1e-9) : 0;
  run.server = server.Figures();
  if (run.server) run.busy = server.BusyRatios();
  if (server.enabled() && !run.server) std::cerr << "imgproc-load: no server figures: " << server.last_error() << "\n";
}

// ---- Aggregate: the workers' samples into the report.
LoadReport Aggregate(const Run& run) {
  std::vector<Sample> samples;
  int64_t outside_window = 0;
  for (const WorkerResults& r : run.results) {
    samples.insert(samples.end(), r.samples.begin(), r.samples.end());
    outside_window += r.answers_outside_window;
  }
  LoadReport report;
  std::vector<int64_t> latencies;
  std::map<std::string, uint32_t> codes;
  double bytes_sent = 0, bytes_received = 0;
  double stage_sum[kStages] = {0};
  uint32_t ok = 0;
  int64_t images = 0;
  for (const Sample& s : samples) {
    images += s.code == 0 ? s.images : 0;
    latencies.push_back(s.latency_us);
    codes[absl::StatusCodeToString(static_cast<absl::StatusCode>(s.code))]++;
    bytes_sent += s.bytes_out;
    bytes_received += s.bytes_in;
    if (s.code == 0) {
      ++ok;
      for (int k = 0; k < kStages; ++k) stage_sum[k] += s.stage_us[k];
    }
  }
  std::sort(latencies.begin(), latencies.end());
  double mean = 0;
  for (int64_t l : latencies) mean += l / 1000.0;
  if (!latencies.empty()) mean /= latencies.size();

  const Counters& c = run.counters;
  report.set_count(static_cast<uint32_t>(samples.size()));
  report.set_ok(ok);
  report.set_errors(static_cast<uint32_t>(c.errors));
  report.set_wrong(static_cast<uint32_t>(c.wrong));
  report.set_verified(static_cast<uint32_t>(c.verified));
  report.set_verify_fraction(absl::GetFlag(FLAGS_verify_fraction));
  report.set_outside_window_count(static_cast<uint32_t>(outside_window));
  report.set_unexpected(static_cast<uint32_t>(c.unexpected));
  report.set_invalid_sent(static_cast<uint32_t>(c.invalid_sent));
  report.set_cancelled_sent(static_cast<uint32_t>(c.cancelled_sent));
  report.set_duration_s(run.window_s);
  report.set_rps(samples.size() / std::max(run.window_s, 1e-9));
  report.set_batch(static_cast<uint32_t>(std::max(0, absl::GetFlag(FLAGS_batch))));
  report.set_images_ok(static_cast<uint32_t>(images));
  report.set_images_per_s(images / std::max(run.window_s, 1e-9));
  report.set_client_cpu_cores(run.client_cpu_cores);
  LatencyMs& l = *report.mutable_latency_ms();
  l.set_min(Percentile(latencies, 0));
  l.set_mean(mean);
  l.set_p50(Percentile(latencies, 50));
  l.set_p90(Percentile(latencies, 90));
  l.set_p95(Percentile(latencies, 95));
  l.set_p99(Percentile(latencies, 99));
  l.set_max(Percentile(latencies, 100));
  // Ten buckets from the fastest to the slowest answer.
  if (!latencies.empty()) {
    const double lo = latencies.front() / 1000.0, hi = latencies.back() / 1000.0, step = (hi - lo) / 10;
    for (int b = 1; b <= 10; ++b) report.add_histogram()->set_le_ms(lo + step * b);
    for (int64_t v : latencies) {
      const size_t b = step > 0 ? static_cast<size_t>((v / 1000.0 - lo) / step) : 0;
      HistogramBucket& bucket = *report.mutable_histogram(static_cast<int>(std::min<size_t>(b, 9)));
      bucket.set_count(bucket.count() + 1);
    }
  }
  for (const auto& [code, n] : codes) (*report.mutable_status_codes())[code] = n;
  for (const WorkerResults& r : run.results) {
    for (const auto& [code, n] : r.invalid_codes)
      (*report.mutable_invalid_status_codes())[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] += n;
    for (const auto& [code, n] : r.cancelled_codes)
      (*report.mutable_cancelled_status_codes())[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] += n;
  }
  report.set_bytes_sent(bytes_sent);
  report.set_bytes_received(bytes_received);
  for (int k = 0; k < kStages; ++k)
    (*report.mutable_server_stage_mean_us())[kStageNames[k]] = ok ? stage_sum[k] / ok : 0.0;
  for (const auto& [name, ratio] : run.busy) (*report.mutable_busy_ratio())[name] = ratio;
  if (run.server) *report.mutable_server() = *run.server;
  return report;
}

// ---- Print: JSON (the proto's own field names) or text for a person.
void Print(const LoadReport& r, int64_t verify_every) {
  if (absl::GetFlag(FLAGS_report_format) == "json") {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(r, &json, options).ok()) Die("cannot print the report as JSON");
    std::cout << json << std::endl;
    return;
  }
  const std::string sample_rule = verify_every == 0   ? "none checked"
                                  : verify_every == 1 ? "every answer"
                                                      : absl::StrCat("1 in ", verify_every, " answers of each worker");
  const LatencyMs& l = r.latency_ms();
  std::printf(
      "Summary:\n  Count:\t%u (%u more outside the window)\n  Total:\t%.2f s\n  Slowest:\t%.2f ms\n  Fastest:\t%.2f "
      "ms\n"
      "  Average:\t%.2f ms\n  Requests/sec:\t%.2f\n  Errors:\t%u\n  Verified:\t%u (%s)\n"
      "  Wrong answers:\t%u\n  Unexpected statuses:\t%u (%u truncated and %u hasty requests sent)\n"
      "  Load generator CPU:\t%.2f cores\n\n",
      r.count(), r.outside_window_count(), r.duration_s(), l.max(), l.min(), l.mean(), r.rps(), r.errors(),
      r.verified(), sample_rule.c_str(), r.wrong(), r.unexpected(), r.invalid_sent(), r.cancelled_sent(),
      r.client_cpu_cores());
  if (r.batch() > 0) {
    std::printf(
        "  Batches of:\t%u images\n  Images/sec:\t%.2f (%u images answered)\n  Host bytes/image:\t%.0f in, %.0f "
        "out\n\n",
        r.batch(), r.images_per_s(), r.images_ok(), r.bytes_received() / std::max<double>(r.images_ok(), 1),
        r.bytes_sent() / std::max<double>(r.images_ok(), 1));
  }
  std::printf("Latency distribution:\n  50%% in %.2f ms\n  90%% in %.2f ms\n  95%% in %.2f ms\n  99%% in %.2f ms\n",
              l.p50(), l.p90(), l.p95(), l.p99());
  std::printf("\nResponse time histogram:\n");
  uint32_t peak = 1;
  for (const HistogramBucket& b : r.histogram()) peak = std::max(peak, b.count());
  for (const HistogramBucket& b : r.histogram()) {
    std::printf("  %10.2f ms [%u]\t|%s\n", b.le_ms(), b.count(),
                std::string(static_cast<size_t>(40 * b.count() / peak), '#').c_str());
  }
  std::printf("\nStatus code distribution:\n");
  for (const auto& [code, n] : std::map<std::string, uint32_t>(r.status_codes().begin(), r.status_codes().end())) {
    std::printf("  [%s]\t%u responses\n", code.c_str(), n);
  }
  for (const auto& [code, n] :
       std::map<std::string, uint32_t>(r.invalid_status_codes().begin(), r.invalid_status_codes().end())) {
    std::printf("  [%s]\t%u responses to truncated requests\n", code.c_str(), n);
  }
  for (const auto& [code, n] :
       std::map<std::string, uint32_t>(r.cancelled_status_codes().begin(), r.cancelled_status_codes().end())) {
    std::printf("  [%s]\t%u responses to hasty requests\n", code.c_str(), n);
  }
  std::printf("\nBytes: sent %.0f, received %.0f\nServer stage means (us):", r.bytes_sent(), r.bytes_received());
  for (int k = 0; k < kStages; ++k)
    std::printf(" %s %.0f", kStageNames[k], r.server_stage_mean_us().at(kStageNames[k]));
  std::printf("\n");
  if (r.has_server()) {
    const std::map<std::string, double> busy(r.busy_ratio().begin(), r.busy_ratio().end());
    std::printf("\n%s", load::ServerFiguresText(r.server(), busy).c_str());
  }
}

int RunLoad() {
  const Plan plan = Prepare();
  Run run;
  Drive(plan, run);
  Print(Aggregate(run), plan.verify_every);
  return 0;
}

}  // namespace
}  // namespace imgproc

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "load generator for imgproc, closed loop (--concurrency) or open loop (--rps)\n\n"
      "  imgproc-load --target=127.0.0.1:50051 --input=/usr/share/backgrounds/mate/nature \\\n"
      "      --ops=\"resize scale=0.5\" --format=jpeg --concurrency=32 --duration=20s --report_format=json");
  imgproc::cli::ListClientFlagsInHelp();
  absl::ParseCommandLine(argc, argv);
  return imgproc::RunLoad();
}
