#pragma once
// The command-line TLS flags that imgproc_cli and imgproc-load share: --tls, --tls_ca, --tls_cert, --tls_key.

#include "absl/status/statusor.h"
#include "imgproc/client.h"

namespace imgproc {

// TLS as the flags ask: off unless --tls or a --tls_* file is given; INVALID_ARGUMENT naming a flag whose file
// cannot be read, or when --tls_cert and --tls_key do not come together.
absl::StatusOr<ClientTls> ClientTlsFromFlags();

}  // namespace imgproc
