// Bounded, deterministic mutation testing of the input path: flipped bytes, truncation and spliced headers
// in real encoded images of every format, through validation, decoding, a chain and encoding. Every input
// must end in OK or INVALID_ARGUMENT (never a crash, never another code).
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/cpu_backend.h"
#include "common/test_support.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

TEST(CorruptInputTest, MutatedImagesNeverCrashAndFailAsInvalidArgument) {
  const cv::Mat image = GeneratedImage(64, 48);
  const std::vector<std::string> seeds = {EncodeAs(image, ".jpg"), EncodeAs(image, ".png"), EncodeAs(image, ".webp"),
                                          EncodeAs(image, ".tiff"), EncodeAs(image, ".bmp"),
                                          EncodeAs(GeneratedImage(40, 30, 4), ".png")};
  std::mt19937 random(20261124);  // fixed: the same inputs on every run
  std::unique_ptr<ExecutionLane> lane = CpuLaneFactory()(0);
  ImageLimits limits;
  limits.max_pixels = 4'000'000;  // mutated headers may claim large sizes; keep each decode small
  int ok = 0, invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = Mutate(seeds, i, random);
    pb::ProcessRequest request;
    request.set_image(bytes);
    request.set_decode_mode(static_cast<pb::DecodeMode>(random() % 3));
    request.add_operations()->mutable_resize()->set_scale(0.5);
    request.add_operations()->mutable_gaussian_blur()->set_kernel_width(3);
    request.mutable_output()->mutable_png();
    absl::StatusOr<Plan> plan = BuildPlan(request, limits);
    absl::Status status = plan.status();
    if (plan.ok()) {
      Job job;
      job.plan = std::make_shared<const Plan>(*std::move(plan));
      job.input = request.image();
      status = lane->Run(job).status();
    }
    ASSERT_TRUE(status.ok() || status.code() == absl::StatusCode::kInvalidArgument)
        << "input " << i << ": " << status;
    (status.ok() ? ok : invalid)++;
  }
  std::printf("corrupt inputs: %d still decodable, %d refused as INVALID_ARGUMENT\n", ok, invalid);
  EXPECT_GT(invalid, 10000);
}

}  // namespace
}  // namespace imgproc::testing
