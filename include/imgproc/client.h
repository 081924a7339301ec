#pragma once
// The C++ client library of imgproc.v1.ImageProcessorService: channel options, deadlines, retries through the gRPC
// service config, TLS, and a streaming helper. Installed as the CMake package `imgproc` (find_package(imgproc CONFIG),
// target imgproc::client); imgproc-cli, imgproc-load and the tests use it too.
//
// Errors are absl::Status values whose code is the call's gRPC code (absl and gRPC share the canonical codes) and
// whose message is the server's, e.g. INVALID_ARGUMENT "operations[1].canny: takes uint8 pixels (input is
// 640x400x1 uint16)".

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "imgproc/v1/imgproc.grpc.pb.h"
#include "imgproc/v1/imgproc.pb.h"

namespace imgproc {

// TLS for the channel, as PEM text. Off: plaintext.
struct ClientTls {
  bool enabled = false;
  std::string root_certificates;  // CAs that may sign the server's certificate; empty: the system's roots
  std::string certificate_chain;  // the client's own certificate, for servers that require one (mutual TLS)
  std::string private_key;        // its key
};

// TLS from PEM files: on when `enabled` or any path is given; an empty path leaves that part out. INVALID_ARGUMENT
// naming the path of a file that cannot be read or holds no PEM block, or when only one of certificate and key is
// given.
absl::StatusOr<ClientTls> ClientTlsFromFiles(bool enabled, const std::string& root_certificates_path,
                                             const std::string& certificate_chain_path,
                                             const std::string& private_key_path);

struct ClientOptions {
  std::chrono::milliseconds deadline{30000};  // per unary call, retries included
  // Attempts per call (at most 5); 1 turns retries off.
  // - UNAVAILABLE (nothing listening, server restarting): gRPC retries it from the service config, with
  //   exponential backoff from 100 ms, and reconnects after 100 ms rather than its default 1 s.
  // - RESOURCE_EXHAUSTED only when the server sends pushback (grpc-retry-pushback-ms; imgproc's server does
  //   for a full queue, see --retry_pushback): Process waits that long and tries again, within the deadline.
  //   Without pushback (memory, message size, another server) retrying would only add to the overload.
  // Streams are not retried by the library.
  int max_attempts = 3;
  // gRPC retries only requests it still holds, 256 KiB by default: less than most photos. This holds up to
  // the server's default largest message (--max_input_bytes, 64 MiB, plus 1 MiB for the operations). The
  // buffer is the serialized request itself, kept until the call succeeds or fails, not a copy per attempt.
  int64_t retry_buffer_bytes = (64 << 20) + (1 << 20);
  bool wait_for_ready = false;  // block until the server is reachable instead of failing fast
  // Spread calls over every address the target resolves to (gRPC's round_robin policy) instead of using the first
  // that connects (pick_first, gRPC's default). For replicas behind a headless Service, e.g.
  // "dns:///imgproc.default.svc.cluster.local:50051", or a fixed list, "ipv4:10.0.0.1:50051,10.0.0.2:50051".
  bool round_robin = false;
  ClientTls tls;
};

// The credentials for a channel: TLS as `tls` says, else plaintext.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const ClientTls& tls);
// A channel's arguments for `options`: message sizes, retries and the load-balancing policy (service config). For
// callers that make their own channels, e.g. several connections to one target.
grpc::ChannelArguments ChannelArgumentsFor(const ClientOptions& options);

// One answer of a stream: the request_id of the request it answers, and that request's own outcome.
struct StreamAnswer {
  std::string request_id;
  absl::StatusOr<imgproc::v1::ProcessResponse> response;
};

class ImgprocClient {
 public:
  // `target` as gRPC names servers: "host:port", "dns:///name:port", "ipv4:addr:port,addr:port".
  explicit ImgprocClient(const std::string& target, ClientOptions options = {});
  // Shares a channel (a connection) with other clients.
  ImgprocClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  absl::StatusOr<imgproc::v1::ProcessResponse> Process(const imgproc::v1::ProcessRequest& request) const;
  absl::StatusOr<imgproc::v1::GetServerInfoResponse> GetServerInfo() const;
  // N images, one chain, one tensor (README: Batches and CUDA shared memory). A full server is retried as Process
  // retries; an image that fails is said in its item, not here.
  absl::StatusOr<imgproc::v1::ProcessBatchResponse> ProcessBatch(const imgproc::v1::ProcessBatchRequest& request) const;
  // Lends the server a CUDA buffer of this process by its IPC handle (cudaIpcGetMemHandle, 64 bytes), under `name`.
  absl::Status RegisterCudaSharedMemory(const std::string& name, const std::string& raw_handle, int64_t device_id,
                                        uint64_t byte_size) const;
  absl::Status UnregisterCudaSharedMemory(const std::string& name) const;

  // One ProcessStream call. Requests are answered independently and in any order, each answer with its
  // request_id and its own status: a bad image fails its answer, not the stream. One thread may Send while
  // another Reads; the server stops reading a stream whose answers are not read (README: ProcessStream).
  class Stream {
   public:
    ~Stream();  // cancels the call when Finish was not called
    // False once the stream has ended (Finish gives its status) or DoneSending was called.
    bool Send(const imgproc::v1::ProcessRequest& request);
    // No more requests; the answers still owed keep coming through Read.
    void DoneSending();
    // The next answer as it comes; nothing once the server has ended the stream, which it does after DoneSending
    // and the last answer, or on an error of the stream as a whole (Finish gives it).
    std::optional<StreamAnswer> Read();
    // Ends sending, drops the answers not read, and returns the status of the stream as a whole: OK, or why it
    // ended early (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED, ...). Call it once, when no other thread uses the stream.
    absl::Status Finish();

   private:
    friend class ImgprocClient;
    struct Call;  // the gRPC call and its wire messages, which client.cc alone knows
    explicit Stream(std::unique_ptr<Call> call);
    std::unique_ptr<Call> call_;
  };
  // `deadline` covers the whole stream.
  std::unique_ptr<Stream> OpenStream(std::chrono::milliseconds deadline = std::chrono::minutes(10)) const;

  static std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ClientOptions& options);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<imgproc::v1::ImageProcessorService::Stub> stub_;
  ClientOptions options_;
};

}  // namespace imgproc
