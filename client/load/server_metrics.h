#pragma once
// The server's own figures over imgproc-load's measured window, read from its Prometheus /metrics: counters
// as the difference between the window's first and last scrape, gauges as the mean of one sample a second.
// Plain HTTP/1.0 over a socket and the standard library only: the load generator links no test code and no
// HTTP client. Header-only because imgproc-load is its one user and its build rule stays a single file.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace imgproc::load {

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// Keyed by name and sorted labels, so that the same series matches across scrapes whatever order it came in.
using Scrape = std::map<std::string, Series>;

// GET http://HOST:PORT/metrics; the body, or nullopt with `error` set. Bounded: 5 s per connect, send, recv.
inline std::optional<std::string> HttpGetMetrics(const std::string& hostport, std::string* error) {
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    *error = "--metrics needs host:port, got '" + hostport + "'";
    return std::nullopt;
  }
  std::string host = hostport.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);  // [::1]
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), hostport.substr(colon + 1).c_str(), &hints, &found); rc != 0) {
    *error = hostport + ": " + gai_strerror(rc);
    return std::nullopt;
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const timeval timeout{5, 0};  // Linux applies SO_SNDTIMEO to connect() too
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const bool connected = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  std::string response;
  if (connected) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + hostport + "\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<size_t>(n));
    }
  }
  if (fd >= 0) close(fd);
  const size_t body = response.find("\r\n\r\n");
  const size_t status_end = response.find("\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos ||
      response.substr(0, status_end).find(" 200") == std::string::npos) {
    *error = connected ? "bad answer from http://" + hostport + "/metrics: " + response.substr(0, status_end)
                       : "cannot connect to " + hostport;
    return std::nullopt;
  }
  return response.substr(body + 4);
}

inline std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return name;
  return absl::StrCat(name, "{", absl::StrJoin(labels, ",", absl::PairFormatter("=")), "}");
}

// Prometheus text format: `name{label="value",...} value [timestamp]`; comments and malformed lines are skipped.
inline Scrape ParseExposition(const std::string& text) {
  Scrape scrape;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Series s;
    size_t i = line.find_first_of("{ \t");
    if (i == std::string::npos || i == 0) continue;
    s.name = line.substr(0, i);
    bool ok = true;
    if (line[i] == '{') {
      ++i;
      // Label values are quoted and may hold '}', ',', spaces and escapes, so they are read character by character.
      while (ok) {
        while (i < line.size() && (line[i] == ',' || line[i] == ' ')) ++i;
        if (i < line.size() && line[i] == '}') break;
        const size_t eq = line.find('=', i);
        ok = eq != std::string::npos && eq + 1 < line.size() && line[eq + 1] == '"';
        if (!ok) break;
        const std::string label = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        ok = i < line.size();
        ++i;
        s.labels[label] = value;
      }
      ++i;  // past '}'
    }
    if (!ok || i >= line.size()) continue;
    const char* begin = line.c_str() + i;
    char* end = nullptr;
    s.value = std::strtod(begin, &end);  // also reads NaN, +Inf, -Inf
    if (end == begin) continue;
    const std::string key = SeriesKey(s.name, s.labels);
    scrape[key] = std::move(s);
  }
  return scrape;
}

// What the server did over the window, where it exports the series: absent series leave fields empty.
struct ServerFigures {
  double window_s = 0;
  int gauge_samples = 0;
  std::optional<double> cpu_cores;          // process_cpu_seconds_total per second
  std::map<std::string, double> busy;       // worker_busy:DEVICE, gpu_busy:DEVICE (the existing ratios)
  std::map<std::string, double> gauges;     // gpu_util:DEVICE, jpeg_engine_util:DEVICE: means of the samples
  std::map<std::string, double> decode_share, encode_share;  // backend -> share of the window's decodes/encodes
  std::optional<double> decode_batch_mean;  // images per decode batch
  std::map<std::string, double> batcher_phases;  // phase -> decode batcher thread-seconds per second
};

