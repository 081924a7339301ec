#pragma once

#include <map>
#include <string>

#include "metrics_scrape.h"

namespace imgproc::testing {

// GET http://127.0.0.1:<port><path>; returns the body, or "" with `error` set.
std::string HttpGet(int port, const std::string& path, std::string* error = nullptr);

// A TCP connection to 127.0.0.1:<port> (-1 if refused) with a receive timeout; the caller closes it.
int ConnectLoopback(int port, int receive_timeout_s = 10);
// Sends `request` as it is on a new connection and returns all that comes back until the server closes it.
std::string HttpExchange(int port, const std::string& request);

// Prometheus text format: SeriesKey(name, labels) -> value (client/metrics_scrape.h, which imgproc-load uses
// too).
std::map<std::string, double> ParseMetrics(const std::string& text);
using ::imgproc::SeriesKey;

// The sum of a metric's series in the server's exposition on `metrics_port` (0 when absent).
double MetricSum(int metrics_port, const std::string& name);

// Waits (up to 30 s) until the server's requests in flight and queued reach these counts, so that what a test
// sends next meets a known state instead of one guessed from sleeps (those failed about once in eight runs at
// ctest -j2). False, after printing the state it saw, if they never do.
bool WaitForServerState(int metrics_port, double in_flight, double queued);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace imgproc::testing
