// imgproc server: the configuration from flags and environment (app/server_flags.h), checked, then run
// (app/server_run.h).
#include "app/server_config.h"
#include "app/server_flags.h"
#include "app/server_run.h"
#include "common/log.h"

int main(int argc, char** argv) {
  const absl::StatusOr<imgproc::ServerConfig> config = imgproc::LoadServerConfig(argc, argv);
  if (!config.ok()) {
    IMGPROC_LOG(kError) << config.status().message();
    return imgproc::kExitBadConfiguration;
  }
  return imgproc::RunServer(*config);
}
