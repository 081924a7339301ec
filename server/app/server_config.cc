#include "app/server_config.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace imgproc {

absl::Status ValidateServerConfig(const ServerConfig& config) {
  std::vector<std::string> problems;
  if (config.cpu_devices < 1 || config.cpu_devices > 64) {
    problems.push_back(absl::StrCat("--cpu_devices must be in [1, 64] (got ", config.cpu_devices, ")"));
  }
  if (config.limits.max_batch_images < 1) {
    problems.push_back(
        absl::StrCat("--max_batch_images must be at least 1 (got ", config.limits.max_batch_images, ")"));
  }
  if (config.max_cuda_shared_memory_regions_per_client < 1) {
    problems.push_back(absl::StrCat("--max_cuda_shared_memory_regions_per_client must be at least 1 (got ",
                                    config.max_cuda_shared_memory_regions_per_client, ")"));
  }
  if (config.sm_decode_share > 1 || (config.sm_decode_share < 0 && config.sm_decode_share != -1)) {
    problems.push_back(
        absl::StrCat("--sm_decode_share must be -1 (adaptive) or in [0, 1] (got ", config.sm_decode_share, ")"));
  }
  if (config.sm_decode_threads < 0) {
    problems.push_back(absl::StrCat("--sm_decode_threads must be at least 0 (got ", config.sm_decode_threads, ")"));
  }
  const ServerTlsFiles& tls = config.tls;
  if (tls.certificate_chain.empty() != tls.private_key.empty()) {
    problems.push_back("--tls_cert and --tls_key go together: give both or neither");
  } else if (tls.certificate_chain.empty() && !tls.client_ca.empty()) {
    problems.push_back("--tls_client_ca needs --tls_cert and --tls_key");
  }
#if IMGPROC_TEST_FAULT_INJECTION
  if (config.test_faults.kind == TestFaultInjection::Kind::kIllegalAddress && config.backend != BackendChoice::kCuda) {
    problems.push_back("--test_fault_injection=illegal_address_after needs --backend=cuda");
  }
#endif
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
}

}  // namespace imgproc
