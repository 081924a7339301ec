#include "channel_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(bool, tls, false, "TLS with the system's CA certificates (implied by the other --tls_* flags)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates that sign the server's certificate (TLS)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for servers that require one (mutual TLS; with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");
ABSL_FLAG(bool, round_robin, false,
          "spread calls over every address of --target (e.g. dns:///name:50051 of a headless Service, or "
          "ipv4:10.0.0.1:50051,10.0.0.2:50051) instead of using the first that connects");

namespace imgproc {

absl::Status ApplyChannelFlags(ClientOptions& options) {
  absl::StatusOr<ClientTls> tls = ClientTlsFromFiles(absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_tls_ca),
                                                     absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key));
  if (!tls.ok()) return tls.status();
  options.tls = *std::move(tls);
  options.round_robin = absl::GetFlag(FLAGS_round_robin);
  return absl::OkStatus();
}

}  // namespace imgproc
