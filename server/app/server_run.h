#pragma once
// Runs the server a ServerConfig describes, from the devices to the gRPC port, until a signal or the loss of every
// device stops it.

#include "app/server_config.h"

namespace imgproc {

// The process's exit codes (README.md, "Device failure"): an operator tells a failed GPU from a misconfiguration.
inline constexpr int kExitStopped = 0;
inline constexpr int kExitCouldNotStart = 1;
inline constexpr int kExitBadConfiguration = 2;
inline constexpr int kExitNoUsableDevice = 3;

// Blocks SIGINT and SIGTERM (call it before any thread starts), serves, and on SIGTERM/SIGINT drains and stops in
// order; returns the exit code. When no device is left in service it ends the process itself with
// kExitNoUsableDevice (std::_Exit: the CUDA runtime's teardown on a broken context could crash and hide the code).
int RunServer(const ServerConfig& config);

}  // namespace imgproc
