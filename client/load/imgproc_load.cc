// imgproc-load: a load generator for imgproc, after ghz's conventions.
//
//   imgproc-load --target=127.0.0.1:50051 --input=/usr/share/backgrounds/mate/nature \
//       --ops="resize scale=0.5 | gaussian_blur kernel_width=5 sigma_x=1.5" --output_format=jpeg --quality=90 \
//       --concurrency=32 --duration=20s --warmup=3s [--rps=500] [--stream] [--format=json] \
//       [--verify_fraction=0.05] [--metrics=127.0.0.1:9090]
//
// Closed loop at --concurrency by default (each worker sends its next request when the last is answered);
// --rps spreads sends evenly in time instead (open loop) up to that rate. Answers are checked, all of them by
// default or a deterministic sample with --verify_fraction: an answer must decode (or be raw pixels of the
// right byte count) and have the size the chain produces, which is predicted with the server's own validation
// code. Wrong answers are counted apart from errors. With --metrics, the server's own figures over the measured
// window (CPU, GPU and JPEG-engine busy, decode/encode backends, decode batch size) come with the report.
#include <algorithm>
#include <atomic>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <sys/resource.h>

#include <google/protobuf/util/json_util.h>
#include <opencv2/imgcodecs.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "imgproc/client.h"
#include "channel_flags.h"
#include "pipeline/plan.h"
#include "server_metrics.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(int, concurrency, 10, "workers sending at once (streams with --stream)");
ABSL_FLAG(int, connections, 1, "gRPC channels (TCP connections) the workers share round-robin");
ABSL_FLAG(double, rps, 0, "requests per second over all workers; 0: as fast as answers come");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to send, warm-up excluded; 0: until --total");
ABSL_FLAG(int64_t, total, 0, "requests to send, warm-up excluded; 0: until --duration");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(), "sending before measuring starts");
ABSL_FLAG(bool, stream, false, "use ProcessStream (one stream per worker) instead of unary Process");
ABSL_FLAG(std::string, input, "", "image files or directories, comma-separated; requests cycle through them");
ABSL_FLAG(std::string, ops, "", "operation chain, as imgproc_cli --ops");
ABSL_FLAG(std::string, request_file, "", "a ProcessRequest as JSON (operations, output, ...); --input supplies the image");
ABSL_FLAG(std::string, output_format, "jpeg", "jpeg, png, webp or raw (ignored with --request_file)");
ABSL_FLAG(int, quality, -1, "JPEG/WebP quality or PNG level; -1: the server's default");
ABSL_FLAG(std::string, dtype, "uint8", "raw: uint8 or float32");
ABSL_FLAG(std::string, layout, "hwc", "raw: hwc or chw");
ABSL_FLAG(std::string, device, "", "device to ask for; empty: the server picks");
ABSL_FLAG(bool, shrink_on_load, true, "false: ask for full-size decodes (disable_shrink_on_load), as imgproc_cli");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of each request");
ABSL_FLAG(std::string, format, "text", "report: text or json");
ABSL_FLAG(bool, progress, true, "a progress line on stderr every second");
ABSL_FLAG(std::string, metrics, "", "host:port of the server's /metrics: report its CPU, GPU and codec figures");
ABSL_FLAG(double, invalid_fraction, 0,
          "share of requests sent with a truncated image (the first 64 bytes), which must fail as INVALID_ARGUMENT");
ABSL_FLAG(double, cancel_fraction, 0,
          "share of requests sent with the deadline --cancel_after, which must end OK or DEADLINE_EXCEEDED");
ABSL_FLAG(absl::Duration, cancel_after, absl::Milliseconds(5), "deadline of the --cancel_fraction requests");
ABSL_FLAG(double, verify_fraction, 1.0,
          "share of answers to check (decode, size): every round(1/F)-th answer of each worker; 0: none");

