#pragma once
// Reading a Prometheus /metrics endpoint: one bounded HTTP GET and a parser of the text exposition format.
// Shared by imgproc-load (the server's figures over its measured window) and the tests (what the server
// exports). Plain HTTP/1.0 over a socket: the endpoint is the server's own, on a trusted network.

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace imgproc {

// GET http://HOST:PORT<path> (HOST a name, an IPv4 address or [IPv6]); the body of a 200 answer. UNAVAILABLE
// when nothing answers, FAILED_PRECONDITION for another status, INVALID_ARGUMENT for a bad address. `timeout`
// bounds the connect and each send and receive.
absl::StatusOr<std::string> HttpGet(const std::string& hostport, const std::string& path,
                                    absl::Duration timeout = absl::Seconds(5));

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// `name{a="x",b="y"}`, labels sorted by name (as prometheus-cpp writes them), so that a series matches across
// scrapes whatever order its labels came in.
std::string SeriesKey(const std::string& name, const std::map<std::string, std::string>& labels = {});

// Every sample of the text format, by SeriesKey: `name{label="value",...} value [timestamp]`; label values
// may hold escapes, braces, commas and spaces; comments and malformed lines are skipped.
std::map<std::string, Series> ParseExposition(const std::string& text);

}  // namespace imgproc
