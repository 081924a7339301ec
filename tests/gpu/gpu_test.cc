// GPU tests (ctest label gpu): CPU/CUDA parity for every operation, concurrency through the real server on
// the CUDA backend, steady-state device memory, and the fault paths. They skip, saying why, where the build
// has no CUDA backend or no GPU is usable.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/device_failure_checks.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/http.h"
#include "imgproc_testing/server_process.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "scheduler/worker_pool.h"
#include "transport/request_translation.h"
#if IMGPROC_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device_allocator.h"
#endif

namespace imgproc::testing {
namespace {

// How far the CUDA result may be from the CPU result, per case: the largest absolute difference of any
// value, and the share of values that may differ at all. Sources of difference, where not 0:
//  - interpolation and filters: NPP/cudev compute in float with other rounding than the CPU's fixed point;
//  - median, morphology: the GPU extends the border by reflection, the CPU by replication or neutral values;
//  - canny: the CUDA hysteresis differs near the thresholds; bilateral: float weights and exp approximations;
//  - hsv/lab/ycrcb: float formulas on the GPU versus tables on the CPU, off by one level at most.
struct Tolerance {
  double max_abs;
  double max_fraction;
};

Tolerance ToleranceFor(const std::string& name) {
  // Measured on an H100 (OpenCV 4.14, CUDA 13.0) over two photos, then rounded up; see the parity lines.
  static const std::vector<std::pair<std::string, Tolerance>> table = {
      {"resize_scale_half_cubic", {12, 0.3}},  // bicubic a = -0.5 on the GPU, -0.75 on the CPU
      {"resize_", {1, 0.2}},                   // float versus fixed-point bilinear weights
      {"rotate_30", {2, 0.06}},
      {"warp_perspective", {10, 0.2}},  // cubic, as resize
      {"warp_affine", {255, 0.02}},     // pixels on the edge of the constant border flip in or out
      {"cvt_color_HSV2BGR", {1, 0.4}},
      {"cvt_color_LAB2BGR", {2, 0.06}},
      {"cvt_color_", {1, 0.01}},
      {"gaussian_blur", {1, 0.03}},
      {"box_filter", {1, 0.5}},     // NPP truncates the mean, the CPU rounds it
      {"median_blur", {64, 0.01}},  // border handling
      {"bilateral", {2, 0.001}},
      {"canny", {255, 0.003}},      // hysteresis near the thresholds
      {"morphology", {255, 0.01}},  // border: reflection on the GPU, neutral value on the CPU
      {"clahe", {2, 0.002}},
      {"normalize", {1e-5, 1.0}},  // float32 rounding
  };
  for (const auto& [prefix, tolerance] : table) {
    if (name.rfind(prefix, 0) == 0) return tolerance;
  }
  return {0, 0};  // exact: crop, pad, flip, quarter turns, nearest resize, sobel, laplacian, threshold, gamma, ...
}

TEST(GpuParityTest, EveryOperationMatchesTheCpuWithinItsTolerance) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  std::unique_ptr<ExecutionLane> cpu = MakeCpuLane();
  // Without nvJPEG the lane decodes on the CPU, so both sides start from the same pixels: this test is about
  // the operations; gpu_codec_test.cc compares the GPU decoders with libjpeg.
  std::unique_ptr<ExecutionLane> gpu = CudaLaneFactory(0, nullptr, {})(0).value();
  for (const char* photo : {"nature/Dune.jpg", "nature/Garden.jpg"}) {
    const std::string image = ReadFile(PhotoPath(photo));
    for (const OpCase& c : OperationCases()) {
      const cv::Mat probe = c.reference(DecodeLikeServer(image, c.decode));
      const pb::Dtype dtype = probe.depth() == CV_32F ? pb::DTYPE_FLOAT32 : pb::DTYPE_UINT8;
      const pb::ProcessRequest request = RawRequest(image, c, dtype);
      absl::StatusOr<JobResult> want = RunPlanOn(*cpu, request);
      absl::StatusOr<JobResult> got = RunPlanOn(*gpu, request);
      ASSERT_TRUE(want.ok()) << c.name << ": " << want.status();
      ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
      auto as_mat = [&](const JobResult& r) {
        return RawToMat(r.image.bytes, r.image.spec.width, r.image.spec.height, r.image.spec.channels, dtype);
      };
      const PixelDiff diff = Compare(as_mat(*got), as_mat(*want));
      const Tolerance tolerance = ToleranceFor(c.name);
      std::string fallback;
      for (const auto& f : got->cpu_fallback_operations) fallback += " " + f;
      std::printf("parity %-14s %-36s max|diff| %8.4g  differing %7.4f%%%s\n", photo + 7, c.name.c_str(), diff.max_abs,
                  diff.fraction_differing * 100, fallback.empty() ? "" : (" cpu fallback:" + fallback).c_str());
      EXPECT_TRUE(diff.same_shape) << c.name;
      EXPECT_LE(diff.max_abs, tolerance.max_abs) << c.name << " on " << photo << ": " << diff.Describe();
      EXPECT_LE(diff.fraction_differing, tolerance.max_fraction)
          << c.name << " on " << photo << ": " << diff.Describe();
    }
  }
#endif
}

TEST(GpuParityTest, UnsupportedParametersRunOnTheCpuAndSaySo) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  std::unique_ptr<ExecutionLane> gpu = CudaLaneFactory(0, nullptr, {})(0).value();
  pb::ProcessRequest request;
  request.set_image(ReadFile(PhotoPath("nature/Dune.jpg")));
  request.add_operations()->mutable_flip();
  auto* blur = request.add_operations()->mutable_gaussian_blur();  // 41 taps: over OpenCV CUDA's 32
  blur->set_kernel_width(41);
  blur->set_sigma_x(7);
  request.mutable_output()->mutable_raw();
  absl::StatusOr<JobResult> got = RunPlanOn(*gpu, request);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->cpu_fallback_operations.size(), 1u);
  EXPECT_EQ(got->cpu_fallback_operations[0], "operations[1].gaussian_blur");
  absl::StatusOr<JobResult> want = RunPlanOn(*MakeCpuLane(), request);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(got->image.bytes, want->image.bytes);  // flip is exact, the blur ran on the same CPU code