namespace imgproc {
namespace {

namespace pb = ::imgproc::v1;
using Clock = std::chrono::steady_clock;

struct Input {
  std::string name;
  pb::ProcessRequest request;
  ImageSpec expected;
  bool raw = false;
  pb::ProcessRequest truncated;  // for --invalid_fraction
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
constexpr const char* kStageNames[kStages] = {"batch_wait", "queue_wait", "decode", "upload", "operations", "download", "encode"};

struct Sample {
  int64_t latency_us;
  int code;
  int64_t bytes_out;
  int64_t bytes_in;
  std::array<int64_t, kStages> stage_us;  // not the protobuf: no allocation per answer
};

// Each worker keeps its own, merged after the run: no lock on the answer path at thousands of answers a second.
struct WorkerResults {
  std::vector<Sample> samples;
  int64_t answers_outside_window = 0;
  int64_t ok_answers = 0;  // measured, numbers the answers for --verify_fraction's sample
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
  std::string error;
  if (!ParseOperationChain(absl::GetFlag(FLAGS_ops), &request, &error)) Die("--ops: " + error);
  if (!MakeOutputSpec(absl::GetFlag(FLAGS_output_format), absl::GetFlag(FLAGS_quality), absl::GetFlag(FLAGS_dtype),
                      absl::GetFlag(FLAGS_layout), request.mutable_output(), &error)) {
    Die(error);
  }
  request.set_disable_shrink_on_load(!absl::GetFlag(FLAGS_shrink_on_load));
  return request;
}

std::vector<Input> LoadInputs() {
  std::vector<std::string> files;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty()))) {
    if (std::filesystem::is_directory(item)) {
      for (const auto& e : std::filesystem::directory_iterator(item)) {
        const std::string ext = e.path().extension().string();
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".tif" || ext == ".tiff") {
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
    Input in{f, base, {}, base.output().format_case() == pb::OutputSpec::kRaw};
    in.request.set_image(ReadAll(f));
    in.request.set_device(absl::GetFlag(FLAGS_device));
    // The server's own validation predicts the answer's size, and refuses bad chains before any load.
    absl::StatusOr<Plan> plan = BuildPlan(in.request, ImageLimits{});
    if (!plan.ok()) Die(f + ": " + std::string(plan.status().message()));
    in.expected = plan->result;
    if (in.raw && in.request.output().raw().dtype() == pb::DTYPE_FLOAT32) in.expected.depth = Depth::kF32;
    if (in.raw && in.request.output().raw().dtype() == pb::DTYPE_UINT8) in.expected.depth = Depth::kU8;
    in.truncated = in.request;
    in.truncated.set_image(in.request.image().substr(0, 64));
    inputs.push_back(std::move(in));
  }
  return inputs;
}

bool IsWrong(const Input& in, const pb::ProcessResponse& r) {
  if (r.width() != in.expected.width || r.height() != in.expected.height) return true;
  if (in.raw) {
    const size_t elem = in.expected.depth == Depth::kF32 ? 4 : 1;
    return r.image().size() != size_t(in.expected.width) * in.expected.height * in.expected.channels * elem;
  }
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
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(p / 100.0 * sorted.size())) - (p > 0 ? 1 : 0));
  return sorted[i] / 1000.0;
}

