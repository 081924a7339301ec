#pragma once
// imgproc-load --batch (issue 34's W3B): one worker's ProcessBatch calls, each of N images through the run's chain,
// answered as bytes or, with --cuda_shared_memory, written on the GPU into a CUDA buffer of this process that the
// worker registered with the server: the tensor a model in this process would read, with no pixels through the host.

#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imgproc/client.h"
#include "imgproc/v1/imgproc.pb.h"

namespace imgproc::load {

struct BatchShape {
  int width = 0;
  int height = 0;
  int channels = 0;
};

struct BatchAnswer {
  int code = 0;                     // the call's status
  int64_t bytes_sent = 0;           // the request's images
  int64_t bytes_received = 0;       // the answer as serialized: the tensor, or only the items for a region
  int images_ok = 0;                // slots written
  bool wrong = false;               // an answer of another shape or size, or a slot not written
  std::array<int64_t, 7> stage_us;  // the items' stage means (as imgproc-load's kStageNames)
};

class BatchSender {
 public:
  // `each`: the chain and output, without an image; the batch takes `size` images of `images` from `first` on,
  // cyclically. With `cuda_device` >= 0, a CUDA buffer on it is registered as region `region_name` (a build without
  // CUDA answers UNIMPLEMENTED).
  static absl::StatusOr<std::unique_ptr<BatchSender>> Create(std::shared_ptr<grpc::Channel> channel,
                                                             const ClientOptions& options,
                                                             const imgproc::v1::ProcessRequest& each,
                                                             const std::vector<std::string>& images, size_t first,
                                                             int size, BatchShape shape, int cuda_device,
                                                             const std::string& region_name);
  ~BatchSender();
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  BatchAnswer Send();

 private:
  explicit BatchSender(std::unique_ptr<ImgprocClient> client) : client_(std::move(client)) {}

  std::unique_ptr<ImgprocClient> client_;
  imgproc::v1::ProcessBatchRequest request_;
  int64_t tensor_bytes_ = 0;
  int64_t images_bytes_ = 0;       // the request's images, sent with every call
  void* device_buffer_ = nullptr;  // the region's memory, with --cuda_shared_memory
  int cuda_device_ = -1;
};

}  // namespace imgproc::load
