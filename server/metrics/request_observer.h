#pragma once

#include <cstddef>

#include "absl/status/statusor.h"
#include "core/job.h"

namespace imgproc {

// Sees every request's outcome at the edge (transport), for metrics. Must not block.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequestStart(const char* method) = 0;
  virtual void OnRequestDone(const char* method, size_t bytes_in, const absl::StatusOr<JobResult>& result,
                             int64_t duration_us) = 0;
  // What ProcessStream calls hold (requests read and not yet answered, answers not yet written) changed by `delta`.
  virtual void OnStreamHeldBytes(int64_t delta) = 0;
};

}  // namespace imgproc