#endif
}

// Exact operations on both backends, so every answer differs from the CPU's only by how the JPEG was decoded.
pb::ProcessRequest ExactRequest(const std::string& image, int i) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.set_request_id(std::to_string(i));
  request.add_operations()->mutable_flip()->set_axis(i % 2 ? pb::Flip::AXIS_VERTICAL : pb::Flip::AXIS_BOTH);
  auto* crop = request.add_operations()->mutable_crop();
  crop->set_x(i % 17);
  crop->set_y(i % 13);
  crop->set_width(1000);
  crop->set_height(900);
  request.add_operations()->mutable_cvt_color()->set_conversion(pb::CvtColor::CONVERSION_BGR2RGB);
  request.add_operations()->mutable_rotate()->set_angle(90 * (i % 4));
  request.mutable_output()->mutable_raw();
  return request;
}

// Concurrent requests are decoded together in batches on the JPEG engine (where the GPU has one), and each
// answer is its own image: within the GPU decoder's stated distance of the CPU's.
// float16 on the GPU (convertFp16 after the float32 conversion) is the GPU's float32 answer in half precision, value
// for value, as on the CPU (ops_test.cc), in both layouts.
TEST(GpuParityTest, RawFloat16IsTheFloat32AnswerInHalfPrecision) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  std::unique_ptr<ExecutionLane> gpu = CudaLaneFactory(0, nullptr, {})(0).value();
  const std::string photo = ReadFile(PhotoPath("nature/Garden.jpg"));
  const OpSpec normalize = Op("normalize", {{"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}}});
  const OpSpec resize = Op("resize", {{"width", 224}, {"height", 224}});
  for (Layout layout : {Layout::kHwc, Layout::kChw}) {
    absl::StatusOr<JobResult> full =
        RunPlanOn(*gpu, Request(photo).Then(resize).Then(normalize).Raw(Depth::kF32, layout));
    absl::StatusOr<JobResult> half =
        RunPlanOn(*gpu, Request(photo).Then(resize).Then(normalize).Raw(Depth::kF16, layout));
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_TRUE(half.ok()) << half.status();
    ASSERT_EQ(half->image.bytes.size(), full->image.bytes.size() / 2);
    EXPECT_TRUE(half->image.bytes == HalfPrecisionOf(full->image.bytes)) << (layout == Layout::kChw ? "CHW" : "HWC");
  }
#endif
}

TEST(GpuServerTest, TwoHundredFiftySixConcurrentRequestsAllCorrect) {
  SKIP_WITHOUT_GPU();
  ServerProcess server({"--backend=cuda", "--cuda_workers=4", "--queue_capacity=512"});
  ASSERT_TRUE(server.started());
  EXPECT_NE(server.first_line().find("backend cuda"), std::string::npos) << server.first_line();
  const std::vector<std::string> photos = NaturePhotos();
  std::vector<std::string> images;
  for (const auto& p : photos) images.push_back(ReadFile(p));
  std::unique_ptr<ExecutionLane> cpu = MakeCpuLane();
  std::atomic<int> correct{0};
  std::vector<std::future<std::string>> calls;
  auto channel = server.NewChannel();
  for (int i = 0; i < 256; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i]() -> std::string {
      const pb::ProcessRequest request = ExactRequest(images[i % images.size()], i);
      auto stub = pb::ImageProcessorService::NewStub(channel);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
      pb::ProcessResponse response;
      grpc::Status status = stub->Process(&context, request, &response);
      if (!status.ok()) return status.error_message();
      if (response.device().rfind("cuda:", 0) != 0) return "ran on " + response.device();
      static std::mutex cpu_mu;
      std::lock_guard<std::mutex> lock(cpu_mu);
      absl::StatusOr<JobResult> want = RunPlanOn(*cpu, request);
      if (!want.ok()) return want.status().ToString();
      const auto& s = want->image.spec;
      const cv::Mat got =
          RawToMat(response.image(), response.width(), response.height(), response.channels(), pb::DTYPE_UINT8);
      const cv::Mat expected = RawToMat(want->image.bytes, s.width, s.height, s.channels, pb::DTYPE_UINT8);
      if (!Compare(got, expected).same_shape || Psnr(got, expected) < 40.0) {
        return "pixels differ for request " + request.request_id();
      }
      ++correct;
      return "";
    }));
  }
  for (auto& call : calls) {
    const std::string error = call.get();
    EXPECT_TRUE(error.empty()) << error;
  }
  EXPECT_EQ(correct, 256);
  if (server.first_line().find("JPEG decode: JPEG engine (") != std::string::npos) {
    const std::map<std::string, double> metrics = ParseMetrics(HttpGet(server.metrics_port(), "/metrics"));
    const double batches = metrics.at(SeriesKey("imgproc_decode_batch_size_count", {{"device", "cuda:0"}}));
    const double images = metrics.at(SeriesKey("imgproc_decode_batch_size_sum", {{"device", "cuda:0"}}));
    std::printf("decode batches: %.0f images in %.0f batches\n", images, batches);
    EXPECT_GT(images / batches, 1.5) << "concurrent requests should share batches";
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

TEST(GpuMemoryTest, DeviceMemoryDoesNotGrowOverTenThousandRequests) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  // Three sizes and a chain that makes OpenCV allocate temporaries (filters, colour conversion, CLAHE).
  std::vector<std::string> images;
  for (const auto& [w, h] : {std::pair{320, 240}, {640, 480}, {256, 256}})
    images.push_back(EncodeAs(GeneratedImage(w, h), ".jpg"));
  auto request_for = [&](int i) {
    pb::ProcessRequest request;
    request.set_image(images[i % images.size()]);
    request.add_operations()->mutable_gaussian_blur()->set_kernel_width(5);
    request.add_operations()->mutable_resize()->set_scale(0.75);
    request.add_operations()->mutable_clahe();
    request.add_operations()->mutable_morphology()->set_op(pb::Morphology::OP_OPEN);
    request.mutable_output()->mutable_raw();
    return request;
  };
  WorkerPool pool(GpuDeviceDescription(), 4, 20000, CudaLaneFactory(0, nullptr, {}));
  std::vector<pb::ProcessRequest> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(request_for(i));
  int ok = 0, failed = 0;
  auto run = [&](int count) {
    const RunCounts counts = RunRequests(pool, requests, count);
    ok += counts.ok;
    failed += counts.failed;
  };
  run(400);  // warm-up: every worker sees every size
  size_t free_before = 0, free_after = 0, total = 0;
  cudaMemGetInfo(&free_before, &total);
  const int64_t mallocs_before = DeviceAllocator::Instance().device_malloc_calls();
  const int64_t allocated_before = DeviceAllocator::Instance().allocated_bytes(0);
  run(10000);
  cudaMemGetInfo(&free_after, &total);
  const int64_t mallocs_after = DeviceAllocator::Instance().device_malloc_calls();
  std::printf(
      "steady state: device used %zu -> %zu bytes, allocator holds %lld -> %lld bytes, cudaMalloc calls %lld -> %lld\n",
      total - free_before, total - free_after, (long long)allocated_before,
      (long long)DeviceAllocator::Instance().allocated_bytes(0), (long long)mallocs_before, (long long)mallocs_after);
  pool.Shutdown();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(ok, 10400);
  EXPECT_LE(total - free_after, total - free_before) << "device memory in use grew";
  EXPECT_EQ(mallocs_after, mallocs_before) << "cudaMalloc was called in steady state";
#endif
}

