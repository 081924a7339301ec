#include "transport/image_service.h"

#include <deque>
#include <random>

#include "absl/base/thread_annotations.h"
#include "common/log.h"
#include "common/mutex.h"
#include "metrics/request_observer.h"
#include "pipeline/plan.h"
#include "transport/call_context.h"
#include "transport/message_parsing.h"
#include "transport/request_translation.h"

namespace imgproc {

namespace pb = ::imgproc::v1;

grpc::Status ToGrpcStatus(const absl::Status& status) {
  // absl and gRPC share the canonical codes, value for value.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::optional<std::chrono::milliseconds> RetryPushback(const absl::Status& status, std::chrono::milliseconds base) {
  if (base <= std::chrono::milliseconds::zero() || !IsQueueFull(status)) return std::nullopt;
  thread_local std::minstd_rand random(std::random_device{}());
  return base + std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, base.count())(random));
}

void FillResponse(JobResult result, const std::string& request_id, pb::ProcessResponse* response) {
  response->set_request_id(request_id);
  response->set_image(std::move(result.image.bytes));
  response->set_format(ToProtoImageFormat(result.image.format));
  response->set_width(result.image.spec.width);
  response->set_height(result.image.spec.height);
  response->set_channels(result.image.spec.channels);
  response->set_dtype(ToProtoDtype(DepthName(result.image.spec.depth)));
  response->set_layout(ToProtoLayout(result.image.layout));
  response->set_device(result.device);
  // The API names the encoder by its backend: cpu or cuda, unset ("none") for a raw answer.
  response->set_encode_backend(ToProtoBackend(CodecPathName(result.encode_path)));
  response->set_encode_fallback_reason(std::move(result.encode_fallback_reason));
  for (auto& name : result.cpu_fallback_operations) response->add_cpu_fallback_operations(std::move(name));
  response->set_input_frames(result.input_frames);
  response->set_decode_shrink_factor(result.decode_shrink_factor);
  response->set_partial_decode(!result.partial_decode.empty());
  response->set_partial_decode_reason(std::move(result.partial_decode));
  if (result.metadata_kept.icc_profile || result.metadata_kept.exif || result.metadata_kept.xmp ||
      !result.metadata_not_kept.empty()) {
    pb::MetadataKept* kept = response->mutable_metadata();
    kept->set_icc_profile(result.metadata_kept.icc_profile);
    kept->set_exif(result.metadata_kept.exif);
    kept->set_xmp(result.metadata_kept.xmp);
    for (auto& why : result.metadata_not_kept) kept->add_not_kept(std::move(why));
  }
  pb::ColorReport* color = response->mutable_color();
  color->set_action(ToProtoColorAction(ColorActionName(result.color.action)));
  color->set_reason(std::move(result.color.reason));
  color->set_source(std::move(result.color.source));
  color->set_profile_description(std::move(result.color.description));
  color->set_profile_sha256(std::move(result.color.sha256));
  pb::StageTimings* t = response->mutable_timings();
  t->set_queue_wait_us(result.timings.queue_wait_us);
  t->set_batch_wait_us(result.timings.batch_wait_us);
  t->set_decode_us(result.timings.decode_us);
  t->set_upload_us(result.timings.upload_us);
  t->set_operations_us(result.timings.operations_us);
  t->set_download_us(result.timings.download_us);
  t->set_encode_us(result.timings.encode_us);
  t->set_total_us(result.timings.total_us);
}

void AddPlanFacts(const Plan& plan, JobResult& result) {
  result.input_frames = plan.header.frames;
  // A truncation seen in the header holds whichever lane decoded (nvJPEG says nothing of it).
  if (result.partial_decode.empty()) result.partial_decode = plan.partial_decode;
  result.metadata_kept = KindsOf(plan.metadata);
  result.metadata_not_kept = plan.metadata.not_kept;
}

ImageService::ImageService(Scheduler& scheduler, ServiceOptions options, pb::GetServerInfoResponse info,
                           RequestObserver* observer, DeviceMemoryRegistry* regions, absl::Status no_regions)
    : scheduler_(scheduler),
      options_(options),
      info_(std::move(info)),
      observer_(observer),
      batch_{&scheduler, options.limits, observer, regions, std::move(no_regions)} {}

