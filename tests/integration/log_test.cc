// The server's log as a cluster's log stack reads it: --log_format=json gives one JSON object per stdout line,
// --log_level=debug one line per request with its request id, the default level none.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "imgproc_testing/server_process.h"

namespace imgproc::testing {
namespace {

namespace pb = imgproc::v1;

// The lines that mention `needle`, waiting up to two seconds for one to appear (the server writes it after answering).
std::vector<std::string> LinesWith(const ServerProcess& server, const std::string& needle) {
  std::vector<std::string> found;
  for (int i = 0; i < 40 && found.empty(); ++i) {
    for (const std::string& line : server.output_lines()) {
      if (line.find(needle) != std::string::npos) found.push_back(line);
    }
    if (found.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return found;
}

TEST(LogTest, JsonLinesWithOneLinePerRequestAtDebug) {
  ServerProcess server({"--log_format=json", "--log_level=debug"});
  ASSERT_TRUE(server.started());
  const std::regex object(
      R"re(^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","level":"(debug|info|warning|error)","message":"([^"\\]|\\.)*"(,"request_id":"([^"\\]|\\.)*")?\}\n?$)re");
  ASSERT_FALSE(server.start_lines().empty());
  for (const std::string& line : server.start_lines()) EXPECT_TRUE(std::regex_match(line, object)) << line;

  pb::ProcessRequest request = SmallFlipRequest();
  request.set_request_id("log-test \"7\"");
  ASSERT_TRUE(CallProcess(*server.NewStub(), request).ok());
  std::vector<std::string> lines = LinesWith(server, R"("request_id":"log-test \"7\"")");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(lines[0], object)) << lines[0];
  EXPECT_NE(lines[0].find(R"("level":"debug","message":"Process OK in )"), std::string::npos) << lines[0];

  request.set_image("not an image");
  request.set_request_id("log-test-bad");
  EXPECT_EQ(CallProcess(*server.NewStub(), request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  lines = LinesWith(server, R"("request_id":"log-test-bad")");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("Process INVALID_ARGUMENT in "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("unrecognized image format"), std::string::npos) << lines[0];
  for (const std::string& line : server.output_lines()) EXPECT_TRUE(std::regex_match(line, object)) << line;
}

TEST(LogTest, TheDefaultIsTextWithoutRequestLines) {
  ServerProcess server;
  ASSERT_TRUE(server.started());
  const std::regex text(R"re(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (DEBUG|INFO |WARN |ERROR) .+\n?$)re");
  for (const std::string& line : server.start_lines()) EXPECT_TRUE(std::regex_match(line, text)) << line;
  EXPECT_NE(server.first_line().find(" INFO  imgproc "), std::string::npos) << server.first_line();
  pb::ProcessRequest request = SmallFlipRequest();
  request.set_request_id("quiet");
  ASSERT_TRUE(CallProcess(*server.NewStub(), request).ok());
  // The server answered before this point; a debug line would have been written before the answer was sent.
  for (const std::string& line : server.output_lines()) EXPECT_EQ(line.find("quiet"), std::string::npos) << line;
}

}  // namespace
}  // namespace imgproc::testing
