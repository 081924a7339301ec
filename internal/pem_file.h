#pragma once
// Reading PEM files for TLS: the server's --tls_* flags, the client library's ClientTlsFromFiles and the command-line
// tools' --tls_* flags. Here, outside server/ and client/, because the server and the client must not depend on each
// other and one reader keeps their checks and messages alike; installed with neither.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace imgproc {

// The text of the PEM file at `path`; INVALID_ARGUMENT naming the path when it cannot be read or holds no PEM block:
// gRPC itself would only say "Invalid private key" or fail a handshake later.
inline absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "': ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' holds no PEM block"));
  }
  return text.str();
}

// The same for a path a command-line flag gave: the message starts with the flag ("--tls_key: cannot read ...").
inline absl::StatusOr<std::string> ReadPemFileOfFlag(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> text = ReadPemFile(path);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat(flag, ": ", text.status().message()));
  return text;
}

}  // namespace imgproc