void ImageService::Start(grpc::ByteBuffer* bytes, bool stream_item, grpc::CallbackServerContext* context,
                         const char* method, Done done) {
  const Clock::time_point arrival = Clock::now();
  auto request = std::make_shared<pb::ProcessRequest>();
  absl::Status parsed;
  if (stream_item) {
    pb::ProcessStreamRequest item;
    parsed = ParseRequestMessage(*bytes, &item);
    request->Swap(item.mutable_request());  // no copy of the image bytes
  } else {
    parsed = ParseRequestMessage(*bytes, request.get());
  }
  bytes->Clear();  // the request holds a copy now
  const size_t bytes_in = request->image().size();
  if (observer_) observer_->OnRequestStart(method);
  auto finish = [this, method, bytes_in, arrival, request, done = std::move(done)](absl::StatusOr<JobResult> result) {
    const int64_t micros = MicrosSince(arrival);
    if (observer_) observer_->OnRequestDone(method, bytes_in, result, micros);
    LogRequest(method, request->request_id(), result.status(), micros);
    done(*request, std::move(result));
  };
  if (!parsed.ok()) {
    finish(parsed);
    return;
  }
  absl::StatusOr<Plan> plan = BuildPlan(*request, options_.limits);
  if (!plan.ok()) {
    finish(plan.status());
    return;
  }
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request->image();
  job.input_owner = request;
  job.arrival = arrival;
  job.deadline = SteadyDeadline(context);
  job.cancelled = [context] { return context->IsCancelled(); };
  job.done = [finish = std::move(finish), plan = job.plan](absl::StatusOr<JobResult> result) {
    if (result.ok()) AddPlanFacts(*plan, *result);
    finish(std::move(result));
  };
  scheduler_.Submit(std::move(job), request->device());  // answers a refusal through done, too
}

grpc::ServerUnaryReactor* ImageService::Process(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // gRPC owns the response buffer until Finish, which comes after the job is done.
  const std::chrono::milliseconds pushback_base = options_.queue_full_pushback;
  // gRPC's generated handlers free the bytes once parsed; so does Start (they are gRPC's, allocated non-const).
  Start(
      const_cast<grpc::ByteBuffer*>(request), /*stream_item=*/false, context, "Process",
      [reactor, context, response, pushback_base](const pb::ProcessRequest& parsed, absl::StatusOr<JobResult> result) {
        if (!result.ok()) {
          // Unary calls only: a stream's requests fail one by one inside it, with no call status to carry it.
          if (auto pushback = RetryPushback(result.status(), pushback_base)) {
            context->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(pushback->count()));
          }
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        pb::ProcessResponse answer;
        FillResponse(*std::move(result), parsed.request_id(), &answer);
        std::string image = std::move(*answer.mutable_image());
        answer.clear_image();
        reactor->Finish(ToGrpcStatus(
            SerializeMessageWithBytes(answer, pb::ProcessResponse::kImageFieldNumber, std::move(image), response)));
      });
  return reactor;
}

