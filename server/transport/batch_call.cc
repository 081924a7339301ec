#include "transport/batch_call.h"

#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "metrics/request_observer.h"
#include "transport/call_context.h"
#include "transport/image_service.h"
#include "transport/message_parsing.h"
#include "transport/request_translation.h"

namespace imgproc {
namespace {

namespace pb = ::imgproc::v1;

constexpr char kMethod[] = "ProcessBatch";
// A region's tensor starts on this boundary: what cudaMalloc guarantees its allocations, so that slots of every dtype
// are aligned for the copies that write them.
constexpr int64_t kRegionOffsetAlignment = 256;

// One ProcessBatch call, alive until its last job has finished and it has answered.
class BatchCall : public std::enable_shared_from_this<BatchCall> {
 public:
  BatchCall(const BatchServices& services, grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
            grpc::ServerUnaryReactor* reactor)
      : services_(services), context_(context), response_(response), reactor_(reactor) {}

  void Start(const grpc::ByteBuffer* bytes) {
    if (absl::Status ready = Prepare(bytes); !ready.ok()) {
      Answer(ready);
      return;
    }
    {
      MutexLock lock(&mu_);
      items_.resize(slots_.size());
      // One count more than the slots, for this loop: the last job cannot answer before every slot is submitted.
      pending_ = static_cast<int>(slots_.size()) + 1;
    }
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (services_.observer) services_.observer->OnRequestStart(kMethod);
      if (slots_[i].plan == nullptr) {
        Record(i, slots_[i].refusal);
      } else {
        Submit(i);
      }
    }
    CountDown();
  }

 private:
  struct Slot {
    std::shared_ptr<const Plan> plan;  // null when it was refused before running
    absl::Status refusal;
  };

