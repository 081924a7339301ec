// The server's configuration (server/app/): one list of flags that --help, the environment and the ServerConfig all
// use, and a check that lists every problem at once. Linked with imgproc-server-testing's app/, so the test-only
// flag is among the registered ones.
#include "app/server_config.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "app/server_flags.h"

namespace imgproc::testing {
namespace {

// Each flag that server/ registers is in the list, once, with one IMGPROC_<FLAG>: a flag added without a row would
// have no environment variable and no config field.
TEST(ServerFlagsTest, TheListHoldsEveryFlagTheServerRegistersOnce) {
  std::set<std::string> listed, variables;
  for (const ServerFlag& flag : ServerFlags()) {
    EXPECT_TRUE(listed.insert(flag.name).second) << flag.name << " is listed twice";
    EXPECT_TRUE(variables.insert(EnvironmentVariableOf(flag.name)).second) << flag.name;
    EXPECT_NE(absl::FindCommandLineFlag(flag.name), nullptr) << flag.name << " is listed but not registered";
  }
  int registered = 0;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "server/")) continue;
    ++registered;
    EXPECT_EQ(listed.count(std::string(name)), 1u) << name << " (" << flag->Filename() << ") is not in ServerFlags()";
  }
  EXPECT_EQ(registered, static_cast<int>(listed.size()));
  EXPECT_TRUE(listed.count("test_fault_injection")) << "imgproc-server-testing's app/ has the test-only flag";
}

TEST(ServerFlagsTest, OnlyTheTestHooksStayOutOfTheEnvironmentAndEachOldSpellingNamesAFlag) {
  std::set<std::string> command_line_only;
  for (const ServerFlag& flag : ServerFlags()) {
    if (!flag.from_environment) command_line_only.insert(flag.name);
    if (!flag.replaced_by.empty()) {
      EXPECT_NE(absl::FindCommandLineFlag(flag.replaced_by), nullptr) << flag.name << " -> " << flag.replaced_by;
    }
  }
  EXPECT_EQ(command_line_only, (std::set<std::string>{"memory_limit_root", "test_fault_injection"}));
  EXPECT_EQ(EnvironmentVariableOf("cuda_workers"), "IMGPROC_CUDA_WORKERS");
}

TEST(ServerConfigTest, TheDefaultsAreValidAndEveryProblemIsListed) {
  EXPECT_TRUE(ValidateServerConfig(ServerConfig()).ok());
  for (double share : {-1.0, 0.0, 0.35, 1.0}) {
    ServerConfig sharing;
    sharing.sm_decode_share = share;
    EXPECT_TRUE(ValidateServerConfig(sharing).ok()) << share;
  }
  ServerConfig below;
  below.sm_decode_share = -0.5;
  EXPECT_FALSE(ValidateServerConfig(below).ok());
  ServerConfig config;
  config.cpu_devices = 0;
  config.tls.client_ca = "ca.pem";
  config.test_faults.kind = TestFaultInjection::Kind::kIllegalAddress;
  config.sm_decode_share = 1.5;
  config.sm_decode_threads = -2;
  const absl::Status status = ValidateServerConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  for (const char* problem :
       {"--cpu_devices must be in [1, 64] (got 0)", "--tls_client_ca needs --tls_cert",
        "illegal_address_after needs --backend=cuda", "--sm_decode_share must be -1 (adaptive) or in [0, 1] (got 1.5)",
        "--sm_decode_threads must be at least 0 (got -2)"}) {
    EXPECT_TRUE(absl::StrContains(status.message(), problem)) << problem << " in " << status.message();
  }
}

}  // namespace
}  // namespace imgproc::testing
