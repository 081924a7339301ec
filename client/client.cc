#include "imgproc/client.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pem_file.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

namespace {

// absl and gRPC share the canonical codes, so the code passes as it is; the message is the server's.
absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// gRPC caps a retry policy's maxAttempts at 5; the library's own retries keep to the same.
int Attempts(const ClientOptions& options) { return std::clamp(options.max_attempts, 1, 5); }

// The server's grpc-retry-pushback-ms: how long to wait before trying again, or nothing when it sent none
// (or a negative or unreadable value, which gRPC defines as "do not retry").
std::optional<std::chrono::milliseconds> ServerPushback(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find("grpc-retry-pushback-ms");
  int64_t ms = -1;
  if (it == trailers.end() || !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) ||
      ms < 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

absl::StatusOr<ClientTls> ClientTlsFromFiles(bool enabled, const std::string& root_certificates_path,
                                             const std::string& certificate_chain_path,
                                             const std::string& private_key_path) {
  if (certificate_chain_path.empty() != private_key_path.empty()) {
    return absl::InvalidArgumentError("a client certificate and its private key go together: give both or neither");
  }
  ClientTls tls;
  tls.enabled =
      enabled || !root_certificates_path.empty() || !certificate_chain_path.empty() || !private_key_path.empty();
  for (auto [path, pem] :
       {std::pair{&root_certificates_path, &tls.root_certificates},
        std::pair{&certificate_chain_path, &tls.certificate_chain}, std::pair{&private_key_path, &tls.private_key}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text = ReadPemFile(*path);
    if (!text.ok()) return text.status();
    *pem = *std::move(text);
  }
  return tls;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const ClientTls& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.root_certificates;
  options.pem_cert_chain = tls.certificate_chain;
  options.pem_private_key = tls.private_key;
  return grpc::SslCredentials(options);
}

grpc::ChannelArguments ChannelArgumentsFor(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // raw float32 answers of large images exceed gRPC's 4 MB default
  args.SetMaxSendMessageSize(-1);
  std::string service_config;  // JSON members of the service config
  // With round_robin the channel also watches each replica's health, so that one draining before it stops (health
  // NOT_SERVING, see the server's --drain_delay) gets no new calls.
  if (options.round_robin) {
    service_config = R"("loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": "imgproc.v1.ImageProcessorService"})";
  }
  if (Attempts(options) > 1) {
    // RESOURCE_EXHAUSTED is not listed: gRPC would retry it with or without pushback (it honours pushback only
    // for listed codes), so Process retries it itself, and only with pushback.
    absl::StrAppend(&service_config, service_config.empty() ? "" : ", ",
                    R"("methodConfig": [{"name": [{"service": "imgproc.v1.ImageProcessorService"}],
        "retryPolicy": {"maxAttempts": )",
                    Attempts(options), R"(, "initialBackoff": "0.1s",
        "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}])");
    args.SetInt(GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE,
                static_cast<int>(std::clamp<int64_t>(options.retry_buffer_bytes, 0, INT32_MAX)));
    // After a refused connection gRPC waits 1 s before the next, longer than the retries above take, so a
    // server coming back would only be found once they were spent.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  } else {
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  }
  if (!service_config.empty()) args.SetServiceConfigJSON("{" + service_config + "}");
  return args;
}

std::shared_ptr<grpc::Channel> ImgprocClient::MakeChannel(const std::string& target, const ClientOptions& options) {
  return grpc::CreateCustomChannel(target, ChannelCredentialsFor(options.tls), ChannelArgumentsFor(options));
}

ImgprocClient::ImgprocClient(const std::string& target, ClientOptions options)
    : ImgprocClient(MakeChannel(target, options), options) {}

ImgprocClient::ImgprocClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : channel_(std::move(channel)), stub_(pb::ImageProcessorService::NewStub(channel_)), options_(options) {}

namespace {

// One unary call, retried as the library retries a full server: RESOURCE_EXHAUSTED with the server's pushback, after
// that pause, within the call's deadline and the options' attempts. `call` makes the RPC on a fresh context.
template <typename Response, typename Call>
absl::StatusOr<Response> CallWithPushback(const ClientOptions& options, Call call) {
  const auto deadline = std::chrono::system_clock::now() + options.deadline;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    context.set_wait_for_ready(options.wait_for_ready);
    Response response;
    const grpc::Status status = call(&context, &response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || attempt >= Attempts(options)) {
      return FromGrpc(status);
    }
    const std::optional<std::chrono::milliseconds> pushback = ServerPushback(context);
    if (!pushback || std::chrono::system_clock::now() + *pushback >= deadline) return FromGrpc(status);
    std::this_thread::sleep_for(*pushback);
  }
}

}  // namespace

absl::StatusOr<pb::ProcessResponse> ImgprocClient::Process(const pb::ProcessRequest& request) const {
  return CallWithPushback<pb::ProcessResponse>(options_, [&](grpc::ClientContext* context, pb::ProcessResponse* out) {
    return stub_->Process(context, request, out);
  });
}

absl::StatusOr<pb::ProcessBatchResponse> ImgprocClient::ProcessBatch(const pb::ProcessBatchRequest& request) const {
  return CallWithPushback<pb::ProcessBatchResponse>(options_,
                                                    [&](grpc::ClientContext* context, pb::ProcessBatchResponse* out) {
                                                      return stub_->ProcessBatch(context, request, out);
                                                    });
}

absl::Status ImgprocClient::RegisterCudaSharedMemory(const std::string& name, const std::string& raw_handle,
                                                     int64_t device_id, uint64_t byte_size) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  context.set_wait_for_ready(options_.wait_for_ready);
  pb::RegisterCudaSharedMemoryRequest request;
  request.set_name(name);
  request.set_raw_handle(raw_handle);
  request.set_device_id(device_id);
  request.set_byte_size(byte_size);
  pb::RegisterCudaSharedMemoryResponse response;
  return FromGrpc(stub_->RegisterCudaSharedMemory(&context, request, &response));
}

absl::Status ImgprocClient::UnregisterCudaSharedMemory(const std::string& name) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  context.set_wait_for_ready(options_.wait_for_ready);
  pb::UnregisterCudaSharedMemoryRequest request;
  request.set_name(name);
  pb::UnregisterCudaSharedMemoryResponse response;
  return FromGrpc(stub_->UnregisterCudaSharedMemory(&context, request, &response));
}

