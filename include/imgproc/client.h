#pragma once
// A small client library over the generated stub: channel options, deadlines, retries through the gRPC
// service config, and a streaming helper. Used by imgproc_cli, imgproc-load and the tests.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imgproc/v1/imgproc.grpc.pb.h"

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
// The credentials for a channel: TLS as `tls` says, else plaintext.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const ClientTls& tls);
struct ClientOptions;
// A channel's arguments for `options`: message sizes, retries and the load-balancing policy (service config).
grpc::ChannelArguments ChannelArgumentsFor(const ClientOptions& options);

struct ClientOptions {
  std::chrono::milliseconds deadline{30000};  // per call, retries included
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

class ImgprocClient {
 public:
  explicit ImgprocClient(const std::string& target, ClientOptions options = {});
  // Shares a channel (a connection) with other clients.
  ImgprocClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  grpc::Status Process(const imgproc::v1::ProcessRequest& request, imgproc::v1::ProcessResponse* response) const;
  grpc::Status GetServerInfo(imgproc::v1::GetServerInfoResponse* info) const;

  // One ProcessStream call: Send any number of requests, then Finish; Read answers as they come, in any order.
  class Stream {
   public:
    bool Send(const imgproc::v1::ProcessRequest& request);
    bool Read(imgproc::v1::ProcessStreamResponse* response);  // false once the server is done
    grpc::Status Finish();                                    // half-closes, drains, returns the call status

   private:
    friend class ImgprocClient;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<imgproc::v1::ProcessRequest, imgproc::v1::ProcessStreamResponse>> rw_;
    bool writes_done_ = false;
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
