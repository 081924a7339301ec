// imgproc server: the configuration from flags and environment (app/server_flags.h), checked, then run
// (app/server_run.h).
#include "absl/synchronization/mutex.h"
#include "app/server_config.h"
#include "app/server_flags.h"
#include "app/server_run.h"
#include "common/log.h"

int main(int argc, char** argv) {
#ifdef NDEBUG
  // Debian builds Abseil without NDEBUG, which leaves its Mutex checking every acquisition against a process-wide
  // lock-order graph behind one global lock: a cost to each request's locks on every thread (GraphCycles in a
  // profile of the server under W4) that only a debug build wants.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  const absl::StatusOr<imgproc::ServerConfig> config = imgproc::LoadServerConfig(argc, argv);
  if (!config.ok()) {
    IMGPROC_LOG(kError) << config.status().message();
    return imgproc::kExitBadConfiguration;
  }
  return imgproc::RunServer(*config);
}