// Scrapes at the start of the window (Begin), once a second (Sample) and at its end (End). One thread calls
// these; Figures() after End().
class ServerWindow {
 public:
  explicit ServerWindow(std::string hostport) : hostport_(std::move(hostport)) {}

  bool enabled() const { return !hostport_.empty(); }
  bool Begin() {
    std::optional<Scrape> s = Fetch();
    if (!s) return false;
    first_ = std::move(*s);
    began_ = Clock::now();
    return true;
  }
  // A gauge read at t covers about the second before t (the server samples NVML and its busy ratio once a
  // second), so samples are taken after Begin, not at it.
  void Sample() {
    if (std::optional<Scrape> s = Fetch()) AddGaugeSample(*s);
  }
  void End() {
    if (!began_) return;
    std::optional<Scrape> s = Fetch();
    if (!s) return;
    last_ = std::move(*s);
    ended_ = Clock::now();
    AddGaugeSample(*last_);
  }
  const std::string& last_error() const { return error_; }

  std::optional<ServerFigures> Figures() const {
    if (!began_ || !ended_) return std::nullopt;
    ServerFigures f;
    f.window_s = std::chrono::duration<double>(*ended_ - *began_).count();
    f.gauge_samples = gauge_samples_;
    if (f.window_s <= 0) return f;
    const Scrape& after = *last_;
    if (first_.count("process_cpu_seconds_total") && after.count("process_cpu_seconds_total")) {
      f.cpu_cores = Delta("process_cpu_seconds_total") / f.window_s;
    }
    for (const auto& [key, s] : after) {
      const auto device = s.labels.find("device");
      if (device == s.labels.end()) continue;
      if (s.name == "imgproc_worker_busy_seconds_total") {
        const auto workers = after.find(SeriesKey("imgproc_workers", {{"device", device->second}}));
        const double lanes = workers == after.end() ? 1.0 : std::max(1.0, workers->second.value);
        f.busy["worker_busy:" + device->second] = Delta(key) / (f.window_s * lanes);
      } else if (s.name == "imgproc_gpu_busy_seconds_total") {
        f.busy["gpu_busy:" + device->second] = Delta(key) / f.window_s;
      }
    }
    for (const auto& [name, sum] : gauge_sums_) f.gauges[name] = sum / gauge_counts_.at(name);
    f.decode_share = SharesByBackend("imgproc_decodes_total");
    f.encode_share = SharesByBackend("imgproc_encodes_total");
    const double batches = SumOfDeltas("imgproc_decode_batch_size_count");
    if (batches > 0) f.decode_batch_mean = SumOfDeltas("imgproc_decode_batch_size_sum") / batches;
    for (const auto& [key, s] : after) {
      const auto phase = s.labels.find("phase");
      if (s.name == "imgproc_decode_batcher_seconds_total" && phase != s.labels.end()) {
        f.batcher_phases[phase->second] += Delta(key) / f.window_s;
      }
    }
    return f;
  }

 private:
  using Clock = std::chrono::steady_clock;

  std::optional<Scrape> Fetch() {
    std::optional<std::string> body = HttpGetMetrics(hostport_, &error_);
    if (!body) return std::nullopt;
    return ParseExposition(*body);
  }
  void AddGaugeSample(const Scrape& s) {
    ++gauge_samples_;
    for (const auto& [key, series] : s) {
      const char* prefix = series.name == "imgproc_gpu_utilization_ratio"            ? "gpu_util:"
                           : series.name == "imgproc_jpeg_engine_utilization_ratio" ? "jpeg_engine_util:"
                                                                                      : nullptr;
      const auto device = series.labels.find("device");
      if (prefix == nullptr || device == series.labels.end()) continue;
      gauge_sums_[prefix + device->second] += series.value;
      gauge_counts_[prefix + device->second] += 1;
    }
  }
  // A series first seen at the end was created during the window, so it started from zero.
  double Delta(const std::string& key) const {
    const auto before = first_.find(key);
    const double delta = last_->at(key).value - (before == first_.end() ? 0.0 : before->second.value);
    return std::max(0.0, delta);  // a counter that went down means the server restarted: no figure from it
  }
  double SumOfDeltas(const std::string& name) const {
    double sum = 0;
    for (const auto& [key, s] : *last_) {
      if (s.name == name) sum += Delta(key);
    }
    return sum;
  }
  std::map<std::string, double> SharesByBackend(const std::string& name) const {
    std::map<std::string, double> by_backend;
    double total = 0;
    for (const auto& [key, s] : *last_) {
      if (s.name != name) continue;
      const auto backend = s.labels.find("backend");
      const double d = Delta(key);
      by_backend[backend == s.labels.end() ? "unknown" : backend->second] += d;
      total += d;
    }
    if (total <= 0) return {};
    for (auto& [backend, n] : by_backend) n /= total;
    return by_backend;
  }

