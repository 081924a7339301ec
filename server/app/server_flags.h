#pragma once
// The server's command line and environment: the one list of its flags, which --help shows, IMGPROC_<FLAG> sets
// and LoadServerConfig reads into a ServerConfig, a field (or a few of one struct) per flag.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "app/server_config.h"

namespace imgproc {

struct ServerFlag {
  ServerFlag(std::string name, bool from_environment = true, std::string replaced_by = "")
      : name(std::move(name)), from_environment(from_environment), replaced_by(std::move(replaced_by)) {}

  std::string name;
  // IMGPROC_<NAME> sets it too (the command line wins); false for the test hooks, which a deployment's environment
  // must never switch on.
  bool from_environment = true;
  // A deprecated spelling kept for one release: the flag that replaced it (a warning names it). Empty otherwise.
  std::string replaced_by;
};

// Every flag of the server, deprecated spellings included.
const std::vector<ServerFlag>& ServerFlags();

// "IMGPROC_CUDA_WORKERS" for "cuda_workers".
std::string EnvironmentVariableOf(absl::string_view flag);

// The environment (IMGPROC_<FLAG>), then the command line, which wins, read into a ServerConfig and checked as a
// whole: INVALID_ARGUMENT listing every problem (a value that does not parse, a deprecated spelling that contradicts
// its replacement, ValidateServerConfig's). Configures the log as the flags ask, so that the problems and the
// warnings (one per deprecated spelling used) are written in the format asked. --help prints and exits here.
absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv);

}  // namespace imgproc
