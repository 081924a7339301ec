#include "batch_sender.h"

#include "absl/strings/str_cat.h"
#if IMGPROC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace imgproc::load {

namespace pb = ::imgproc::v1;

absl::StatusOr<std::unique_ptr<BatchSender>> BatchSender::Create(std::shared_ptr<grpc::Channel> channel,
                                                                 const ClientOptions& options,
                                                                 const pb::ProcessRequest& each,
                                                                 const std::vector<std::string>& images, size_t first,
                                                                 int size, BatchShape shape, int cuda_device,
                                                                 const std::string& region_name) {
  std::unique_ptr<BatchSender> sender(new BatchSender(std::make_unique<ImgprocClient>(std::move(channel), options)));
  pb::ProcessBatchRequest& request = sender->request_;
  for (int i = 0; i < size; ++i) {
    request.add_images(images[(first + i) % images.size()]);
    sender->images_bytes_ += static_cast<int64_t>(request.images(i).size());
  }
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
  const absl::Status registered = sender->client_->RegisterCudaSharedMemory(
      region_name, std::string(reinterpret_cast<const char*>(&handle), sizeof(handle)), cuda_device,
      static_cast<uint64_t>(sender->tensor_bytes_));
  if (!registered.ok()) {
    return absl::Status(registered.code(), absl::StrCat("RegisterCudaSharedMemory: ", registered.message()));
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
    // The server forgets it when it stops anyway.
    client_->UnregisterCudaSharedMemory(request_.output_region().name()).IgnoreError();
  }
  cudaSetDevice(cuda_device_);
  cudaFree(device_buffer_);
#endif
}

BatchAnswer BatchSender::Send() {
  const absl::StatusOr<pb::ProcessBatchResponse> answered = client_->ProcessBatch(request_);
  BatchAnswer answer{};
  answer.code = static_cast<int>(answered.status().code());
  answer.bytes_sent = images_bytes_;
  if (!answered.ok()) return answer;
  const pb::ProcessBatchResponse& response = *answered;
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
