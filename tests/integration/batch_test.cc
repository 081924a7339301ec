// ProcessBatch (issue 34) on the CPU backend, through the real server: the tensor's slots against each image's own
// Process answer, byte for byte; one bad image failing its slot only; what fails a whole batch; a batch larger than
// the queue; and CUDA shared memory refused with the status that says why. The GPU side (a second process's CUDA
// buffer written by the server) is tests/gpu/gpu_batch_test.cc.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "imgproc/client.h"
#include "imgproc/v1/imgproc.grpc.pb.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"

namespace imgproc::testing {
namespace {

namespace pb = ::imgproc::v1;

pb::ProcessRequest ModelInput(pb::Dtype dtype = pb::DTYPE_FLOAT32, pb::Layout layout = pb::LAYOUT_CHW) {
  return ModelInputChain(dtype, layout);
}

pb::ProcessBatchRequest Batch(const std::vector<std::string>& images, const pb::ProcessRequest& each, int width = 224,
                              int height = 224, int channels = 3) {
  return BatchOf(images, each, width, height, channels);
}

std::vector<std::string> Photos(std::initializer_list<const char*> names) {
  std::vector<std::string> photos;
  for (const char* name : names) photos.push_back(ReadFile(PhotoPath(name)));
  return photos;
}

// Slot `index` of the tensor equals the raw answer Process gives `image` with the same chain, byte for byte.
void ExpectSlotIsProcessAnswer(pb::ImageProcessorService::Stub& stub, const pb::ProcessBatchResponse& batch,
                               size_t index, const std::string& image, const pb::ProcessRequest& each) {
  pb::ProcessRequest single = each;
  single.set_image(image);
  pb::ProcessResponse alone;
  const grpc::Status status = CallProcess(stub, single, &alone);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const size_t slot = alone.image().size();
  ASSERT_EQ(batch.tensor().size() % slot, 0u);
  EXPECT_EQ(std::memcmp(batch.tensor().data() + index * slot, alone.image().data(), slot), 0)
      << "slot " << index << " differs from Process's answer";
}

TEST(ProcessBatchTest, EachSlotIsThatImagesProcessAnswerByteForByte) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const std::vector<std::string> photos =
      Photos({"nature/Garden.jpg", "nature/Aqua.jpg", "nature/FreshFlower.jpg", "nature/GreenMeadow.jpg"});
  for (pb::Dtype dtype : {pb::DTYPE_FLOAT32, pb::DTYPE_FLOAT16, pb::DTYPE_UINT8}) {
    for (pb::Layout layout : {pb::LAYOUT_CHW, pb::LAYOUT_HWC}) {
      SCOPED_TRACE(pb::Dtype_Name(dtype) + " " + pb::Layout_Name(layout));
      const pb::ProcessRequest each = ModelInput(dtype, layout);
      pb::ProcessBatchResponse batch;
      const grpc::Status status = CallBatch(*stub, Batch(photos, each), &batch);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(batch.request_id(), "batch-1");
      EXPECT_EQ(batch.succeeded(), 4);
      EXPECT_EQ(batch.dtype(), dtype);
      EXPECT_EQ(batch.layout(), layout);
      const std::vector<int64_t> want =
          layout == pb::LAYOUT_CHW ? std::vector<int64_t>{4, 3, 224, 224} : std::vector<int64_t>{4, 224, 224, 3};
      EXPECT_EQ(std::vector<int64_t>(batch.shape().begin(), batch.shape().end()), want);
      const size_t value_bytes = dtype == pb::DTYPE_FLOAT32 ? 4 : dtype == pb::DTYPE_FLOAT16 ? 2 : 1;
      ASSERT_EQ(batch.tensor().size(), 4u * 3 * 224 * 224 * value_bytes);
      ASSERT_EQ(batch.items_size(), 4);
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(batch.items(i).status().code(), 0) << batch.items(i).status().message();
        EXPECT_EQ(batch.items(i).response().width(), 224);
        EXPECT_TRUE(batch.items(i).response().image().empty()) << "the pixels are the slot's, not the item's";
        EXPECT_EQ(batch.items(i).response().device(), "cpu");
        ExpectSlotIsProcessAnswer(*stub, batch, i, photos[i], each);
      }
    }
  }
  // Each image counts as a request of its own, under the method's name: 6 batches of 4.
  std::string error;
  double images = 0;
  for (const auto& [series, value] : ParseMetrics(HttpGet(server.metrics_port(), "/metrics", &error))) {
    if (series.rfind("imgproc_requests_total{", 0) == 0 &&
        series.find("method=\"ProcessBatch\"") != std::string::npos) {
      images += value;
    }
  }
  EXPECT_EQ(images, 24) << error;
}

