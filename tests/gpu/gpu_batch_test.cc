// ProcessBatch into CUDA shared memory (issue 34), with two processes on one GPU: this test process allocates a
// buffer and exports its IPC handle, as a model server's client would; the server (another process) registers it,
// writes batches' tensors into it on the GPU, and this process reads them back. Parity with the bytes answer is
// exact; the bounds, the privilege and the regions in use are refused with their statuses.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "imgproc/v1/imgproc.grpc.pb.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"
#if IMGPROC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace imgproc::testing {
namespace {

namespace pb = ::imgproc::v1;

#if IMGPROC_WITH_CUDA

// A cudaMalloc buffer of this process, as a client lends it.
class ClientBuffer {
 public:
  explicit ClientBuffer(size_t bytes) : bytes_(bytes) {
    EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
    EXPECT_EQ(cudaMalloc(&data_, bytes), cudaSuccess);
    EXPECT_EQ(cudaMemset(data_, 0x5A, bytes), cudaSuccess);  // a pattern that no slot holds
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    cudaIpcMemHandle_t handle;
    EXPECT_EQ(cudaIpcGetMemHandle(&handle, data_), cudaSuccess);
    handle_.assign(reinterpret_cast<const char*>(&handle), sizeof(handle));
  }
  ~ClientBuffer() { cudaFree(data_); }
  const std::string& handle() const { return handle_; }
  size_t bytes() const { return bytes_; }
  std::string Read(size_t offset, size_t bytes) const {
    std::string host(bytes, '\0');
    EXPECT_EQ(cudaMemcpy(host.data(), static_cast<const char*>(data_) + offset, bytes, cudaMemcpyDeviceToHost),
              cudaSuccess);
    return host;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_;
  std::string handle_;
};

constexpr size_t kSlotBytes = 3 * 224 * 224 * 4;

// ModelInputChain's float32 CHW tensor, answered as bytes or into `region` at `offset`.
pb::ProcessBatchRequest Batch(const std::vector<std::string>& images, const std::string& region = "",
                              int64_t offset = 0) {
  pb::ProcessBatchRequest batch = BatchOf(images, ModelInputChain());
  if (!region.empty()) {
    batch.mutable_output_region()->set_name(region);
    batch.mutable_output_region()->set_offset(offset);
  }
  return batch;
}

grpc::Status Register(pb::ImageProcessorService::Stub& stub, const std::string& name, const std::string& handle,
                      uint64_t bytes, int64_t device = 0) {
  pb::RegisterCudaSharedMemoryRequest request;
  request.set_name(name);
  request.set_raw_handle(handle);
  request.set_device_id(device);
  request.set_byte_size(bytes);
  grpc::ClientContext context;
  pb::RegisterCudaSharedMemoryResponse response;
  return stub.RegisterCudaSharedMemory(&context, request, &response);
}

grpc::Status Unregister(pb::ImageProcessorService::Stub& stub, const std::string& name) {
  pb::UnregisterCudaSharedMemoryRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  pb::UnregisterCudaSharedMemoryResponse response;
  return stub.UnregisterCudaSharedMemory(&context, request, &response);
}

std::vector<std::string> Photos() {
  std::vector<std::string> photos;
  for (const char* name : {"nature/Garden.jpg", "nature/Aqua.jpg", "nature/FreshFlower.jpg", "nature/Dune.jpg"}) {
    photos.push_back(ReadFile(PhotoPath(name)));
  }
  return photos;
}

#endif  // IMGPROC_WITH_CUDA

TEST(GpuBatchTest, TheTensorWrittenIntoAnotherProcesssBufferEqualsTheBytesAnswer) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  ServerProcess server({"--backend=cuda", "--cuda_workers=2", "--allow_cuda_shared_memory"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ClientBuffer buffer(8 << 20);
  ASSERT_TRUE(Register(*stub, "tensors", buffer.handle(), buffer.bytes()).ok());

  std::vector<std::string> images = Photos();
  images.insert(images.begin() + 2, "not an image");  // slot 2 fails, the others are written
  constexpr int64_t kOffset = 4096;
  pb::ProcessBatchResponse in_region, as_bytes;
  grpc::Status status = CallBatch(*stub, Batch(images, "tensors", kOffset), &in_region);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = CallBatch(*stub, Batch(images), &as_bytes);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(in_region.succeeded(), 4);
  EXPECT_TRUE(in_region.tensor().empty()) << "no pixels through the host";
  EXPECT_EQ(in_region.output_region().name(), "tensors");
  EXPECT_EQ(in_region.output_region().offset(), kOffset);
  EXPECT_EQ(in_region.output_region().byte_size(), static_cast<int64_t>(5 * kSlotBytes));
  EXPECT_EQ(in_region.items(2).status().code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(in_region.items(0).response().device(), "cuda:0");
  const std::string written = buffer.Read(kOffset, 5 * kSlotBytes);
  for (size_t i = 0; i < 5; ++i) {
    const std::string slot = written.substr(i * kSlotBytes, kSlotBytes);
    if (i == 2) {
      EXPECT_EQ(slot, std::string(kSlotBytes, '\x5A')) << "a failed image's slot in a region is left as it was";
    } else {
      EXPECT_TRUE(slot == as_bytes.tensor().substr(i * kSlotBytes, kSlotBytes)) << "slot " << i << " differs";
    }
  }
  EXPECT_EQ(buffer.Read(0, kOffset), std::string(kOffset, '\x5A')) << "written before the offset";
  EXPECT_EQ(buffer.Read(kOffset + 5 * kSlotBytes, 4096), std::string(4096, '\x5A')) << "written past the tensor";
  EXPECT_TRUE(Unregister(*stub, "tensors").ok());
  EXPECT_EQ(server.Stop(SIGTERM), 0);
#endif
}

TEST(GpuBatchTest, BoundsNamesAndLimitsAreRefusedWithTheirStatus) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  ServerProcess server({"--backend=cuda", "--cuda_workers=2", "--allow_cuda_shared_memory",
                        "--max_cuda_shared_memory_regions_per_client=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ClientBuffer buffer(2 << 20), second(1 << 20), third(1 << 20);
  const std::string photo = ReadFile(PhotoPath("nature/Garden.jpg"));

  EXPECT_EQ(Register(*stub, "big", buffer.handle(), buffer.bytes() + 1).error_code(), grpc::INVALID_ARGUMENT)
      << "a size past the allocation";
  EXPECT_EQ(Register(*stub, "junk", std::string(64, '\x01'), 1024).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(Register(*stub, "short", "abc", 1024).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(Register(*stub, "elsewhere", buffer.handle(), buffer.bytes(), 7).error_code(), grpc::INVALID_ARGUMENT);
  ASSERT_TRUE(Register(*stub, "tensors", buffer.handle(), buffer.bytes()).ok());
  EXPECT_EQ(Register(*stub, "tensors", second.handle(), second.bytes()).error_code(), grpc::ALREADY_EXISTS);
  ASSERT_TRUE(Register(*stub, "second", second.handle(), second.bytes()).ok());
  const grpc::Status third_one = Register(*stub, "third", third.handle(), third.bytes());
  EXPECT_EQ(third_one.error_code(), grpc::RESOURCE_EXHAUSTED) << third_one.error_message();

  pb::ProcessBatchResponse response;
  EXPECT_EQ(CallBatch(*stub, Batch({photo}, "tensors", 100), &response).error_code(), grpc::INVALID_ARGUMENT)
      << "an offset off the 256-byte boundary";
  const grpc::Status past = CallBatch(*stub, Batch({photo, photo, photo, photo}, "tensors", 0), &response);
  EXPECT_EQ(past.error_code(), grpc::INVALID_ARGUMENT) << "4 slots of 602 KB past 2 MB: " << past.error_message();
  EXPECT_EQ(CallBatch(*stub, Batch({photo}, "nowhere", 0), &response).error_code(), grpc::NOT_FOUND);
  pb::ProcessBatchRequest on_cpu = Batch({photo}, "tensors", 0);
  on_cpu.mutable_each()->set_device("cpu");
  EXPECT_EQ(CallBatch(*stub, on_cpu, &response).error_code(), grpc::INVALID_ARGUMENT) << "the region is on cuda:0";
  EXPECT_EQ(Unregister(*stub, "nowhere").error_code(), grpc::NOT_FOUND);

  // A region cannot be unregistered while a batch writes to it: 64 4K photos keep one running for a while.
  const std::string large = ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg"));
  ClientBuffer roomy(64 * kSlotBytes);
  ASSERT_TRUE(Unregister(*stub, "second").ok());
  ASSERT_TRUE(Register(*stub, "roomy", roomy.handle(), roomy.bytes()).ok());
  auto running = std::async(std::launch::async, [&] {
    pb::ProcessBatchResponse answer;
    return CallBatch(*stub, Batch(std::vector<std::string>(64, large), "roomy", 0), &answer);
  });
  // Its jobs are admitted only after it holds the region: from then on it is in use.
  while (MetricSum(server.metrics_port(), "imgproc_in_flight_requests") == 0 &&
         running.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
  }
  int refused_while_running = 0, attempts = 0;
  while (running.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
    const grpc::Status unregistered = Unregister(*stub, "roomy");
    ++attempts;
    if (running.wait_for(std::chrono::seconds(0)) == std::future_status::ready) break;  // it may have just ended
    ASSERT_NE(unregistered.error_code(), grpc::OK) << "a region was unregistered under a running batch";
    if (unregistered.error_code() == grpc::FAILED_PRECONDITION) ++refused_while_running;
  }
  EXPECT_TRUE(running.get().ok());
  std::printf("unregister attempts while the batch ran: %d, refused: %d\n", attempts, refused_while_running);
  EXPECT_TRUE(Unregister(*stub, "roomy").ok()) << "free once the batch is answered";
  EXPECT_EQ(server.Stop(SIGTERM), 0);
#endif
}

TEST(GpuBatchTest, WithoutTheFlagRegistrationIsPermissionDenied) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  ServerProcess server({"--backend=cuda", "--cuda_workers=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ClientBuffer buffer(1 << 20);
  const grpc::Status status = Register(*stub, "tensors", buffer.handle(), buffer.bytes());
  EXPECT_EQ(status.error_code(), grpc::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("--allow_cuda_shared_memory"), std::string::npos) << status.error_message();
  // Batches answered as bytes need no privilege.
  pb::ProcessBatchResponse response;
  ASSERT_TRUE(CallBatch(*stub, Batch(Photos()), &response).ok());
  EXPECT_EQ(response.succeeded(), 4);
#endif
}

}  // namespace
}  // namespace imgproc::testing