TEST(GpuFaultTest, DeviceOutOfMemoryIsResourceExhaustedAndTheServerKeepsServing) {
  SKIP_WITHOUT_GPU();
  // 64 MiB for this server's buffers: an 8000x8000 colour image (192 MB) cannot fit.
  ServerProcess server({"--backend=cuda", "--cuda_memory_limit=67108864"});
  ASSERT_TRUE(server.started());
  auto stub = server.NewStub();
  pb::ProcessRequest big;
  big.set_image(ReadFile(PhotoPath("nature/Dune.jpg")));
  auto* resize = big.add_operations()->mutable_resize();
  resize->set_width(8000);
  resize->set_height(8000);
  big.mutable_output()->mutable_raw();
  grpc::ClientContext context;
  pb::ProcessResponse response;
  grpc::Status status = stub->Process(&context, big, &response);
  EXPECT_EQ(status.error_code(), grpc::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("operations[0].resize"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("out of memory"), std::string::npos) << status.error_message();
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext again;
    pb::ProcessRequest small = ExactRequest(ReadFile(PhotoPath("nature/Dune.jpg")), i);
    EXPECT_TRUE(stub->Process(&again, small, &response).ok());
    EXPECT_EQ(response.device(), "cuda:0");
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// Sets an environment variable for the servers a test starts, and restores it afterwards.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A real sticky CUDA error (TEST ONLY --test_fault_injection=illegal_address_after=3: the lane that takes the fourth
// request launches a kernel that stores through an invalid pointer on its stream) fails the request that was
// running, takes the GPU out of service, and makes the server, with no other GPU, exit with code 3 for a restart.
TEST(GpuFaultTest, StickyCudaErrorTakesTheGpuOutOfServiceAndTheServerExitsWithCode3) {
  SKIP_WITHOUT_GPU();
  // One GPU, so that no other one keeps the server in service: the first that this test process may use.
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string visible_list = visible != nullptr && *visible != '\0' ? visible : "0";
  ScopedEnvironment one_gpu("CUDA_VISIBLE_DEVICES", visible_list.substr(0, visible_list.find(',')));
  ServerProcess server({"--backend=cuda", "--cuda_workers=2", "--test_fault_injection=illegal_address_after=3",
                        "--no_device_exit_delay=15s"},
                       TestingServerBinary());
  ASSERT_TRUE(server.started());
  EXPECT_EQ(DeviceState(server, "cuda:0", "serving"), 1);
  EXPECT_EQ(DeviceState(server, "cuda:0", "failed"), 0);
  auto stub = server.NewStub();
  const std::string photo = ReadFile(PhotoPath("nature/Dune.jpg"));
  for (int i = 0; i < 3; ++i) {
    pb::ProcessResponse response;
    const grpc::Status status = CallProcess(*stub, ExactRequest(photo, i), &response, std::chrono::seconds(60));
    ASSERT_TRUE(status.ok()) << "request " << i << " before the fault: " << status.error_message();
    EXPECT_EQ(response.device(), "cuda:0");
  }
  const grpc::Status faulted = CallProcess(*stub, ExactRequest(photo, 3), nullptr, std::chrono::seconds(60));
  std::printf("the faulting request: %d %s\n", static_cast<int>(faulted.error_code()), faulted.error_message().c_str());
  EXPECT_EQ(faulted.error_code(), grpc::StatusCode::INTERNAL) << faulted.error_message();
  EXPECT_NE(faulted.error_message().find("cuda:0"), std::string::npos) << faulted.error_message();
  // cudaErrorIllegalAddress where the store faults as intended; any sticky error names itself the same way.
  EXPECT_NE(faulted.error_message().find("cudaError"), std::string::npos) << faulted.error_message();
  EXPECT_NE(faulted.error_message().find("the device is out of service"), std::string::npos) << faulted.error_message();
  // 15 s of answering UNAVAILABLE, a 2 s grace, a 20 s watchdog at most, and room for a loaded machine.
  ExpectOutOfServiceThenExit(server, "cuda:0", ExactRequest(photo, 4), std::chrono::seconds(60));
}

}  // namespace
}  // namespace imgproc::testing
