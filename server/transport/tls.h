#pragma once
// TLS for the gRPC port, from PEM files: the server's certificate chain and key, and optionally the CA whose
// certificates clients must present (mutual TLS). Without a certificate and key the port speaks plaintext.

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace imgproc {

struct ServerTlsFiles {
  std::string certificate_chain;  // --tls_cert
  std::string private_key;        // --tls_key
  std::string client_ca;          // --tls_client_ca; empty: clients are not asked for a certificate
};

struct ServerTls {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::string description;  // "plaintext", "TLS" or "mutual TLS", for the start line
};

// INVALID_ARGUMENT when only one of certificate and key is given, or a file cannot be read or holds no PEM block
// (naming the file and what it was to hold).
absl::StatusOr<ServerTls> ServerTlsFrom(const ServerTlsFiles& files);

}  // namespace imgproc
