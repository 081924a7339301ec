#include "tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(bool, tls, false, "TLS with the system's CA certificates (implied by the other --tls_* flags)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates that sign the server's certificate (TLS)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate, for servers that require one (mutual TLS; with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");

namespace imgproc {

absl::StatusOr<ClientTls> ClientTlsFromFlags() {
  return ClientTlsFromFiles(absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_cert),
                            absl::GetFlag(FLAGS_tls_key));
}

}  // namespace imgproc
