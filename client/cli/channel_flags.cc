#include "cli/channel_flags.h"

#include <string>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "pem_file.h"

ABSL_FLAG(bool, tls, false, "TLS with the system's CA certificates (implied by the other --tls_* flags)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates that sign the server's certificate (TLS)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for servers that require one (mutual TLS; with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");
ABSL_FLAG(bool, round_robin, false,
          "spread calls over every address of --target (e.g. dns:///name:50051 of a headless Service, or "
          "ipv4:10.0.0.1:50051,10.0.0.2:50051) instead of using the first that connects");

namespace imgproc::cli {

absl::Status ApplyChannelFlags(ClientOptions& options) {
  // The files are read here rather than by the library's ClientTlsFromFiles so that an error names the flag, which
  // the library, knowing only paths, cannot.
  const std::string ca = absl::GetFlag(FLAGS_tls_ca), cert = absl::GetFlag(FLAGS_tls_cert),
                    key = absl::GetFlag(FLAGS_tls_key);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together: give both or neither");
  }
  ClientTls tls;
  tls.enabled = absl::GetFlag(FLAGS_tls) || !ca.empty() || !cert.empty() || !key.empty();
  for (auto [path, flag, pem] :
       {std::tuple{&ca, "--tls_ca", &tls.root_certificates}, std::tuple{&cert, "--tls_cert", &tls.certificate_chain},
        std::tuple{&key, "--tls_key", &tls.private_key}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text = ReadPemFileOfFlag(*path, flag);
    if (!text.ok()) return text.status();
    *pem = *std::move(text);
  }
  options.tls = std::move(tls);
  options.round_robin = absl::GetFlag(FLAGS_round_robin);
  return absl::OkStatus();
}

void ListClientFlagsInHelp() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) { return absl::StrContains(file, "/client/"); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace imgproc::cli
