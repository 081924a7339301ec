#pragma once

#include <string>

#include "common/limits.h"
#include "imgproc/v1/imgproc.pb.h"
#include "scheduler/scheduler.h"

namespace imgproc {

// The GetServerInfo answer, assembled once at start-up from the registry, the pools and the limits.
imgproc::v1::GetServerInfoResponse BuildServerInfo(const Scheduler& scheduler, const ImageLimits& limits,
                                                   const std::string& backend, const std::string& backend_reason);

}  // namespace imgproc
