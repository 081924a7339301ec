#pragma once
// The server's log: one line per event, leveled, as text for a terminal or as JSON for a cluster's log stack
// (Kubernetes collects a container's stdout and stderr; Loki, Elasticsearch and Cloud Logging parse JSON lines).
//
//   text: 2026-12-07T13:20:00.123456Z INFO  imgproc 1.4 listening on 127.0.0.1:50051 ...
//   json: {"time":"2026-12-07T13:20:00.123456Z","level":"info","message":"...","request_id":"..."}
//
// Info and debug lines go to stdout, warnings and errors to stderr, as the server printed before it had a logger
// (scripts and tests read the start lines from stdout). A line is written with one call under a lock, so lines
// from different threads never interleave.
//
//   IMGPROC_LOG(kWarning) << device << ": JPEG engine unavailable: " << status.message();
//   IMGPROC_LOG(kDebug).RequestId(id) << "Process OK in " << ms << " ms";
//
// A line below the configured level costs one comparison: its stream operands are not evaluated.

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace imgproc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// "debug", "info", "warning", "error"; "text", "json". INVALID_ARGUMENT naming the choices otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);
const char* LogLevelName(LogLevel level);

// Set once at start-up, before threads log; the defaults are info and text.
void ConfigureLog(LogLevel min_level, LogFormat format);
bool LogEnabled(LogLevel level);

// Writes one line now (when `level` is enabled). `request_id` empty: none.
void WriteLog(LogLevel level, absl::string_view message, absl::string_view request_id = {});

// The formatted line without its newline, at `unix_micros` (tests).
std::string FormatLogLine(LogFormat format, LogLevel level, int64_t unix_micros, absl::string_view message,
                          absl::string_view request_id);

// A line built with <<, written when it goes out of scope.
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine() { WriteLog(level_, text_.str(), request_id_); }

  LogLine& RequestId(absl::string_view id) {
    request_id_ = std::string(id);
    return *this;
  }
  template <typename T>
  LogLine& operator<<(const T& value) {
    text_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream text_;
  std::string request_id_;
};

}  // namespace imgproc

// `level` is a LogLevel enumerator's name: IMGPROC_LOG(kInfo) << "...";
#define IMGPROC_LOG(level)                                  \
  if (!::imgproc::LogEnabled(::imgproc::LogLevel::level)) { \
  } else                                                    \
    ::imgproc::LogLine(::imgproc::LogLevel::level)
