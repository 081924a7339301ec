#include "transport/call_context.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace imgproc {

Clock::time_point SteadyDeadline(const grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  const auto now = std::chrono::system_clock::now();
  if (deadline - now > std::chrono::hours(24 * 365)) return Clock::time_point::max();  // no deadline
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(deadline - now);
}

void LogRequest(const char* method, const std::string& request_id, const absl::Status& status, int64_t micros) {
  const bool server_fault = status.code() == absl::StatusCode::kInternal ||
                            status.code() == absl::StatusCode::kUnknown || status.code() == absl::StatusCode::kDataLoss;
  const LogLevel level = server_fault ? LogLevel::kWarning : LogLevel::kDebug;
  if (!LogEnabled(level)) return;
  LogLine(level).RequestId(request_id) << method << " " << absl::StatusCodeToString(status.code()) << " in "
                                       << micros / 1000.0 << " ms" << (status.ok() ? "" : ": ") << status.message();
}

std::string ClientOf(const grpc::CallbackServerContext* context) {
  std::string peer = context->peer();
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    if (const size_t colon = peer.rfind(':'); colon != std::string::npos && colon > 4) peer.resize(colon);
  }
  return peer;
}

}  // namespace imgproc
