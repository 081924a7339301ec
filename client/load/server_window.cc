#include "server_window.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace imgproc::load {

bool ServerWindow::Begin() {
  std::optional<Scrape> s = Fetch();
  if (!s) return false;
  first_ = std::move(*s);
  began_ = Clock::now();
  return true;
}

void ServerWindow::Sample() {
  if (std::optional<Scrape> s = Fetch()) AddGaugeSample(*s);
}

void ServerWindow::End() {
  if (!began_) return;
  std::optional<Scrape> s = Fetch();
  if (!s) return;
  last_ = std::move(*s);
  ended_ = Clock::now();
  AddGaugeSample(*last_);
}

double ServerWindow::WindowSeconds() const {
  return began_ && ended_ ? std::chrono::duration<double>(*ended_ - *began_).count() : 0;
}

std::optional<ServerFigures> ServerWindow::Figures() const {
  if (!began_ || !ended_) return std::nullopt;
  ServerFigures f;
  const double window_s = WindowSeconds();
  f.set_window_s(window_s);
  f.set_gauge_samples(static_cast<uint32_t>(gauge_samples_));
  if (window_s <= 0) return f;
  if (first_.count("process_cpu_seconds_total") && last_->count("process_cpu_seconds_total")) {
    f.set_server_cpu_cores(Delta("process_cpu_seconds_total") / window_s);
  }
  for (const auto& [name, sum] : gauge_sums_) (*f.mutable_utilization())[name] = sum / gauge_counts_.at(name);
  for (const auto& [path, share] : SharesByPath("imgproc_decodes_total"))
    (*f.mutable_decode_path_share())[path] = share;
  for (const auto& [path, share] : SharesByPath("imgproc_encodes_total"))
    (*f.mutable_encode_path_share())[path] = share;
  const double batches = SumOfDeltas("imgproc_decode_batch_size_count");
  if (batches > 0) f.set_decode_batch_mean(SumOfDeltas("imgproc_decode_batch_size_sum") / batches);
  for (const auto& [key, s] : *last_) {
    const auto phase = s.labels.find("phase");
    if (s.name == "imgproc_decode_batcher_seconds_total" && phase != s.labels.end()) {
      (*f.mutable_decode_batcher_busy())[phase->second] += Delta(key) / window_s;
    }
  }
  return f;
}

std::map<std::string, double> ServerWindow::BusyRatios() const {
  std::map<std::string, double> busy;
  const double window_s = WindowSeconds();
  if (window_s <= 0) return busy;
  for (const auto& [key, s] : *last_) {
    const auto device = s.labels.find("device");
    if (device == s.labels.end()) continue;
    if (s.name == "imgproc_worker_busy_seconds_total") {
      const auto workers = last_->find(SeriesKey("imgproc_workers", {{"device", device->second}}));
      const double lanes = workers == last_->end() ? 1.0 : std::max(1.0, workers->second.value);
      busy["worker_busy:" + device->second] = Delta(key) / (window_s * lanes);
    } else if (s.name == "imgproc_gpu_busy_seconds_total") {
      busy["gpu_busy:" + device->second] = Delta(key) / window_s;
    }
  }
  return busy;
}

std::optional<ServerWindow::Scrape> ServerWindow::Fetch() {
  absl::StatusOr<std::string> body = HttpGet(hostport_, "/metrics");
  if (!body.ok()) {
    error_ = std::string(body.status().message());
    return std::nullopt;
  }
  return ParseExposition(*body);
}

void ServerWindow::AddGaugeSample(const Scrape& s) {
  ++gauge_samples_;
  for (const auto& [key, series] : s) {
    const char* prefix = series.name == "imgproc_gpu_utilization_ratio"           ? "gpu_util:"
                         : series.name == "imgproc_jpeg_engine_utilization_ratio" ? "jpeg_engine_util:"
                                                                                  : nullptr;
    const auto device = series.labels.find("device");
    if (prefix == nullptr || device == series.labels.end()) continue;
    gauge_sums_[prefix + device->second] += series.value;
    gauge_counts_[prefix + device->second] += 1;
  }
}

// A series first seen at the end was created during the window, so it started from zero.
double ServerWindow::Delta(const std::string& key) const {
  const auto before = first_.find(key);
  const double delta = last_->at(key).value - (before == first_.end() ? 0.0 : before->second.value);
  return std::max(0.0, delta);  // a counter that went down means the server restarted: no figure from it
}

double ServerWindow::SumOfDeltas(const std::string& name) const {
  double sum = 0;
  for (const auto& [key, s] : *last_) {
    if (s.name == name) sum += Delta(key);
  }
  return sum;
}

std::map<std::string, double> ServerWindow::SharesByPath(const std::string& name) const {
  std::map<std::string, double> by_path;
  double total = 0;
  for (const auto& [key, s] : *last_) {
    if (s.name != name) continue;
    const auto path = s.labels.find("path");
    const double d = Delta(key);
    by_path[path == s.labels.end() ? "unknown" : path->second] += d;
    total += d;
  }
  if (total <= 0) return {};
  for (auto& [path, n] : by_path) n /= total;
  return by_path;
}

std::string ServerFiguresText(const ServerFigures& f, const std::map<std::string, double>& busy) {
  std::string text = absl::StrFormat("Server over %.2f s (%d gauge samples):\n", f.window_s(), f.gauge_samples());
  if (f.has_server_cpu_cores()) absl::StrAppendFormat(&text, "  CPU cores busy:\t%.2f\n", f.server_cpu_cores());
  for (const auto& [name, value] : busy) absl::StrAppendFormat(&text, "  %s\t%.1f%%\n", name, value * 100);
  const std::map<std::string, double> utilization(f.utilization().begin(), f.utilization().end());
  for (const auto& [name, value] : utilization) absl::StrAppendFormat(&text, "  %s\t%.1f%%\n", name, value * 100);
  for (const auto& [what, shares] :
       {std::pair{"decodes", &f.decode_path_share()}, std::pair{"encodes", &f.encode_path_share()}}) {
    if (shares->empty()) continue;
    absl::StrAppendFormat(&text, "  %s by codec path:", what);
    for (const auto& [path, share] : std::map<std::string, double>(shares->begin(), shares->end())) {
      absl::StrAppendFormat(&text, " %s %.1f%%", path, share * 100);
    }
    text += "\n";
  }
  if (f.has_decode_batch_mean())
    absl::StrAppendFormat(&text, "  decode batch mean:\t%.2f images\n", f.decode_batch_mean());
  if (!f.decode_batcher_busy().empty()) {
    text += "  decode batcher busy (threads):";
    for (const auto& [phase, busy_threads] :
         std::map<std::string, double>(f.decode_batcher_busy().begin(), f.decode_batcher_busy().end())) {
      absl::StrAppendFormat(&text, " %s %.2f", phase, busy_threads);
    }
    text += "\n";
  }
  return text;
}

}  // namespace imgproc::load
