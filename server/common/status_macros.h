#pragma once
// Errors are absl::Status values, mapped to gRPC codes at the edge (transport/); this is their one macro.

#include "absl/status/status.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define IMGPROC_RETURN_IF_ERROR(expr)  \
  do {                                 \
    absl::Status _status = (expr);     \
    if (!_status.ok()) return _status; \
  } while (false)