  std::string hostport_;
  std::string error_;
  Scrape first_;
  std::optional<Scrape> last_;
  std::optional<Clock::time_point> began_, ended_;
  int gauge_samples_ = 0;
  std::map<std::string, double> gauge_sums_;
  std::map<std::string, int> gauge_counts_;
};

// The JSON object imgproc-load reports as "server"; fields the server does not export are left out.
inline std::string ServerFiguresJson(const ServerFigures& f) {
  std::string json = absl::StrFormat(R"({"window_s":%.3f,"gauge_samples":%d)", f.window_s, f.gauge_samples);
  if (f.cpu_cores) absl::StrAppendFormat(&json, R"(,"server_cpu_cores":%.3f)", *f.cpu_cores);
  for (const auto& [name, value] : f.gauges) absl::StrAppendFormat(&json, R"(,"%s":%.4f)", name, value);
  for (const auto& [field, shares] : {std::pair{"decode_backend_share", &f.decode_share},
                                      std::pair{"encode_backend_share", &f.encode_share}}) {
    if (shares->empty()) continue;
    absl::StrAppendFormat(&json, R"(,"%s":{)", field);
    bool first = true;
    for (const auto& [backend, share] : *shares) {
      absl::StrAppendFormat(&json, R"(%s"%s":%.4f)", first ? "" : ",", backend, share);
      first = false;
    }
    json += "}";
  }
  if (f.decode_batch_mean) absl::StrAppendFormat(&json, R"(,"decode_batch_mean":%.3f)", *f.decode_batch_mean);
  if (!f.batcher_phases.empty()) {
    json += R"(,"decode_batcher_busy":{)";
    bool first = true;
    for (const auto& [phase, busy] : f.batcher_phases) {
      absl::StrAppendFormat(&json, R"(%s"%s":%.4f)", first ? "" : ",", phase, busy);
      first = false;
    }
    json += "}";
  }
  return json + "}";
}

inline std::string ServerFiguresText(const ServerFigures& f) {
  std::string text = absl::StrFormat("Server over %.2f s (%d gauge samples):\n", f.window_s, f.gauge_samples);
  if (f.cpu_cores) absl::StrAppendFormat(&text, "  CPU cores busy:\t%.2f\n", *f.cpu_cores);
  for (const auto& [name, value] : f.busy) absl::StrAppendFormat(&text, "  %s\t%.1f%%\n", name, value * 100);
  for (const auto& [name, value] : f.gauges) absl::StrAppendFormat(&text, "  %s\t%.1f%%\n", name, value * 100);
  for (const auto& [what, shares] : {std::pair{"decodes", &f.decode_share}, std::pair{"encodes", &f.encode_share}}) {
    if (shares->empty()) continue;
    absl::StrAppendFormat(&text, "  %s by backend:", what);
    for (const auto& [backend, share] : *shares) absl::StrAppendFormat(&text, " %s %.1f%%", backend, share * 100);
    text += "\n";
  }
  if (f.decode_batch_mean) absl::StrAppendFormat(&text, "  decode batch mean:\t%.2f images\n", *f.decode_batch_mean);
  if (!f.batcher_phases.empty()) {
    text += "  decode batcher busy (threads):";
    for (const auto& [phase, busy] : f.batcher_phases) absl::StrAppendFormat(&text, " %s %.2f", phase, busy);
    text += "\n";
  }
  return text;
}

}  // namespace imgproc::load