  // Everything about the batch as a whole: a problem here fails the call.
  absl::Status Prepare(const grpc::ByteBuffer* bytes) {
    absl::Status parsed = ParseRequestMessage(*bytes, &request_);
    // gRPC's handlers free the bytes once parsed (they are gRPC's, allocated non-const); the request holds a copy.
    const_cast<grpc::ByteBuffer*>(bytes)->Clear();
    IMGPROC_RETURN_IF_ERROR(parsed);
    const ImageLimits& limits = services_.limits;
    const int count = request_.images_size();
    if (count == 0) return absl::InvalidArgumentError("images: the batch has none");
    if (count > limits.max_batch_images) {
      return absl::InvalidArgumentError(absl::StrCat("images: ", count, " in one batch, at most ",
                                                     limits.max_batch_images, " (Limits.max_batch_images)"));
    }
    const pb::ProcessRequest& each = request_.each();
    if (!each.image().empty()) {
      return absl::InvalidArgumentError("each.image: must be empty; a batch's images are ProcessBatchRequest.images");
    }
    if (!each.output().has_raw()) {
      return absl::InvalidArgumentError(
          "each.output: a batch is answered as one tensor: set OutputSpec.raw (the tensor's dtype and layout)");
    }
    if (request_.width() < 1 || request_.width() > limits.max_width || request_.height() < 1 ||
        request_.height() > limits.max_height) {
      return absl::InvalidArgumentError(absl::StrCat("width, height: each must be 1 to Limits.max_width/max_height (",
                                                     limits.max_width, "x", limits.max_height, "; got ",
                                                     request_.width(), "x", request_.height(), ")"));
    }
    if (request_.channels() != 1 && request_.channels() != 3 && request_.channels() != 4) {
      return absl::InvalidArgumentError(absl::StrCat("channels: must be 1, 3 or 4 (got ", request_.channels(), ")"));
    }
    absl::StatusOr<ImageRequest> base = TranslateRequest(each, limits);
    if (!base.ok()) return absl::Status(base.status().code(), absl::StrCat("each.", base.status().message()));
    shape_ = ImageSpec{request_.width(), request_.height(), request_.channels(), base->output.raw_depth};
    layout_ = base->output.raw_layout;
    slot_bytes_ = RawBytes(shape_);
    const int64_t tensor_bytes = static_cast<int64_t>(slot_bytes_) * count;
    device_ = each.device();
    if (request_.has_output_region()) {
      IMGPROC_RETURN_IF_ERROR(UseRegion(tensor_bytes));
    } else if (tensor_bytes > limits.max_output_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the batch's tensor would be ", tensor_bytes, " bytes, over the largest answer (Limits.max_output_bytes, ",
          limits.max_output_bytes, "): send fewer images, or name a CUDA shared-memory region"));
    } else {
      tensor_.assign(static_cast<size_t>(tensor_bytes), '\0');
    }
    deadline_ = SteadyDeadline(context_);
    slots_.resize(count);
    for (int i = 0; i < count; ++i) slots_[i] = PlanSlot(*base, i);
    return absl::OkStatus();
  }

  absl::Status UseRegion(int64_t tensor_bytes) {
    if (services_.regions == nullptr) return services_.no_regions;
    const pb::CudaSharedMemoryTarget& target = request_.output_region();
    IMGPROC_ASSIGN_OR_RETURN(region_, services_.regions->Use(target.name()));
    if (target.offset() < 0 || target.offset() % kRegionOffsetAlignment != 0) {
      return absl::InvalidArgumentError(absl::StrCat("output_region.offset: must be a multiple of ",
                                                     kRegionOffsetAlignment, " from 0 (got ", target.offset(), ")"));
    }
    if (target.offset() > region_->bytes || tensor_bytes > region_->bytes - target.offset()) {
      return absl::InvalidArgumentError(absl::StrCat("output_region: the tensor's ", tensor_bytes, " bytes at offset ",
                                                     target.offset(), " end past region '", region_->name, "' (",
                                                     region_->bytes, " bytes)"));
    }
    const std::string region_device = absl::StrCat("cuda:", region_->cuda_device);
    if (!device_.empty() && device_ != region_device) {
      return absl::InvalidArgumentError(absl::StrCat("each.device: '", device_, "', but region '", region_->name,
                                                     "' is on ", region_device, ", where its batches run"));
    }
    device_ = region_device;
    return absl::OkStatus();
  }

  Slot PlanSlot(const ImageRequest& base, int index) {
    ImageRequest request = base;
    request.image = request_.images(index);
    absl::StatusOr<Plan> plan = BuildPlan(request, services_.limits);
    if (!plan.ok()) return Slot{nullptr, plan.status()};
    const ImageSpec& result = plan->result;
    if (result.width != shape_.width || result.height != shape_.height || result.channels != shape_.channels) {
      return Slot{nullptr, absl::InvalidArgumentError(absl::StrCat(
                               "the chain ends in ", result.width, "x", result.height, "x", result.channels,
                               " for this image; the batch's tensor takes ", shape_.width, "x", shape_.height, "x",
                               shape_.channels, " (end the chain with a resize to it)"))};
    }
    return Slot{std::make_shared<const Plan>(*std::move(plan)), absl::OkStatus()};
  }

  TensorSlot SlotAt(size_t index) const {
    TensorSlot slot;
    slot.bytes = slot_bytes_;
    if (region_ != nullptr) {
      slot.memory = TensorSlot::Memory::kCudaDevice;
      slot.cuda_device = region_->cuda_device;
      slot.data = region_->data + request_.output_region().offset() + index * slot_bytes_;
    } else {
      slot.data = const_cast<char*>(tensor_.data()) + index * slot_bytes_;
    }
    return slot;
  }

  void Submit(size_t index) {
    Job job;
    job.plan = slots_[index].plan;
    job.input = request_.images(static_cast<int>(index));
    job.input_owner = shared_from_this();  // the request, its images and the tensor
    job.arrival = arrival_;
    job.deadline = deadline_;
    job.cancelled = [context = context_] { return context->IsCancelled(); };
    job.output_slot = SlotAt(index);
    job.done = [self = shared_from_this(), index](absl::StatusOr<JobResult> result) {
      self->OnJobDone(index, std::move(result));
    };
    {
      MutexLock lock(&mu_);
      ++running_;
    }
    services_.scheduler->Submit(std::move(job), device_);  // answers a refusal through done, too
  }

  void OnJobDone(size_t index, absl::StatusOr<JobResult> result) {
    std::optional<size_t> next;
    {
      MutexLock lock(&mu_);
      --running_;
      // A full queue while this batch's own jobs run: the slot waits for one of them to finish and tries again, so
      // that a batch larger than the free queue still runs whole.
      if (!result.ok() && IsQueueFull(result.status()) && running_ > 0) {
        parked_.push_back(index);
        return;
      }
      if (!parked_.empty()) {
        next = parked_.front();
        parked_.pop_front();
      }
    }
    if (result.ok()) AddPlanFacts(*slots_[index].plan, *result);
    Record(index, std::move(result));
    if (next.has_value()) Submit(*next);
  }

  void Record(size_t index, absl::StatusOr<JobResult> result) {
    if (services_.observer) {
      services_.observer->OnRequestDone(kMethod, request_.images(static_cast<int>(index)).size(), result,
                                        MicrosSince(arrival_));
    }
    pb::BatchItem item;
    if (result.ok()) {
      FillResponse(*std::move(result), request_.request_id(), item.mutable_response());
    } else {
      item.mutable_status()->set_code(static_cast<int>(result.status().code()));
      item.mutable_status()->set_message(std::string(result.status().message()));
      // Zeros, whatever a failed lane may have written; a region's slot is left as it is.
      if (region_ == nullptr) std::memset(const_cast<char*>(tensor_.data()) + index * slot_bytes_, 0, slot_bytes_);
    }
    {
      MutexLock lock(&mu_);
      items_[index] = std::move(item);
      if (result.ok()) ++succeeded_;
    }
    CountDown();
  }

  void CountDown() {
    bool last;
    {
      MutexLock lock(&mu_);
      last = --pending_ == 0;
    }
    if (last) Answer(absl::OkStatus());
  }

  // Every job has finished: nothing writes to the tensor or the items any more.
  void Answer(const absl::Status& status) {
    LogRequest(kMethod, request_.request_id(), status, MicrosSince(arrival_));
    // Before the answer: a client that unregisters the region once answered must find it free.
    const std::shared_ptr<const DeviceMemoryRegion> region = std::move(region_);
    if (!status.ok()) {
      reactor_->Finish(ToGrpcStatus(status));
      return;
    }
    pb::ProcessBatchResponse answer;
    answer.set_request_id(request_.request_id());
    const int64_t n = request_.images_size();
    if (layout_ == Layout::kChw) {
      for (int64_t d : {n, int64_t{shape_.channels}, int64_t{shape_.height}, int64_t{shape_.width}})
        answer.add_shape(d);
    } else {
      for (int64_t d : {n, int64_t{shape_.height}, int64_t{shape_.width}, int64_t{shape_.channels}})
        answer.add_shape(d);
    }
    answer.set_dtype(ToProtoDtype(DepthName(shape_.depth)));
    answer.set_layout(ToProtoLayout(layout_));
    if (region != nullptr) {
      pb::CudaSharedMemoryWrite* written = answer.mutable_output_region();
      written->set_name(region->name);
      written->set_offset(request_.output_region().offset());
      written->set_byte_size(static_cast<int64_t>(slot_bytes_) * n);
    }
    int succeeded;
    {
      MutexLock lock(&mu_);
      for (pb::BatchItem& item : items_) *answer.add_items() = std::move(item);
      succeeded = succeeded_;
    }
    answer.set_succeeded(succeeded);
    // Empty when the tensor went to a region.
    reactor_->Finish(ToGrpcStatus(SerializeMessageWithBytes(answer, pb::ProcessBatchResponse::kTensorFieldNumber,
                                                            std::move(tensor_), response_)));
  }

  const BatchServices& services_;
  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_;
  grpc::ServerUnaryReactor* const reactor_;
  const Clock::time_point arrival_ = Clock::now();
  // Set by Prepare, then read only.
  pb::ProcessBatchRequest request_;
  ImageSpec shape_;  // of one slot, in the tensor's dtype
  Layout layout_ = Layout::kHwc;
  size_t slot_bytes_ = 0;
  std::string device_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::vector<Slot> slots_;
  std::shared_ptr<const DeviceMemoryRegion> region_;  // the output region's lease, when the request named one
  std::string tensor_;                                // otherwise the tensor; each job writes its own slot
  Mutex mu_;
  std::vector<pb::BatchItem> items_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_) = 0;  // slots not yet recorded (+1 while Start submits)
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // jobs submitted whose done has not run
  int succeeded_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<size_t> parked_ ABSL_GUARDED_BY(mu_);  // refused for a full queue, waiting for a job of ours to end
};

}  // namespace

void StartBatch(const BatchServices& services, grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                grpc::ByteBuffer* response, grpc::ServerUnaryReactor* reactor) {
  std::make_shared<BatchCall>(services, context, response, reactor)->Start(request);
}

}  // namespace imgproc