absl::StatusOr<pb::GetServerInfoResponse> ImgprocClient::GetServerInfo() const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  context.set_wait_for_ready(options_.wait_for_ready);
  pb::GetServerInfoResponse info;
  const grpc::Status status = stub_->GetServerInfo(&context, pb::GetServerInfoRequest(), &info);
  if (!status.ok()) return FromGrpc(status);
  return info;
}

// ---- ProcessStream. Its wire messages appear only from here to the end of the file; WriteRequest and AnswerFrom
// are where they meet the library's types.
namespace {

using StreamRequest = pb::ProcessStreamRequest;
using StreamResponse = pb::ProcessStreamResponse;

// Writes `request` as the stream's message without copying its image: the message points at the request while it
// is serialized (neither is on an arena, so the unsafe_arena_ calls only set and take back the pointer).
bool WriteRequest(grpc::ClientReaderWriter<StreamRequest, StreamResponse>& rw, const pb::ProcessRequest& request) {
  StreamRequest message;
  message.unsafe_arena_set_allocated_request(const_cast<pb::ProcessRequest*>(&request));
  const bool written = rw.Write(message);
  message.unsafe_arena_release_request();
  return written;
}

StreamAnswer AnswerFrom(StreamResponse& message) {
  if (message.status().code() != 0) {
    return {std::move(*message.mutable_request_id()),
            absl::Status(static_cast<absl::StatusCode>(message.status().code()), message.status().message())};
  }
  return {std::move(*message.mutable_request_id()), std::move(*message.mutable_response())};
}

}  // namespace

struct ImgprocClient::Stream::Call {
  grpc::ClientContext context;  // outlives the reader-writer, which uses it
  std::unique_ptr<grpc::ClientReaderWriter<StreamRequest, StreamResponse>> rw;
  bool done_sending = false;
  bool finished = false;
};

ImgprocClient::Stream::Stream(std::unique_ptr<Call> call) : call_(std::move(call)) {}

ImgprocClient::Stream::~Stream() {
  // The server would otherwise go on with the requests it holds until the deadline.
  if (!call_->finished) call_->context.TryCancel();
}

std::unique_ptr<ImgprocClient::Stream> ImgprocClient::OpenStream(std::chrono::milliseconds deadline) const {
  auto call = std::make_unique<Stream::Call>();
  call->context.set_deadline(std::chrono::system_clock::now() + deadline);
  call->context.set_wait_for_ready(options_.wait_for_ready);
  call->rw = stub_->ProcessStream(&call->context);
  return std::unique_ptr<Stream>(new Stream(std::move(call)));
}

bool ImgprocClient::Stream::Send(const pb::ProcessRequest& request) {
  return !call_->done_sending && WriteRequest(*call_->rw, request);
}

void ImgprocClient::Stream::DoneSending() {
  if (call_->done_sending) return;
  call_->rw->WritesDone();
  call_->done_sending = true;
}

std::optional<StreamAnswer> ImgprocClient::Stream::Read() {
  StreamResponse message;
  if (!call_->rw->Read(&message)) return std::nullopt;
  return AnswerFrom(message);
}

absl::Status ImgprocClient::Stream::Finish() {
  DoneSending();
  // gRPC gives the status only once every answer has been read.
  StreamResponse ignored;
  while (call_->rw->Read(&ignored)) {
  }
  call_->finished = true;
  return FromGrpc(call_->rw->Finish());
}

}  // namespace imgproc
