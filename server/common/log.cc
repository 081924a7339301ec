#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace imgproc {

namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<LogFormat> log_format{LogFormat::kText};
Mutex write_mu;

// RFC 3339 in UTC with microseconds: what log stacks parse without configuration.
std::string Timestamp(int64_t unix_micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(unix_micros), absl::UTCTimeZone());
}

// A JSON string's contents: quotes, backslashes and control characters escaped; other bytes as they are (the
// messages are UTF-8 or ASCII; a request id is a proto3 string, so UTF-8).
void AppendJsonEscaped(std::string& out, absl::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat("a log level is debug, info, warning or error (got '", name, "')"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("a log format is text or json (got '", name, "')"));
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void ConfigureLog(LogLevel level, LogFormat format) {
  min_level.store(static_cast<int>(level));
  log_format.store(format);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed); }

std::string FormatLogLine(LogFormat format, LogLevel level, int64_t unix_micros, absl::string_view message,
                          absl::string_view request_id) {
  if (format == LogFormat::kText) {
    static constexpr const char* kTextLevels[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    std::string line = absl::StrCat(Timestamp(unix_micros), " ", kTextLevels[static_cast<int>(level)], " ", message);
    if (!request_id.empty()) absl::StrAppend(&line, " [request_id ", request_id, "]");
    return line;
  }
  std::string line =
      absl::StrCat("{\"time\":\"", Timestamp(unix_micros), "\",\"level\":\"", LogLevelName(level), "\",\"message\":\"");
  AppendJsonEscaped(line, message);
  line += '"';
  if (!request_id.empty()) {
    line += ",\"request_id\":\"";
    AppendJsonEscaped(line, request_id);
    line += '"';
  }
  line += '}';
  return line;
}

void WriteLog(LogLevel level, absl::string_view message, absl::string_view request_id) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(log_format.load(std::memory_order_relaxed), level, absl::ToUnixMicros(absl::Now()),
                                   message, request_id);
  line += '\n';
  FILE* stream = level >= LogLevel::kWarning ? stderr : stdout;
  MutexLock lock(&write_mu);
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fflush(stream);  // a line is seen when it happens, by a pipe too (tests, kubectl logs)
}

}  // namespace imgproc
