#pragma once
// What every RPC handler of the service reads from its gRPC call the same way.

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"
#include "core/job.h"

namespace imgproc {

// The call's deadline on the steady clock, or Clock::time_point::max() for none.
Clock::time_point SteadyDeadline(const grpc::CallbackServerContext* context);

// Debug: one line per request. Warning: a request the server failed (INTERNAL, UNKNOWN, DATA_LOSS: not the
// client's doing), so that such failures show at the default level, with the request id to find them by.
void LogRequest(const char* method, const std::string& request_id, const absl::Status& status, int64_t micros);

// Who is calling, for per-client bounds: the peer's address without its port ("ipv4:127.0.0.1", "ipv6:[::1]", a
// unix socket's path), so that one client's connections count together.
std::string ClientOf(const grpc::CallbackServerContext* context);

}  // namespace imgproc
