#pragma once
// Reading PEM files for TLS, shared by the server's --tls_* flags and the clients'.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace imgproc {

// The text of the PEM file at `path`; INVALID_ARGUMENT naming `flag` (where the path came from) when it cannot be
// read or holds no PEM block: gRPC itself would only say "Invalid private key" or fail a handshake later.
inline absl::StatusOr<std::string> ReadPemFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "': ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": '", path, "' holds no PEM block"));
  }
  return text.str();
}

}  // namespace imgproc
