#include "transport/tls.h"

#include <grpcpp/security/server_credentials.h>

#include "pem_file.h"

namespace imgproc {

absl::StatusOr<ServerTls> ServerTlsFrom(const ServerTlsFiles& files) {
  if (files.certificate_chain.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together: give both or neither");
  }
  if (files.certificate_chain.empty()) {
    if (!files.client_ca.empty()) return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    return ServerTls{grpc::InsecureServerCredentials(), "plaintext"};
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> chain = ReadPemFileOfFlag(files.certificate_chain, "--tls_cert");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadPemFileOfFlag(files.private_key, "--tls_key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(chain);
  pair.private_key = *std::move(key);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (files.client_ca.empty()) return ServerTls{grpc::SslServerCredentials(options), "TLS"};
  absl::StatusOr<std::string> ca = ReadPemFileOfFlag(files.client_ca, "--tls_client_ca");
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *std::move(ca);
  // A client without a certificate, or with one the CA did not sign, fails the handshake.
  options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  return ServerTls{grpc::SslServerCredentials(options), "mutual TLS"};
}

}  // namespace imgproc