namespace {

// Reads requests, runs them concurrently, writes each answer as it completes. Reading pauses while max_in_flight
// requests are owed an answer, or while what the stream holds reaches max_bytes: the requests read and not yet
// answered, and the answers not yet written (the largest part: a client that sends without reading leaves every
// answer in the outbox). So a client that sends without reading stops being read, instead of having requests and
// finished answers pile up in the server; what gRPC itself buffers past that is bounded by HTTP/2 flow control.
// One request is always taken, however large (--max_input_bytes bounds it), so that any request can be served.
// Finishes once the client has half-closed and every accepted request has been answered, so no request
// that was read is dropped; a failed request, one that does not parse included, is an answer with its own status,
// not the end of the stream.
class StreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamReactor(ImageService& service, grpc::CallbackServerContext* context, int max_in_flight, int64_t max_bytes,
                RequestObserver* observer)
      : service_(service),
        context_(context),
        max_in_flight_(max_in_flight),
        max_bytes_(max_bytes),
        observer_(observer) {
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    grpc::ByteBuffer received;
    received.Swap(&incoming_);  // before the next read, which a finished job may start from another thread
    const int64_t request_bytes = static_cast<int64_t>(received.Length());
    bool read_more;
    {
      MutexLock lock(&mu_);
      ++owed_;
      HoldLocked(request_bytes);
      read_more = MayReadLocked();
      read_paused_ = !read_more;
    }
    service_.Start(&received, /*stream_item=*/true, context_, "ProcessStream",
                   [this, request_bytes](const pb::ProcessRequest& request, absl::StatusOr<JobResult> result) {
                     pb::ProcessStreamResponse out;
                     out.set_request_id(request.request_id());
                     if (result.ok()) {
                       FillResponse(*std::move(result), request.request_id(), out.mutable_response());
                     } else {
                       out.mutable_status()->set_code(static_cast<int>(result.status().code()));
                       out.mutable_status()->set_message(std::string(result.status().message()));
                     }
                     Complete(Serialize(out), request_bytes);
                   });
    if (read_more) StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    bool resume_read;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) write_failed_ = true;  // client gone: keep draining jobs, stop writing
      HoldLocked(-static_cast<int64_t>(outbox_.front().Length()));
      outbox_.pop_front();
      --owed_;
      if (!outbox_.empty() && !write_failed_) {
        writing_ = true;
        StartWrite(&outbox_.front());
      } else if (write_failed_) {
        owed_ -= static_cast<int>(outbox_.size());
        for (const grpc::ByteBuffer& unwritten : outbox_) HoldLocked(-static_cast<int64_t>(unwritten.Length()));
        outbox_.clear();
      }
      resume_read = ResumeReadLocked();
      MaybeFinishLocked();
    }
    if (resume_read) StartRead(&incoming_);
  }

  void OnDone() override { delete this; }

 private:
  // An answer that cannot be serialized (over protobuf's 2 GiB, past --max_output_bytes) says so instead.
  static grpc::ByteBuffer Serialize(const pb::ProcessStreamResponse& response) {
    grpc::ByteBuffer bytes;
    const absl::Status serialized = SerializeMessage(response, &bytes);
    if (serialized.ok()) return bytes;
    pb::ProcessStreamResponse failure;
    failure.set_request_id(response.request_id());
    failure.mutable_status()->set_code(static_cast<int>(serialized.code()));
    failure.mutable_status()->set_message(std::string(serialized.message()));
    bytes.Clear();
    SerializeMessage(failure, &bytes).IgnoreError();
    return bytes;
  }

  // The request's bytes are given up for its answer's: the job is done with the request.
  void Complete(grpc::ByteBuffer response, int64_t request_bytes) {
    bool resume_read = false;
    {
      MutexLock lock(&mu_);
      HoldLocked(-request_bytes);
      if (!write_failed_) {
        HoldLocked(static_cast<int64_t>(response.Length()));
        outbox_.emplace_back();
        outbox_.back().Swap(&response);
        if (!writing_) {
          writing_ = true;
          StartWrite(&outbox_.front());
        }
      } else {
        --owed_;  // nobody to write it to
      }
      resume_read = ResumeReadLocked();
      MaybeFinishLocked();
    }
    if (resume_read) StartRead(&incoming_);
  }

  void HoldLocked(int64_t delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    held_bytes_ += delta;
    if (observer_) observer_->OnStreamHeldBytes(delta);
  }

  // Whether another request may be read now; with none owed, always (held_bytes_ is then 0).
  bool MayReadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return owed_ < max_in_flight_ && held_bytes_ < max_bytes_;
  }

  // Whether reading stopped for a bound and may go on; the caller starts the read outside the lock.
  bool ResumeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!read_paused_ || reads_done_ || !MayReadLocked()) return false;
    read_paused_ = false;
    return true;
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !reads_done_ || owed_ > 0 || writing_ || !outbox_.empty()) return;
    finished_ = true;
    Finish(write_failed_ ? grpc::Status(grpc::StatusCode::CANCELLED, "client stopped reading") : grpc::Status::OK);
  }

  ImageService& service_;
  grpc::CallbackServerContext* const context_;
  const int max_in_flight_;
  const int64_t max_bytes_;
  RequestObserver* const observer_;  // optional
  grpc::ByteBuffer incoming_;        // gRPC runs one read at a time: only OnReadDone touches it
  Mutex mu_;                         // the callbacks of reads, writes and finished jobs run on different threads
  std::deque<grpc::ByteBuffer> outbox_ ABSL_GUARDED_BY(mu_);  // front() is being written while writing_
  // Requests read and not yet answered: running, or their answer not yet written.
  int owed_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes of the requests owed an answer (as received) until they are answered, then of their answers (as sent)
  // until written.
  int64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ImageService::ProcessStream(
    grpc::CallbackServerContext* context) {
  return new StreamReactor(*this, context, options_.max_stream_in_flight, options_.max_stream_bytes, observer_);
}

grpc::ServerUnaryReactor* ImageService::GetServerInfo(grpc::CallbackServerContext* context,
                                                      const pb::GetServerInfoRequest*,
                                                      pb::GetServerInfoResponse* response) {
  *response = info_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::ProcessBatch(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  StartBatch(batch_, context, request, response, reactor);
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::RegisterCudaSharedMemory(grpc::CallbackServerContext* context,
                                                                 const pb::RegisterCudaSharedMemoryRequest* request,
                                                                 pb::RegisterCudaSharedMemoryResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = batch_.no_regions;
  if (batch_.regions != nullptr) {
    // byte_size is uint64 on the wire, as Triton's; past int64 it is no buffer anyone has.
    const int64_t bytes = request->byte_size() > uint64_t{INT64_MAX} ? -1 : static_cast<int64_t>(request->byte_size());
    status = batch_.regions->Register(request->name(), request->raw_handle(), request->device_id(), bytes,
                                      ClientOf(context));
  }
  LogRequest("RegisterCudaSharedMemory", request->name(), status, 0);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::UnregisterCudaSharedMemory(grpc::CallbackServerContext* context,
                                                                   const pb::UnregisterCudaSharedMemoryRequest* request,
                                                                   pb::UnregisterCudaSharedMemoryResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = batch_.no_regions;
  if (batch_.regions != nullptr) status = batch_.regions->Unregister(request->name());
  LogRequest("UnregisterCudaSharedMemory", request->name(), status, 0);
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace imgproc
