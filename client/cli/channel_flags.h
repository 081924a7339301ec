#pragma once
// The command-line flags that imgproc-cli and imgproc-load share for their channels: TLS (--tls, --tls_ca,
// --tls_cert, --tls_key) and load balancing (--round_robin).

#include "absl/status/status.h"
#include "imgproc/client.h"

namespace imgproc::cli {

// Sets options.tls and options.round_robin as the flags ask: TLS is off unless --tls or a --tls_* file is given.
// INVALID_ARGUMENT naming a flag whose file cannot be read, or when --tls_cert and --tls_key do not come together.
absl::Status ApplyChannelFlags(ClientOptions& options);

// --help and --helpshort list the tool's own flags, those defined under client/. Before ParseCommandLine. Abseil's
// default lists only flags of files named like the program or main.*: none for imgproc-cli (imgproc_cli.cc).
void ListClientFlagsInHelp();

}  // namespace imgproc::cli
