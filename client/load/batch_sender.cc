#include "batch_sender.h"

#include "absl/strings/str_cat.h"
#if IMGPROC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace imgproc::load {

namespace pb = ::imgproc::v1;

absl::StatusOr<std::unique_ptr<BatchSender>> BatchSender::Create(std::shared_ptr<grpc::Channel> channel,
                                                                 const pb::ProcessRequest& each,
                                                                 const std::vector<std::string>& images, size_t first,
                                                                 int size, BatchShape shape, int cuda_device,
                                                                 const std::string& region_name,
                                                                 std::chrono::milliseconds deadline) {
  std::unique_ptr<BatchSender> sender(new BatchSender());
  sender->stub_ = pb::ImageProcessorService::NewStub(channel);
  sender->deadline_ = deadline;
  pb::ProcessBatchRequest& request = sender->request_;
  for (int i = 0; i < size; ++i) request.add_images(images[(first + i) % images.size()]);
  *request.mutable_each() = each;
  request.mutable_each()->clear_image();
  request.set_width(shape.width);
  request.set_height(shape.height);
  request.set_channels(shape.channels);
  const pb::Dtype dtype = each.output().raw().dtype();
  const int value_bytes = dtype == pb::DTYPE_FLOAT32                                ? 4
                          : dtype == pb::DTYPE_UINT16 || dtype == pb::DTYPE_FLOAT16 ? 2
                                                                                    : 1;
  sender->tensor_bytes_ = int64_t{size} * shape.width * shape.height * shape.channels * value_bytes;
  if (cuda_device < 0) return sender;
#if IMGPROC_WITH_CUDA
  if (cudaSetDevice(cuda_device) != cudaSuccess ||
      cudaMalloc(&sender->device_buffer_, static_cast<size_t>(sender->tensor_bytes_)) != cudaSuccess) {
    return absl::UnavailableError(absl::StrCat("cannot allocate ", sender->tensor_bytes_, " bytes on cuda:",
                                               cuda_device, ": ", cudaGetErrorString(cudaGetLastError())));
  }
  sender->cuda_device_ = cuda_device;
  cudaIpcMemHandle_t handle;
  if (cudaIpcGetMemHandle(&handle, sender->device_buffer_) != cudaSuccess) {
    return absl::UnavailableError("cudaIpcGetMemHandle failed");
  }
  pb::RegisterCudaSharedMemoryRequest region;
  region.set_name(region_name);
  region.set_raw_handle(std::string(reinterpret_cast<const char*>(&handle), sizeof(handle)));
  region.set_device_id(cuda_device);
  region.set_byte_size(static_cast<uint64_t>(sender->tensor_bytes_));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  pb::RegisterCudaSharedMemoryResponse registered;
  const grpc::Status status = sender->stub_->RegisterCudaSharedMemory(&context, region, &registered);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("RegisterCudaSharedMemory: ", status.error_message()));
  }
  request.mutable_output_region()->set_name(region_name);
  return sender;
#else
  (void)region_name;
  return absl::UnimplementedError("--cuda_shared_memory needs imgproc-load built with the CUDA backend");
#endif
}

BatchSender::~BatchSender() {
#if IMGPROC_WITH_CUDA
  if (device_buffer_ == nullptr) return;
  if (request_.has_output_region()) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline_);
    pb::UnregisterCudaSharedMemoryRequest forget;
    forget.set_name(request_.output_region().name());
    pb::UnregisterCudaSharedMemoryResponse forgotten;
    stub_->UnregisterCudaSharedMemory(&context, forget, &forgotten);  // the server forgets it when it stops anyway
  }
  cudaSetDevice(cuda_device_);
  cudaFree(device_buffer_);
#endif
}

BatchAnswer BatchSender::Send() {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline_);
  pb::ProcessBatchResponse response;
  const grpc::Status status = stub_->ProcessBatch(&context, request_, &response);
  BatchAnswer answer{};
  answer.code = status.error_code();
  for (const std::string& image : request_.images()) answer.bytes_sent += static_cast<int64_t>(image.size());
  if (!status.ok()) return answer;
  answer.bytes_received = static_cast<int64_t>(response.ByteSizeLong());
  answer.images_ok = response.succeeded();
  const int64_t written = request_.has_output_region() ? response.output_region().byte_size()
                                                       : static_cast<int64_t>(response.tensor().size());
  answer.wrong = written != tensor_bytes_ || response.succeeded() != request_.images_size();
  for (const pb::BatchItem& item : response.items()) {
    if (item.status().code() != 0) continue;
    const pb::StageTimings& t = item.response().timings();
    const std::array<int64_t, 7> stages = {t.batch_wait_us(), t.queue_wait_us(), t.decode_us(), t.upload_us(),
                                           t.operations_us(), t.download_us(),   t.encode_us()};
    for (size_t k = 0; k < stages.size(); ++k) answer.stage_us[k] += stages[k];
  }
  if (answer.images_ok > 0) {
    for (int64_t& s : answer.stage_us) s /= answer.images_ok;
  }
  return answer;
}

}  // namespace imgproc::load
