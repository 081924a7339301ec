#include "transport/tls.h"

#include <grpcpp/security/server_credentials.h>

#include "pem_file.h"

namespace imgproc {

absl::StatusOr<ServerTls> ServerTlsFrom(const ServerTlsFiles& files) {
  if (files.certificate_chain.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError("a TLS certificate chain and its private key go together: give both or neither");
  }
  if (files.certificate_chain.empty()) {
    if (!files.client_ca.empty()) {
      return absl::InvalidArgumentError("client CA certificates (mutual TLS) need a certificate chain and its key");
    }
    return ServerTls{grpc::InsecureServerCredentials(), "plaintext"};
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> chain = ReadPemFileOfFlag(files.certificate_chain, "TLS certificate chain");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadPemFileOfFlag(files.private_key, "TLS private key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(chain);
  pair.private_key = *std::move(key);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (files.client_ca.empty()) return ServerTls{grpc::SslServerCredentials(options), "TLS"};
  absl::StatusOr<std::string> ca = ReadPemFileOfFlag(files.client_ca, "TLS client CA certificates");
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *std::move(ca);
  // A client without a certificate, or with one the CA did not sign, fails the handshake.
  options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  return ServerTls{grpc::SslServerCredentials(options), "mutual TLS"};
}

}  // namespace imgproc