TEST(ProcessBatchTest, ABadImageFailsItsSlotAndTheOthersAreAnswered) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  std::vector<std::string> images = Photos({"nature/Garden.jpg", "nature/Aqua.jpg", "nature/FreshFlower.jpg"});
  const std::string garden = images[0];
  images[1] = "this is not an image";
  const pb::ProcessRequest each = ModelInput();
  const pb::ProcessBatchRequest request = Batch(images, each);
  pb::ProcessBatchResponse batch;
  grpc::Status status = CallBatch(*stub, request, &batch);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(batch.succeeded(), 2);
  ASSERT_EQ(batch.items_size(), 3);
  EXPECT_EQ(batch.items(0).status().code(), 0);
  EXPECT_EQ(batch.items(1).status().code(), grpc::INVALID_ARGUMENT) << batch.items(1).status().message();
  EXPECT_FALSE(batch.items(1).has_response());
  EXPECT_EQ(batch.items(2).status().code(), 0);
  const size_t slot = batch.tensor().size() / 3;
  EXPECT_EQ(std::string(slot, '\0'), batch.tensor().substr(slot, slot)) << "a failed image's slot is zeros";
  ExpectSlotIsProcessAnswer(*stub, batch, 0, garden, each);
  ExpectSlotIsProcessAnswer(*stub, batch, 2, images[2], each);

  // An image whose chain ends in another size than the tensor's fails its slot, saying both.
  pb::ProcessRequest as_stored;
  as_stored.mutable_output()->mutable_raw();
  const std::string small = EncodeAs(GeneratedImage(64, 48), ".png");
  const std::string other = EncodeAs(GeneratedImage(48, 64), ".png");
  status = CallBatch(*stub, Batch({small, other, small}, as_stored, 64, 48, 3), &batch);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(batch.succeeded(), 2);
  EXPECT_EQ(batch.items(1).status().code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(batch.items(1).status().message().find("48x64x3"), std::string::npos) << batch.items(1).status().message();
  EXPECT_NE(batch.items(1).status().message().find("64x48x3"), std::string::npos) << batch.items(1).status().message();
}

TEST(ProcessBatchTest, WhatIsWrongWithTheWholeBatchFailsTheCallSayingWhat) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--max_batch_images=3", "--max_output_bytes=1500000"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const std::string photo = ReadFile(PhotoPath("nature/FreshFlower.jpg"));
  struct Case {
    const char* name;
    pb::ProcessBatchRequest request;
    grpc::StatusCode code;
    const char* says;
  };
  std::vector<Case> cases;
  cases.push_back({"no images", Batch({}, ModelInput()), grpc::INVALID_ARGUMENT, "images"});
  cases.push_back({"too many", Batch({photo, photo, photo, photo}, ModelInput()), grpc::INVALID_ARGUMENT,
                   "Limits.max_batch_images"});
  pb::ProcessRequest encoded = ModelInput();
  encoded.mutable_output()->mutable_jpeg();
  cases.push_back({"encoded output", Batch({photo}, encoded), grpc::INVALID_ARGUMENT, "OutputSpec.raw"});
  pb::ProcessRequest with_image = ModelInput();
  with_image.set_image(photo);
  cases.push_back({"each.image set", Batch({photo}, with_image), grpc::INVALID_ARGUMENT, "each.image"});
  cases.push_back({"two channels", Batch({photo}, ModelInput(), 224, 224, 2), grpc::INVALID_ARGUMENT, "channels"});
  cases.push_back({"no size", Batch({photo}, ModelInput(), 0, 224), grpc::INVALID_ARGUMENT, "width"});
  pb::ProcessRequest bad_enum = ModelInput();
  bad_enum.set_decode_mode(static_cast<pb::DecodeMode>(77));
  cases.push_back({"undeclared enum value", Batch({photo}, bad_enum), grpc::INVALID_ARGUMENT, "each.decode_mode"});
  // 3 x 602 KB of float32 is over the 1.5 MB answer bound.
  cases.push_back({"tensor too large", Batch({photo, photo, photo}, ModelInput()), grpc::RESOURCE_EXHAUSTED,
                   "Limits.max_output_bytes"});
  pb::ProcessBatchRequest to_region = Batch({photo}, ModelInput());
  to_region.mutable_output_region()->set_name("tensors");
  cases.push_back({"a region on the CPU backend", to_region, grpc::FAILED_PRECONDITION, "cuda backend"});
  for (const Case& c : cases) {
    pb::ProcessBatchResponse response;
    const grpc::Status status = CallBatch(*stub, c.request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.says), std::string::npos) << c.name << ": " << status.error_message();
  }
  // A chain the plan refuses is refused for every image, each in its slot (the plan is made per image).
  pb::ProcessRequest empty_step = ModelInput();
  empty_step.add_operations();
  pb::ProcessBatchResponse refused;
  ASSERT_TRUE(CallBatch(*stub, Batch({photo, photo}, empty_step), &refused).ok());
  EXPECT_EQ(refused.succeeded(), 0);
  for (const pb::BatchItem& item : refused.items()) {
    EXPECT_EQ(item.status().code(), grpc::INVALID_ARGUMENT);
    EXPECT_NE(item.status().message().find("operations[2]"), std::string::npos) << item.status().message();
  }
  // Still serving.
  pb::ProcessBatchResponse response;
  EXPECT_TRUE(CallBatch(*stub, Batch({photo, photo}, ModelInput(pb::DTYPE_UINT8)), &response).ok());
  EXPECT_EQ(response.succeeded(), 2);
}

