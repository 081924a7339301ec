#pragma once
// The server's own figures over imgproc-load's measured window, read from its Prometheus /metrics: counters
// as the difference between the window's first and last scrape, gauges as the mean of one sample a second.

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "load_report.pb.h"
#include "metrics_scrape.h"

namespace imgproc::load {

// Scrapes at the start of the window (Begin), once a second (Sample) and at its end (End). One thread calls
// these; Figures() and BusyRatios() after End().
class ServerWindow {
 public:
  explicit ServerWindow(std::string hostport) : hostport_(std::move(hostport)) {}

  bool enabled() const { return !hostport_.empty(); }
  bool Begin();
  // A gauge read at t covers about the second before t (the server samples NVML and its busy ratio once a
  // second), so samples are taken after Begin, not at it.
  void Sample();
  void End();
  const std::string& last_error() const { return error_; }

  // Null unless both ends of the window were scraped.
  std::optional<ServerFigures> Figures() const;
  // worker_busy:DEVICE (busy seconds over the device's workers) and gpu_busy:DEVICE, per second of the window.
  std::map<std::string, double> BusyRatios() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Scrape = std::map<std::string, Series>;

  std::optional<Scrape> Fetch();
  void AddGaugeSample(const Scrape& s);
  double WindowSeconds() const;
  double Delta(const std::string& key) const;
  double SumOfDeltas(const std::string& name) const;
  // Each value of a counter's `path` label (imgproc_decodes_total, imgproc_encodes_total) -> its share of the window.
  std::map<std::string, double> SharesByPath(const std::string& name) const;

  std::string hostport_;
  std::string error_;
  Scrape first_;
  std::optional<Scrape> last_;
  std::optional<Clock::time_point> began_, ended_;
  int gauge_samples_ = 0;
  std::map<std::string, double> gauge_sums_;
  std::map<std::string, int> gauge_counts_;
};

// The figures as lines for the text report.
std::string ServerFiguresText(const ServerFigures& f, const std::map<std::string, double>& busy);

}  // namespace imgproc::load
