// The server's log lines (server/common/log.h): the text and JSON forms, JSON's escaping, and the flag values.
#include "common/log.h"

#include <gtest/gtest.h>

namespace imgproc::testing {
namespace {

constexpr int64_t kNoon = 1796644800123456;  // 2026-12-07T12:00:00.123456Z

TEST(LogTest, TextLinesCarryTimeLevelMessageAndTheRequestId) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kInfo, kNoon, "listening on 127.0.0.1:50051", ""),
            "2026-12-07T12:00:00.123456Z INFO  listening on 127.0.0.1:50051");
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kWarning, kNoon, "slow", "r-1"),
            "2026-12-07T12:00:00.123456Z WARN  slow [request_id r-1]");
}

TEST(LogTest, JsonLinesAreOneObjectWithEverythingEscaped) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, LogLevel::kError, kNoon, "cannot listen", ""),
            R"({"time":"2026-12-07T12:00:00.123456Z","level":"error","message":"cannot listen"})");
  // Quotes, backslashes, newlines and other control characters stay inside the string; a request id is a client's
  // string and is escaped the same way.
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, LogLevel::kDebug, kNoon, "a \"b\"\\c\nd\x01", "id\"\t"),
            R"({"time":"2026-12-07T12:00:00.123456Z","level":"debug","message":"a \"b\"\\c\nd\u0001",)"
            R"("request_id":"id\"\t"})");
}

TEST(LogTest, FlagValuesParseOrNameTheChoices) {
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogLevel("loud").status().message(), "a log level is debug, info, warning or error (got 'loud')");
  EXPECT_EQ(ParseLogFormat("xml").status().message(), "a log format is text or json (got 'xml')");
}

TEST(LogTest, LinesBelowTheLevelAreNotEvaluated) {
  ConfigureLog(LogLevel::kWarning, LogFormat::kText);
  int evaluated = 0;
  IMGPROC_LOG(kInfo) << ++evaluated;
  EXPECT_EQ(evaluated, 0);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ConfigureLog(LogLevel::kInfo, LogFormat::kText);
}

}  // namespace
}  // namespace imgproc::testing