// Each image is a job of the device's queue; a batch larger than the free queue waits for its own jobs to finish
// instead of failing the images that did not fit.
TEST(ProcessBatchTest, ABatchLargerThanTheQueueRunsWhole) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=1", "--queue_capacity=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  const std::vector<std::string> photos = Photos({"nature/FreshFlower.jpg", "nature/Garden.jpg", "nature/Aqua.jpg"});
  std::vector<std::string> images;
  for (int i = 0; i < 12; ++i) images.push_back(photos[i % 3]);
  pb::ProcessBatchResponse batch;
  const grpc::Status status = CallBatch(*stub, Batch(images, ModelInput(pb::DTYPE_UINT8)), &batch);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int i = 0; i < batch.items_size(); ++i) {
    EXPECT_EQ(batch.items(i).status().code(), 0) << i << ": " << batch.items(i).status().message();
  }
  EXPECT_EQ(batch.succeeded(), 12);
  for (int i = 0; i < 3; ++i) ExpectSlotIsProcessAnswer(*stub, batch, 9 + i, photos[i], ModelInput(pb::DTYPE_UINT8));
}

// The installable C++ client's calls: the same tensor as the stub's, and the refusals as absl statuses.
TEST(ProcessBatchTest, TheCppClientLibraryCallsIt) {
  ServerProcess server({"--backend=cpu", "--cpu_workers=2"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  ImgprocClient client(server.address());
  const pb::ProcessBatchRequest request =
      Batch(Photos({"nature/FreshFlower.jpg", "nature/Garden.jpg"}), ModelInput(pb::DTYPE_UINT8));
  absl::StatusOr<pb::ProcessBatchResponse> through_library = client.ProcessBatch(request);
  ASSERT_TRUE(through_library.ok()) << through_library.status();
  pb::ProcessBatchResponse through_stub;
  ASSERT_TRUE(CallBatch(*stub, request, &through_stub).ok());
  EXPECT_EQ(through_library->succeeded(), 2);
  EXPECT_TRUE(through_library->tensor() == through_stub.tensor());
  EXPECT_EQ(client.RegisterCudaSharedMemory("tensors", std::string(64, '\0'), 0, 1024).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.UnregisterCudaSharedMemory("tensors").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CudaSharedMemoryTest, TheCpuBackendRefusesRegionsSayingWhy) {
  ServerProcess server({"--backend=cpu", "--allow_cuda_shared_memory"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  pb::RegisterCudaSharedMemoryRequest region;
  region.set_name("tensors");
  region.set_raw_handle(std::string(64, '\1'));
  region.set_byte_size(1 << 20);
  {
    grpc::ClientContext context;
    pb::RegisterCudaSharedMemoryResponse response;
    const grpc::Status status = stub->RegisterCudaSharedMemory(&context, region, &response);
    EXPECT_EQ(status.error_code(), grpc::FAILED_PRECONDITION) << status.error_message();
    EXPECT_NE(status.error_message().find("cuda backend"), std::string::npos) << status.error_message();
  }
  {
    grpc::ClientContext context;
    pb::UnregisterCudaSharedMemoryRequest forget;
    forget.set_name("tensors");
    pb::UnregisterCudaSharedMemoryResponse response;
    const grpc::Status status = stub->UnregisterCudaSharedMemory(&context, forget, &response);
    EXPECT_EQ(status.error_code(), grpc::FAILED_PRECONDITION) << status.error_message();
  }
  grpc::ClientContext context;
  pb::GetServerInfoResponse info;
  ASSERT_TRUE(stub->GetServerInfo(&context, pb::GetServerInfoRequest(), &info).ok());
  EXPECT_EQ(info.limits().max_cuda_shared_memory_regions_per_client(), 0);
  EXPECT_EQ(info.limits().max_batch_images(), 256);
}

}  // namespace
}  // namespace imgproc::testing
