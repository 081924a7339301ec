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

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace imgproc::testing
