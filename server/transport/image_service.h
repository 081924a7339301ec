#pragma once
// gRPC edge: proto requests become validated plans and scheduler jobs; absl::Status becomes grpc::Status.
//
// The callback API: a handler returns at once and the worker that finishes a job completes the RPC, so no
// gRPC thread waits on image work and queueing is ours (bounded, per device), not gRPC's.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <optional>

#include "common/limits.h"
#include "imgproc/v1/imgproc.grpc.pb.h"
#include "scheduler/scheduler.h"
#include "transport/batch_call.h"

namespace imgproc {

class RequestObserver;  // metrics/, optional

struct ServiceOptions {
  ImageLimits limits;
  int max_stream_in_flight = 32;  // per ProcessStream call; further reads wait
  // A unary call refused for a full queue tells the client to retry after this long, randomized up to twice
  // as long (gRPC's grpc-retry-pushback-ms); zero: no pushback, and clients that follow it do not retry.
  std::chrono::milliseconds queue_full_pushback{100};
  // Per ProcessStream call: bytes of the requests read and not yet answered plus the answers not yet written;
  // further reads wait once the stream holds this much (it always takes one request, however large).
  int64_t max_stream_bytes = int64_t{32} << 20;
};

// Process and ProcessStream take their requests as bytes and parse them here (transport/message_parsing.h), so that
// one that does not parse is answered INVALID_ARGUMENT with the reason; clients and the API see the same messages.
// ProcessBatch too.
using ImageServiceBase = imgproc::v1::ImageProcessorService::WithRawCallbackMethod_Process<
    imgproc::v1::ImageProcessorService::WithRawCallbackMethod_ProcessStream<
        imgproc::v1::ImageProcessorService::WithCallbackMethod_GetServerInfo<
            imgproc::v1::ImageProcessorService::WithRawCallbackMethod_ProcessBatch<
                imgproc::v1::ImageProcessorService::WithCallbackMethod_RegisterCudaSharedMemory<
                    imgproc::v1::ImageProcessorService::WithCallbackMethod_UnregisterCudaSharedMemory<
                        imgproc::v1::ImageProcessorService::Service>>>>>>;

class ImageService final : public ImageServiceBase {
 public:
  // `regions`: the CUDA shared-memory regions clients may register, or null, and then `no_regions` is what the
  // calls about regions are answered (PERMISSION_DENIED, FAILED_PRECONDITION, saying why).
  ImageService(Scheduler& scheduler, ServiceOptions options, imgproc::v1::GetServerInfoResponse info,
               RequestObserver* observer = nullptr, DeviceMemoryRegistry* regions = nullptr,
               absl::Status no_regions = absl::FailedPreconditionError("this server takes no CUDA shared memory"));

  grpc::ServerUnaryReactor* Process(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ProcessStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const imgproc::v1::GetServerInfoRequest* request,
                                          imgproc::v1::GetServerInfoResponse* response) override;
  grpc::ServerUnaryReactor* ProcessBatch(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RegisterCudaSharedMemory(grpc::CallbackServerContext* context,
                                                     const imgproc::v1::RegisterCudaSharedMemoryRequest* request,
                                                     imgproc::v1::RegisterCudaSharedMemoryResponse* response) override;
  grpc::ServerUnaryReactor* UnregisterCudaSharedMemory(
      grpc::CallbackServerContext* context, const imgproc::v1::UnregisterCudaSharedMemoryRequest* request,
      imgproc::v1::UnregisterCudaSharedMemoryResponse* response) override;

  // The request as parsed (empty when it did not parse) and its outcome.
  using Done = std::function<void(const imgproc::v1::ProcessRequest& request, absl::StatusOr<JobResult> result)>;
  // Parses, validates and submits one request, a ProcessRequest or, for `stream_item`, a ProcessStreamRequest; `done`
  // gets the outcome exactly once (maybe before this returns). `bytes` are cleared once parsed, so that a large
  // request is not held twice while it runs.
  void Start(grpc::ByteBuffer* bytes, bool stream_item, grpc::CallbackServerContext* context, const char* method,
             Done done);

 private:
  Scheduler& scheduler_;
  const ServiceOptions options_;
  const imgproc::v1::GetServerInfoResponse info_;
  RequestObserver* const observer_;
  const BatchServices batch_;
};

grpc::Status ToGrpcStatus(const absl::Status& status);
// The grpc-retry-pushback-ms value for a refusal: a full queue's gets `base` to 2 * `base`, at random so that
// the clients refused together do not come back together; any other status, or a zero base, gets none.
std::optional<std::chrono::milliseconds> RetryPushback(const absl::Status& status, std::chrono::milliseconds base);
void FillResponse(JobResult result, const std::string& request_id, imgproc::v1::ProcessResponse* response);
// What the plan knows of a finished job's answer that its lane does not report: the input's frames, a truncation the
// header showed, the metadata kept.
void AddPlanFacts(const Plan& plan, JobResult& result);

}  // namespace imgproc
