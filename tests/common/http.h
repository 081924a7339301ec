#pragma once

#include <map>
#include <string>

namespace imgproc::testing {

// GET http://127.0.0.1:<port><path>; returns the body, or "" with `error` set.
std::string HttpGet(int port, const std::string& path, std::string* error = nullptr);

// Prometheus text format: "name{a="x",b="y"}" -> value, labels as the exposition wrote them.
std::map<std::string, double> ParseMetrics(const std::string& text);
// The key ParseMetrics uses, labels sorted by name as prometheus-cpp writes them.
std::string SeriesKey(const std::string& name, std::map<std::string, std::string> labels = {});

// The sum of a metric's series in the server's exposition on `metrics_port` (0 when absent).
double MetricSum(int metrics_port, const std::string& name);

// Waits (up to 30 s) until the server's requests in flight and queued reach these counts, so that what a test
// sends next meets a known state instead of one guessed from sleeps (those failed about once in eight runs at
// ctest -j2). False, after printing the state it saw, if they never do.
bool WaitForServerState(int metrics_port, double in_flight, double queued);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace imgproc::testing