int Run() {
  const std::vector<Input> inputs = LoadInputs();
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  const int connections = std::clamp(absl::GetFlag(FLAGS_connections), 1, concurrency);
  const double rps = absl::GetFlag(FLAGS_rps);
  const bool streaming = absl::GetFlag(FLAGS_stream);
  const int64_t verify_every = EveryKth(absl::GetFlag(FLAGS_verify_fraction), "--verify_fraction");
  const int64_t invalid_every = EveryKth(absl::GetFlag(FLAGS_invalid_fraction), "--invalid_fraction");
  const int64_t cancel_every = EveryKth(absl::GetFlag(FLAGS_cancel_fraction), "--cancel_fraction");
  if ((invalid_every > 0 || cancel_every > 0) && absl::GetFlag(FLAGS_stream)) {
    Die("--invalid_fraction and --cancel_fraction are for unary calls, not --stream");
  }
  const auto warmup = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  auto duration = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  const int64_t total = absl::GetFlag(FLAGS_total);
  if (duration.count() <= 0 && total <= 0) Die("set --duration or --total");
  if (duration.count() <= 0) duration = std::chrono::hours(24);  // bounded by --total

  ClientOptions options;
  options.deadline = std::chrono::duration_cast<std::chrono::milliseconds>(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_timeout)));
  options.max_attempts = 1;  // a load test counts what the server answers, not what retries hide
  options.wait_for_ready = true;
  if (absl::Status s = ApplyChannelFlags(options); !s.ok()) Die(std::string(s.message()));
  const std::shared_ptr<grpc::ChannelCredentials> credentials = ChannelCredentialsFor(options.tls);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args = ChannelArgumentsFor(options);  // retries off: max_attempts is 1
    args.SetInt("imgproc.load.channel", i);  // a distinct argument per channel keeps gRPC from sharing one connection
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), credentials, args));
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + warmup;
  const Clock::time_point stop_at = measure_from + duration;
  std::atomic<int64_t> tickets{0}, measured{0}, done{0}, errors{0}, wrong{0}, verified{0}, unexpected{0};
  std::atomic<int64_t> invalid_sent{0}, cancelled_sent{0};
  std::atomic<bool> stop{false};
  std::vector<WorkerResults> results(static_cast<size_t>(concurrency));

  auto take_ticket = [&](Clock::time_point* due) -> bool {
    if (stop) return false;
    const int64_t t = tickets++;
    *due = rps > 0 ? start + std::chrono::nanoseconds(static_cast<int64_t>(t * 1e9 / rps)) : Clock::now();
    if (*due >= stop_at) return false;
    if (*due >= measure_from && total > 0 && measured++ >= total) return false;
    return true;
  };
  // With --duration, what is measured is the window [measure_from, stop_at): the answers that arrive in it,
  // whenever their requests were sent. Counting instead the requests sent in it and waiting for their answers
  // would, once latency nears the window (W2 at 256 in flight: 6 s), leave out the answers to warm-up requests
  // and stretch the window over the drain, and so report half the server's rate. With --total, the requests
  // sent after the warm-up are measured, until the last answer.
  const bool window_by_answers = total <= 0;
  auto record = [&](WorkerResults& mine, Clock::time_point sent, const Input& in, Kind kind, int code,
                    const pb::ProcessResponse* response) {
    const Clock::time_point now = Clock::now();
    ++done;
    if (!Expected(kind, code)) ++unexpected;
    if (kind != Kind::kValid) return;  // counted above; their latency is not the service's
    const bool measured_answer =
        window_by_answers ? now >= measure_from && now < stop_at : sent >= measure_from;
    if (!measured_answer) {  // answers outside the window are neither reported nor checked
      ++mine.answers_outside_window;
      return;
    }
    Sample s{std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count(), code,
             static_cast<int64_t>(in.request.image().size()), response ? static_cast<int64_t>(response->image().size()) : 0,
             {}};
    if (code != 0 || response == nullptr) {
      ++errors;
    } else {
      const pb::StageTimings& t = response->timings();
      s.stage_us = {t.batch_wait_us(), t.queue_wait_us(), t.decode_us(), t.upload_us(), t.operations_us(), t.download_us(), t.encode_us()};
      if (verify_every > 0 && mine.ok_answers % verify_every == 0) {
        ++verified;
        if (IsWrong(in, *response)) ++wrong;
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
  std::optional<double> client_cpu_begin;
  std::optional<double> client_cpu_end;
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

  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      WorkerResults& mine = results[static_cast<size_t>(w)];
      ImgprocClient client(channels[w % connections], options);
      ClientOptions hasty_options = options;
      hasty_options.deadline =
          std::chrono::duration_cast<std::chrono::milliseconds>(absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_cancel_after)));
      ImgprocClient hasty(channels[w % connections], hasty_options);
      std::unique_ptr<ImgprocClient::Stream> stream;
      if (streaming) stream = client.OpenStream(std::chrono::duration_cast<std::chrono::milliseconds>(warmup + duration) + std::chrono::minutes(1));
      Clock::time_point due;
      for (int64_t i = w; take_ticket(&due); i += concurrency) {
        std::this_thread::sleep_until(due);
        const Input& in = inputs[static_cast<size_t>(i) % inputs.size()];
        const Clock::time_point sent = rps > 0 ? due : Clock::now();  // open loop: latency from when it was due
        if (streaming) {
          pb::ProcessStreamResponse r;
          if (!stream->Send(in.request) || !stream->Read(&r)) {
            record(mine, sent, in, Kind::kValid, grpc::UNAVAILABLE, nullptr);
            break;
          }
          record(mine, sent, in, Kind::kValid, r.status_code(), r.status_code() == 0 ? &r.response() : nullptr);
        } else {
          const int64_t n = i / concurrency;  // this worker's n-th request
          const Kind kind = cancel_every > 0 && n % cancel_every == cancel_every - 1     ? Kind::kCancelled
                            : invalid_every > 0 && n % invalid_every == invalid_every / 2 ? Kind::kInvalid
                                                                                          : Kind::kValid;
          pb::ProcessResponse r;
          grpc::Status status;
          if (kind == Kind::kCancelled) {
            ++cancelled_sent;
            status = hasty.Process(in.request, &r);
          } else if (kind == Kind::kInvalid) {
            ++invalid_sent;
            status = client.Process(in.truncated, &r);
          } else {
            status = client.Process(in.request, &r);
          }
          record(mine, sent, in, kind, status.error_code(), status.ok() ? &r : nullptr);
        }
      }
      if (stream) stream->Finish();
    });
  }
  std::thread progress([&] {
    int64_t last = 0;
    while (!stop) {
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stop || !absl::GetFlag(FLAGS_progress)) continue;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const int64_t now_done = done;
      std::fprintf(stderr, "[%6.1fs]%s %lld answers, %.1f/s now, %lld errors, %lld verified, %lld wrong\n", elapsed,
                   Clock::now() < measure_from ? " warm-up," : "", (long long)now_done, double(now_done - last),
                   (long long)errors.load(), (long long)verified.load(), (long long)wrong.load());
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
  const std::optional<load::ServerFigures> figures = server.Figures();
  if (server.enabled() && !figures) {
    std::cerr << "imgproc-load: no server figures: " << server.last_error() << "\n";
  }

  // ---- report
  const double wall = std::chrono::duration<double>(window_end.value_or(measure_from) - measure_from).count();
  std::vector<Sample> samples;
  int64_t outside_window_count = 0;
  for (WorkerResults& r : results) {
    samples.insert(samples.end(), r.samples.begin(), r.samples.end());
    outside_window_count += r.answers_outside_window;
  }
  std::vector<int64_t> latencies;
  std::map<std::string, int64_t> codes;
  int64_t bytes_sent = 0, bytes_received = 0;
  double stage_sum[kStages] = {0};
  int64_t ok = 0;
  for (const Sample& s : samples) {
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
  const double throughput = samples.size() / std::max(wall, 1e-9);
  // The load generator's own CPU: if it nears the host's cores, the figures measure the client, not the server.
  const double client_cpu_cores =
      client_cpu_begin && client_cpu_end ? (*client_cpu_end - *client_cpu_begin) / std::max(wall, 1e-9) : 0;
  const std::map<std::string, double> busy = figures ? figures->busy : std::map<std::string, double>{};
  // Histogram: ten buckets from the fastest to the slowest answer.
  std::vector<std::pair<double, int64_t>> histogram;
  if (!latencies.empty()) {
    const double lo = latencies.front() / 1000.0, hi = latencies.back() / 1000.0, step = (hi - lo) / 10;
    for (int b = 1; b <= 10; ++b) histogram.push_back({lo + step * b, 0});
    for (int64_t l : latencies) {
      size_t b = step > 0 ? static_cast<size_t>((l / 1000.0 - lo) / step) : 0;
      histogram[std::min<size_t>(b, 9)].second++;
    }
  }
  if (absl::GetFlag(FLAGS_format) == "json") {
    std::string json = absl::StrFormat(
        R"({"count":%d,"ok":%d,"errors":%d,"wrong":%d,"verified":%d,"verify_fraction":%g,"outside_window_count":%d,)"
        R"("unexpected":%d,"invalid_sent":%d,"cancelled_sent":%d,)"
        R"("duration_s":%.3f,"rps":%.3f,"client_cpu_cores":%.3f,)"
        R"("latency_ms":{"min":%.3f,"mean":%.3f,"p50":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"max":%.3f},)",
        samples.size(), ok, errors.load(), wrong.load(), verified.load(), absl::GetFlag(FLAGS_verify_fraction),
        outside_window_count, unexpected.load(), invalid_sent.load(), cancelled_sent.load(), wall, throughput, client_cpu_cores, Percentile(latencies, 0), mean, Percentile(latencies, 50),
        Percentile(latencies, 90), Percentile(latencies, 95), Percentile(latencies, 99), Percentile(latencies, 100));
    json += R"("histogram":[)";
    for (size_t b = 0; b < histogram.size(); ++b) {
      json += absl::StrFormat(R"(%s{"le_ms":%.3f,"count":%d})", b ? "," : "", histogram[b].first, histogram[b].second);
    }
    json += R"(],"status_codes":{)";
    bool first = true;
    for (const auto& [code, n] : codes) {
      json += absl::StrFormat(R"(%s"%s":%d)", first ? "" : ",", code, n);
      first = false;
    }
    json += absl::StrFormat(R"(},"bytes_sent":%d,"bytes_received":%d,"server_stage_mean_us":{)", bytes_sent, bytes_received);
    for (int k = 0; k < kStages; ++k) json += absl::StrFormat(R"(%s"%s":%.1f)", k ? "," : "", kStageNames[k], ok ? stage_sum[k] / ok : 0.0);
    json += R"(},"busy_ratio":{)";
    first = true;
    for (const auto& [name, ratio] : busy) {
      json += absl::StrFormat(R"(%s"%s":%.4f)", first ? "" : ",", name, ratio);
      first = false;
    }
    json += "}";
    if (figures) json += R"(,"server":)" + load::ServerFiguresJson(*figures);
    json += "}";
    std::cout << json << std::endl;
  } else {
    const std::string sample_rule = verify_every == 0   ? "none checked"
                                    : verify_every == 1 ? "every answer"
                                                        : absl::StrCat("1 in ", verify_every, " answers of each worker");
    std::printf("Summary:\n  Count:\t%zu (%lld more outside the window)\n  Total:\t%.2f s\n  Slowest:\t%.2f ms\n  Fastest:\t%.2f ms\n"
                "  Average:\t%.2f ms\n  Requests/sec:\t%.2f\n  Errors:\t%lld\n  Verified:\t%lld (%s)\n"
                "  Wrong answers:\t%lld\n  Unexpected statuses:\t%lld (%lld truncated and %lld hasty requests sent)\n"
                "  Load generator CPU:\t%.2f cores\n\n",
                samples.size(), (long long)outside_window_count, wall, Percentile(latencies, 100), Percentile(latencies, 0), mean,
                throughput, (long long)errors.load(), (long long)verified.load(), sample_rule.c_str(),
                (long long)wrong.load(), (long long)unexpected.load(), (long long)invalid_sent.load(),
                (long long)cancelled_sent.load(), client_cpu_cores);
    std::printf("Latency distribution:\n");
    for (double p : {50.0, 90.0, 95.0, 99.0}) std::printf("  %.0f%% in %.2f ms\n", p, Percentile(latencies, p));
    std::printf("\nResponse time histogram:\n");
    int64_t peak = 1;
    for (const auto& [le, n] : histogram) peak = std::max(peak, n);
    for (const auto& [le, n] : histogram) {
      std::printf("  %10.2f ms [%lld]\t|%s\n", le, (long long)n, std::string(static_cast<size_t>(40 * n / peak), '#').c_str());
    }
    std::printf("\nStatus code distribution:\n");
    for (const auto& [code, n] : codes) std::printf("  [%s]\t%lld responses\n", code.c_str(), (long long)n);
    std::printf("\nBytes: sent %lld, received %lld\nServer stage means (us):", (long long)bytes_sent, (long long)bytes_received);
    for (int k = 0; k < kStages; ++k) std::printf(" %s %.0f", kStageNames[k], ok ? stage_sum[k] / ok : 0.0);
    std::printf("\n");
    if (figures) std::printf("\n%s", load::ServerFiguresText(*figures).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace imgproc

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("imgproc-load: load generator for imgproc (see the flags)");
  absl::ParseCommandLine(argc, argv);
  return imgproc::Run();
}
