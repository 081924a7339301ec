#pragma once
// A small client library over the generated stub: channel options, deadlines, retries through the gRPC
// service config, and a streaming helper. Used by imgproc_cli, imgproc-load and the tests.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "imgproc/v1/imgproc.grpc.pb.h"

namespace imgproc {

struct ClientOptions {
  std::chrono::milliseconds deadline{30000};
  // Attempts per call for UNAVAILABLE (server restarting) and RESOURCE_EXHAUSTED (queue full), with
  // exponential backoff from 50 ms; 1 turns retries off. Done by gRPC itself, from the service config.
  int max_attempts = 3;
  bool wait_for_ready = false;  // block until the server is reachable instead of failing fast
};

class ImgprocClient {
 public:
  explicit ImgprocClient(const std::string& target, ClientOptions options = {});
  // Shares a channel (a connection) with other clients.
  ImgprocClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  grpc::Status Process(const imgproc::v1::ProcessRequest& request, imgproc::v1::ProcessResponse* response) const;
  grpc::Status GetServerInfo(imgproc::v1::ServerInfo* info) const;

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
  std::unique_ptr<imgproc::v1::ImageProcessor::Stub> stub_;
  ClientOptions options_;
};

// "resize width=640 | gaussian_blur kernel_width=5 sigma_x=1.5" -> ProcessRequest.operations; false with
// `error` set when a name or value does not parse. Field and enum names are the proto's.
bool ParseOperationChain(const std::string& chain, imgproc::v1::ProcessRequest* request, std::string* error);

// The output spec from command-line words: format jpeg|png|webp|raw; quality (JPEG/WebP quality, PNG level;
// < 0: the server's default); for raw, dtype uint8|float32 and layout hwc|chw.
bool MakeOutputSpec(const std::string& format, int quality, const std::string& dtype, const std::string& layout,
                    imgproc::v1::OutputSpec* spec, std::string* error);

}  // namespace imgproc
