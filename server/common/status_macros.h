#pragma once
// Errors are absl::Status values, mapped to gRPC codes at the edge (transport/); these are their two macros.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define IMGPROC_RETURN_IF_ERROR(expr)  \
  do {                                 \
    absl::Status _status = (expr);     \
    if (!_status.ok()) return _status; \
  } while (false)

// `lhs = value of expr` when `expr` (an absl::StatusOr) holds one; otherwise returns its status from the
// enclosing function. `lhs` may declare a variable: IMGPROC_ASSIGN_OR_RETURN(auto image, Decode(bytes));
#define IMGPROC_ASSIGN_OR_RETURN(lhs, expr) \
  IMGPROC_ASSIGN_OR_RETURN_IMPL(IMGPROC_STATUS_MACROS_CONCAT(_status_or_, __LINE__), lhs, expr)

#define IMGPROC_ASSIGN_OR_RETURN_IMPL(status_or, lhs, expr)  \
  auto status_or = (expr);                                   \
  if (!status_or.ok()) return std::move(status_or).status(); \
  lhs = std::move(status_or).value()

#define IMGPROC_STATUS_MACROS_CONCAT(a, b) IMGPROC_STATUS_MACROS_CONCAT_INNER(a, b)
#define IMGPROC_STATUS_MACROS_CONCAT_INNER(a, b) a##b
