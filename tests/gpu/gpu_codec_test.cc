// GPU JPEG codecs (ctest label gpu): nvJPEG decode against libjpeg-turbo on every test photo and on generated
// images of every subsampling, GPU encode against the CPU encoder, where each kind of input is decoded, CMYK,
// corrupt inputs in batches beside intact ones, and memory over many requests. They skip, saying why, where
// the build has no CUDA backend or no GPU is usable.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <random>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "imgproc_testing/engine.h"
#include "imgproc_testing/gpu_test_support.h"
#include "imgproc_testing/test_support.h"
#include "pipeline/plan.h"
#include "scheduler/worker_pool.h"
#include "transport/request_translation.h"
#if IMGPROC_WITH_CUDA
#include <opencv2/core/cuda_stream_accessor.hpp>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device_allocator.h"
#include "backend/cuda/jpeg_decode_stage.h"
#include "codec/cuda/jpeg_cuda_decoder.h"
#include "codec/cuda/jpeg_cuda_encoder.h"
#include "codec/cuda/jpeg_engine_decoder.h"
#endif

namespace imgproc::testing {
namespace {

// How far GPU decodes may be from libjpeg-turbo, measured on an H100 over the photos and generated images
// below (the "decode" lines they print), with margin. Luma is exact for baseline JPEGs and within 1 level
// for progressive ones. Chroma: the CUDA decoder interpolates like libjpeg's "fancy upsampling" (max 1 level
// on baseline, 3 on progressive, PSNR >= 60 dB); the JPEG engine repeats chroma samples, which costs 44-58 dB
// on the photos and 28.6 dB on generated images whose saturated text edges are the worst case for it.
struct DecodeTolerance {
  double min_psnr;
  double max_mean_abs;
};
constexpr DecodeTolerance kCudaDecode{58.0, 0.05};
constexpr DecodeTolerance kEngineDecodePhoto{42.0, 1.0};
constexpr DecodeTolerance kEngineDecodeGenerated{28.0, 6.0};
constexpr double kMinDecodePsnr = 40.0;  // what a photo decoded by either GPU decoder always reaches
// GPU-encoded JPEGs, decoded by libjpeg, against the source: at most this far below the CPU encoder's PSNR
// at the same quality (both 4:2:0 with the standard tables scaled by quality).
constexpr double kMaxEncodePsnrLoss = 1.0;

#if IMGPROC_WITH_CUDA

struct NamedJpeg {
  std::string name;
  std::string bytes;
};

// Every photo, and generated images for what the photos lack: 4:4:4, grayscale, progressive, odd sizes.
std::vector<NamedJpeg> DecodeCorpus() {
  std::vector<NamedJpeg> corpus;
  for (const std::string& path : NaturePhotos()) corpus.push_back({path.substr(path.rfind('/') + 1), ReadFile(path)});
  corpus.push_back({"Elephants_3840x2160.jpg", ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg"))});
  const cv::Mat picture = GeneratedImage(333, 201);
  corpus.push_back({"generated 4:2:0 q90", EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90})});
  corpus.push_back({"generated 4:4:4", EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_SAMPLING_FACTOR, 0x111111})});
  corpus.push_back({"generated 4:2:2", EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_SAMPLING_FACTOR, 0x211111})});
  corpus.push_back({"generated progressive", EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1})});
  corpus.push_back({"generated restart markers", EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 4})});
  corpus.push_back({"generated grayscale", EncodeAs(GeneratedImage(333, 201, 1), ".jpg")});
  return corpus;
}

cv::Mat Download(const cv::cuda::GpuMat& m) {
  cv::Mat host;
  m.download(host);
  return host;
}

void ExpectCloseDecode(const std::string& what, const cv::Mat& got, const cv::Mat& want,
                       DecodeTolerance tolerance = {kMinDecodePsnr, 1.0}) {
  ASSERT_EQ(got.size(), want.size()) << what;
  ASSERT_EQ(got.type(), want.type()) << what;
  const PixelDiff diff = Compare(got, want);
  const double psnr = Psnr(got, want);
  const double mean_abs = cv::norm(got, want, cv::NORM_L1) / static_cast<double>(got.total() * got.channels());
  std::printf("decode %-32s PSNR %6.2f dB  mean|diff| %.3f  max|diff| %3.0f\n", what.c_str(), psnr, mean_abs,
              diff.max_abs);
  EXPECT_GE(psnr, tolerance.min_psnr) << what;
  EXPECT_LE(mean_abs, tolerance.max_mean_abs) << what;
}

absl::StatusOr<JobResult> RunThroughPool(WorkerPool& pool, const pb::ProcessRequest& request) {
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  if (!plan.ok()) return plan.status();
  std::promise<absl::StatusOr<JobResult>> answer;
  Job job;
  job.plan = std::make_shared<const Plan>(*std::move(plan));
  job.input = request.image();
  job.done = [&](absl::StatusOr<JobResult> r) { answer.set_value(std::move(r)); };
  pool.Submit(std::move(job));  // a refusal, too, comes through done
  return answer.get_future().get();
}

#endif  // IMGPROC_WITH_CUDA

TEST(GpuCodecTest, DecodeOnTheJpegEngineAndOnTheSmsMatchesLibjpeg) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> device = NvJpegDevice::Create(0, true);
  ASSERT_TRUE(device.ok()) << device.status();
  absl::StatusOr<std::unique_ptr<JpegCudaDecoder>> cuda = JpegCudaDecoder::Create(**device);
  ASSERT_TRUE(cuda.ok()) << cuda.status();
  absl::StatusOr<std::unique_ptr<JpegStageCudaDecoder>> stage = JpegStageCudaDecoder::Create(**device);
  ASSERT_TRUE(stage.ok()) << stage.status();
  absl::StatusOr<std::unique_ptr<JpegEngineDecoder>> engine = JpegEngineDecoder::Create(**device);
  absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> classifier = JpegEngineClassifier::Create(**device);
  std::printf("JPEG engine: %s\n", engine.ok() ? "present" : std::string(engine.status().message()).c_str());
  cv::cuda::Stream stream;
  const cudaStream_t raw = cv::cuda::StreamAccessor::getStream(stream);

  std::vector<absl::string_view> batch;
  std::vector<const NamedJpeg*> batch_members;
  int taken_by_engine = 0;
  const std::vector<NamedJpeg> corpus = DecodeCorpus();  // the batch below points into it
  for (const NamedJpeg& jpeg : corpus) {
    const cv::Mat want = cv::imdecode(
        cv::Mat(1, static_cast<int>(jpeg.bytes.size()), CV_8U, const_cast<char*>(jpeg.bytes.data())), cv::IMREAD_COLOR);
    cv::cuda::GpuMat out;
    absl::StatusOr<int> channels = (*cuda)->Decode(jpeg.bytes, false, out, raw);
    ASSERT_TRUE(channels.ok()) << jpeg.name << ": " << channels.status();
    stream.waitForCompletion();
    cv::Mat got = Download(out);
    if (*channels == 1) cv::cvtColor(got, got, cv::COLOR_GRAY2BGR);
    ExpectCloseDecode(jpeg.name + " (cuda)", got, want, kCudaDecode);

    cv::Mat luma_want =
        cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.bytes.size()), CV_8U, const_cast<char*>(jpeg.bytes.data())),
                     cv::IMREAD_GRAYSCALE);
    ASSERT_TRUE((*cuda)->Decode(jpeg.bytes, true, out, raw).ok()) << jpeg.name;
    stream.waitForCompletion();
    ExpectCloseDecode(jpeg.name + " (cuda, luma)", Download(out), luma_want, kCudaDecode);

    // The decode stage's own decoder (progressive JPEGs, beside the lanes): the same nvJPEG decode, into
    // memory of its own; it takes colour JPEGs only, and refuses a size other than the plan's.
    absl::StatusOr<std::unique_ptr<DeviceImage>> staged = (*stage)->Decode(jpeg.bytes, want.cols, want.rows);
    if (*channels == 3) {
      ASSERT_TRUE(staged.ok()) << jpeg.name << ": " << staged.status();
      EXPECT_EQ(cv::norm(Download((*staged)->view()), got, cv::NORM_INF), 0) << jpeg.name << " (stage decoder)";
      EXPECT_EQ((*stage)->Decode(jpeg.bytes, want.cols + 1, want.rows).status().code(),
                absl::StatusCode::kInvalidArgument)
          << jpeg.name;
    } else {
      EXPECT_EQ(staged.status().code(), absl::StatusCode::kInvalidArgument) << jpeg.name;
    }

    if (classifier.ok() && (*classifier)->Inspect(jpeg.bytes)) {
      ++taken_by_engine;
      batch.push_back(jpeg.bytes);
      batch_members.push_back(&jpeg);
    }
  }
  if (!engine.ok()) return;
  // All engine-capable images in one batch: each must come back as its own image.
  std::printf("the JPEG engine takes %d of the corpus\n", taken_by_engine);
  EXPECT_GE(taken_by_engine, 7) << "the baseline photos should qualify";
  {
    // Request threads classify at once, sharing the classifier's parsers: each answer as when alone.
    std::vector<std::thread> threads;
    std::atomic<int> disagreements{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int pass = 0; pass < 20; ++pass) {
          int taken = 0;
          for (const NamedJpeg& jpeg : corpus) {
            std::optional<EngineJpeg> inspected = (*classifier)->Inspect(jpeg.bytes);
            if (!inspected) continue;
            ++taken;
            const cv::Mat decoded = cv::imdecode(
                cv::Mat(1, static_cast<int>(jpeg.bytes.size()), CV_8U, const_cast<char*>(jpeg.bytes.data())),
                cv::IMREAD_REDUCED_COLOR_8);
            // Its frame size, checked against libjpeg's 1/8 scaled decode (cheap) by rounding up.
            if (static_cast<int>((inspected->width + 7) / 8) != decoded.cols ||
                static_cast<int>((inspected->height + 7) / 8) != decoded.rows) {
              ++disagreements;
            }
          }
          if (taken != taken_by_engine) ++disagreements;
          if (pass == 0 && disagreements > 0) return;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(disagreements.load(), 0);
  }
  absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> images = (*engine)->Decode(**classifier, batch);
  ASSERT_TRUE(images.ok()) << images.status();
  for (size_t i = 0; i < batch.size(); ++i) {
    cudaEventSynchronize((*images)[i]->batch().done());
    const std::string& bytes = batch_members[i]->bytes;
    const cv::Mat want = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())), cv::IMREAD_COLOR);
    const bool generated = batch_members[i]->name.rfind("generated", 0) == 0;
    ExpectCloseDecode(batch_members[i]->name + " (engine)", Download((*images)[i]->view()), want,
                      generated ? kEngineDecodeGenerated : kEngineDecodePhoto);
    (*images)[i].reset();  // Download waited for its read
  }
  stream.waitForCompletion();
#endif
}

TEST(GpuCodecTest, GpuEncodedJpegsAreAsFaithfulAsTheCpuEncoders) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> device = NvJpegDevice::Create(0, false);
  ASSERT_TRUE(device.ok()) << device.status();
  cv::cuda::Stream stream;
  const cudaStream_t raw = cv::cuda::StreamAccessor::getStream(stream);
  absl::StatusOr<std::unique_ptr<JpegCudaEncoder>> encoder = JpegCudaEncoder::Create(**device, raw);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const std::vector<std::pair<std::string, cv::Mat>> sources = {
      {"Dune", DecodeLikeServer(ReadFile(PhotoPath("nature/Dune.jpg")))},
      {"generated 333x201", GeneratedImage(333, 201)},
      {"generated gray", GeneratedImage(320, 240, 1)}};
  for (const auto& [name, source] : sources) {
    for (int quality : {50, 75, 90, 95}) {
      cv::cuda::GpuMat on_device;
      on_device.upload(source);
      absl::StatusOr<std::string> gpu = (*encoder)->Encode(on_device, quality, raw);
      ASSERT_TRUE(gpu.ok()) << gpu.status();
      const std::string cpu = EncodeAs(source, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality});
      const int flags = source.channels() == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
      const cv::Mat gpu_decoded = cv::imdecode(cv::Mat(1, static_cast<int>(gpu->size()), CV_8U, gpu->data()), flags);
      const cv::Mat cpu_decoded =
          cv::imdecode(cv::Mat(1, static_cast<int>(cpu.size()), CV_8U, const_cast<char*>(cpu.data())), flags);
      ASSERT_FALSE(gpu_decoded.empty()) << name << " q" << quality << ": libjpeg cannot read the GPU's JPEG";
      const double gpu_psnr = Psnr(gpu_decoded, source), cpu_psnr = Psnr(cpu_decoded, source);
      std::printf("encode %-18s q%-3d GPU %6.2f dB %7zu bytes | CPU %6.2f dB %7zu bytes\n", name.c_str(), quality,
                  gpu_psnr, gpu->size(), cpu_psnr, cpu.size());
      EXPECT_GE(gpu_psnr, cpu_psnr - kMaxEncodePsnrLoss) << name << " q" << quality;
    }
  }
#endif
}

TEST(GpuCodecTest, EachKindOfInputGoesToTheDecoderThatTakesIt) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  CudaCodecOptions options;
  options.decode_stage.progressive_threads = 2;
  CudaDeviceSetup setup = SetUpCudaDevice(0, "cuda:0", options);
  const bool engine = setup.decode_stage != nullptr;
  WorkerPool pool(GpuDeviceDescription(), 2, 64, std::move(setup.lanes), nullptr, std::move(setup.decode_stage));
  const cv::Mat picture = GeneratedImage(160, 120);
  cv::Mat small;
  cv::resize(cv::imread(PhotoPath("nature/Aqua.jpg")), small, cv::Size(256, 256), 0, 0, cv::INTER_AREA);
  const std::string small_photo = EncodeAs(small, ".jpg");
  struct Case {
    std::string name, bytes;
    pb::DecodeMode mode;
    std::string path;
    bool decode_stage;  // decoded before the lane (the engine's batches, the progressive threads)
  };
  const std::vector<Case> cases = {
      {"baseline photo", ReadFile(PhotoPath("nature/Aqua.jpg")), pb::DECODE_MODE_COLOR, engine ? "engine" : "cuda",
       engine},
      {"progressive photo", ReadFile(PhotoPath("nature/GreenMeadow.jpg")), pb::DECODE_MODE_COLOR, "cuda", engine},
      {"progressive photo, grayscale", ReadFile(PhotoPath("nature/GreenMeadow.jpg")), pb::DECODE_MODE_GRAYSCALE, "cuda",
       false},
      {"small baseline photo (below min_decode_batch_pixels)", small_photo, pb::DECODE_MODE_COLOR, "cuda", false},
      {"baseline photo, grayscale", ReadFile(PhotoPath("nature/Aqua.jpg")), pb::DECODE_MODE_GRAYSCALE, "cuda", false},
      {"grayscale JPEG", EncodeAs(GeneratedImage(160, 120, 1), ".jpg"), pb::DECODE_MODE_COLOR, "cuda", false},
      {"CMYK JPEG", ReadFile(TestDataPath("cmyk_64x48.jpg")), pb::DECODE_MODE_COLOR, "cpu", false},
      {"PNG", EncodeAs(picture, ".png"), pb::DECODE_MODE_COLOR, "cpu", false},
      {"WebP", EncodeAs(picture, ".webp"), pb::DECODE_MODE_COLOR, "cpu", false},
  };
  std::unique_ptr<ExecutionLane> cpu = MakeCpuLane();
  for (const Case& c : cases) {
    pb::ProcessRequest request;
    request.set_image(c.bytes);
    request.set_decode_mode(c.mode);
    request.add_operations()->mutable_flip();
    request.mutable_output()->mutable_raw();
    absl::StatusOr<JobResult> got = RunThroughPool(pool, request);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    EXPECT_EQ(CodecPathName(got->decode_path), c.path) << c.name;
    // Only jobs that passed through the decode stage spend time in it.
    EXPECT_EQ(got->timings.batch_wait_us > 0, c.decode_stage) << c.name << ": " << got->timings.batch_wait_us << " us";
    absl::StatusOr<JobResult> want = RunPlanOn(*cpu, request);
    ASSERT_TRUE(want.ok());
    const cv::Mat g = RawToMat(got->image.bytes, got->image.spec.width, got->image.spec.height,
                               got->image.spec.channels, pb::DTYPE_UINT8);
    const cv::Mat w = RawToMat(want->image.bytes, want->image.spec.width, want->image.spec.height,
                               want->image.spec.channels, pb::DTYPE_UINT8);
    if (c.path == "cpu") {
      EXPECT_EQ(got->image.bytes, want->image.bytes) << c.name << ": the same decoder must give the same pixels";
    } else {
      ExpectCloseDecode(c.name + " via " + c.path, g, w);
    }
  }
  pool.Shutdown();
#endif
}

// The decode stage's GPU Huffman decoder (baseline JPEGs beside the engine): libjpeg's pixels as closely as the
// other GPU decoders; what it does not take (one component, a size other than the plan's, whatever nvJPEG says its
// backend does not support) is INVALID_ARGUMENT, for the lane to decode instead.
TEST(GpuCodecTest, TheGpuHuffmanDecoderMatchesLibjpegOrRefusesWhatItDoesNotTake) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> device = NvJpegDevice::Create(0, false);
  ASSERT_TRUE(device.ok()) << device.status();
  absl::StatusOr<std::unique_ptr<JpegGpuHuffmanDecoder>> decoder = JpegGpuHuffmanDecoder::Create(**device);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  int decoded = 0;
  for (const NamedJpeg& jpeg : DecodeCorpus()) {
    const cv::Mat want = cv::imdecode(
        cv::Mat(1, static_cast<int>(jpeg.bytes.size()), CV_8U, const_cast<char*>(jpeg.bytes.data())), cv::IMREAD_COLOR);
    absl::StatusOr<std::unique_ptr<DeviceImage>> image = (*decoder)->Decode(jpeg.bytes, want.cols, want.rows);
    if (jpeg.name.find("grayscale") != std::string::npos) {
      EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << jpeg.name << ": " << image.status();
      continue;
    }
    if (!image.ok()) {
      std::printf("GPU Huffman decoder refuses %s: %s\n", jpeg.name.c_str(), image.status().ToString().c_str());
      EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument) << jpeg.name;
      continue;
    }
    ExpectCloseDecode(jpeg.name + " (GPU Huffman)", Download((*image)->view()), want);
    ++decoded;
    EXPECT_EQ((*decoder)->Decode(jpeg.bytes, want.cols, want.rows + 1).status().code(),
              absl::StatusCode::kInvalidArgument)
        << jpeg.name;
  }
  EXPECT_GE(decoded, 7) << "the baseline photos, which the engine takes, should decode";
#endif
}

// With SM threads, the decode stage sends a share of the baseline JPEGs that the engine takes to the GPU Huffman
// decoder: exactly the share when it is fixed, some when the engine's queue holds a full batch and the share adapts;
// every answer as the CPU's.
TEST(GpuCodecTest, AShareOfBaselineJpegsDecodesOnTheSmsBesideTheEngine) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  const std::string photo = ReadFile(PhotoPath("nature/Aqua.jpg"));  // baseline, 4 MP
  pb::ProcessRequest request;
  request.set_image(photo);
  request.add_operations()->mutable_flip();
  request.mutable_output()->mutable_raw();
  std::unique_ptr<ExecutionLane> cpu = MakeCpuLane();
  absl::StatusOr<JobResult> want = RunPlanOn(*cpu, request);
  ASSERT_TRUE(want.ok()) << want.status();
  const cv::Mat w = RawToMat(want->image.bytes, want->image.spec.width, want->image.spec.height,
                             want->image.spec.channels, pb::DTYPE_UINT8);
  for (double share : {0.5, -1.0}) {
    CudaCodecOptions options;
    options.decode_stage.sm_threads = 2;
    options.decode_stage.sm_share = share;
    CudaDeviceSetup setup = SetUpCudaDevice(0, "cuda:0", options);
    if (setup.decode_stage == nullptr) GTEST_SKIP() << "no JPEG engine: nothing to decode beside";
    WorkerPool pool(GpuDeviceDescription(), 4, 512, std::move(setup.lanes), nullptr, std::move(setup.decode_stage));
    const int requests = share < 0 ? 256 : 10;
    std::vector<std::future<absl::StatusOr<JobResult>>> answers;
    for (int i = 0; i < requests; ++i) {
      // A fixed share is counted in order: one at a time. The adaptive one needs a queue: all at once.
      answers.push_back(std::async(std::launch::async, [&] { return RunThroughPool(pool, request); }));
      if (share >= 0) answers.back().wait();
    }
    std::map<std::string, int> paths;
    for (auto& answer : answers) {
      absl::StatusOr<JobResult> got = answer.get();
      ASSERT_TRUE(got.ok()) << got.status();
      ++paths[CodecPathName(got->decode_path)];
      const cv::Mat g = RawToMat(got->image.bytes, got->image.spec.width, got->image.spec.height,
                                 got->image.spec.channels, pb::DTYPE_UINT8);
      if (paths[CodecPathName(got->decode_path)] == 1) {
        ExpectCloseDecode(std::string("Aqua via ") + CodecPathName(got->decode_path), g, w);
      } else {
        EXPECT_GE(Psnr(g, w), kMinDecodePsnr);
      }
    }
    pool.Shutdown();
    std::printf("share %s: %d on the engine, %d on the SMs\n", share < 0 ? "adaptive" : "0.5", paths["engine"],
                paths["cuda"]);
    EXPECT_EQ(paths["engine"] + paths["cuda"], requests);
    if (share >= 0) {
      EXPECT_EQ(paths["cuda"], requests / 2);
    } else {
      EXPECT_GT(paths["cuda"], 0) << "256 requests at once queue more than a batch for the engine";
      EXPECT_GT(paths["engine"], paths["cuda"]) << "the engine takes most";
    }
  }
#endif
}

// EXIF orientation after a GPU decode (engine and SMs) turns the image as the CPU path does.
TEST(GpuCodecTest, ExifOrientationAfterAGpuDecodeMatchesTheCpuPath) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  CudaCodecOptions options;
  CudaDeviceSetup setup = SetUpCudaDevice(0, "cuda:0", options);
  const bool engine = setup.decode_stage != nullptr;
  WorkerPool pool(GpuDeviceDescription(), 2, 64, std::move(setup.lanes), nullptr, std::move(setup.decode_stage));
  std::unique_ptr<ExecutionLane> cpu = MakeCpuLane();
  const std::vector<std::pair<std::string, std::string>> photos = {
      {engine ? "engine" : "cuda", ReadFile(PhotoPath("nature/Aqua.jpg"))},
      {"cuda", ReadFile(PhotoPath("nature/GreenMeadow.jpg"))}};
  for (const auto& [path, stored] : photos) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      const std::string name = absl::StrCat(path, " decode, orientation ", orientation);
      pb::ProcessRequest request;
      request.set_image(WithExifOrientation(stored, orientation));
      request.mutable_output()->mutable_raw();
      absl::StatusOr<JobResult> got = RunThroughPool(pool, request);
      ASSERT_TRUE(got.ok()) << name << ": " << got.status();
      EXPECT_EQ(CodecPathName(got->decode_path), path) << name;
      absl::StatusOr<JobResult> want = RunPlanOn(*cpu, request);
      ASSERT_TRUE(want.ok()) << want.status();
      ASSERT_EQ(got->image.spec.width, want->image.spec.width) << name;
      ASSERT_EQ(got->image.spec.height, want->image.spec.height) << name;
      const cv::Mat g = RawToMat(got->image.bytes, got->image.spec.width, got->image.spec.height, 3, pb::DTYPE_UINT8);
      const cv::Mat w =
          RawToMat(want->image.bytes, want->image.spec.width, want->image.spec.height, 3, pb::DTYPE_UINT8);
      ExpectCloseDecode(name, g, w);
    }
  }
  pool.Shutdown();
#endif
}

// Corrupt JPEGs go through the batch decoder beside intact ones: each corrupt one ends in OK (a partial
// decode) or INVALID_ARGUMENT, no CUDA error sticks, and every intact one in the same batches is right.
TEST(GpuFaultTest, CorruptJpegsInBatchesFailAloneAndNeverHarmTheirBatchMates) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  CudaCodecOptions options;
  options.decode_stage.batching.max_batch = 32;
  options.decode_stage.batching.max_delay = std::chrono::milliseconds(2);
  options.decode_stage.min_pixels = 0;           // small images too go to the engine's batches
  options.decode_stage.progressive_threads = 2;  // and progressive ones to the stage's own decoders
  CudaDeviceSetup setup = SetUpCudaDevice(0, "cuda:0", options);
  WorkerPool pool(GpuDeviceDescription(), 8, 4096, std::move(setup.lanes), nullptr, std::move(setup.decode_stage));
  const cv::Mat picture = GeneratedImage(64, 48);
  const std::vector<std::string> seeds = {EncodeAs(picture, ".jpg"),
                                          EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
                                          EncodeAs(picture, ".jpg", {cv::IMWRITE_JPEG_SAMPLING_FACTOR, 0x111111}),
                                          EncodeAs(GeneratedImage(64, 48, 1), ".jpg"), EncodeAs(picture, ".png")};
  const std::string intact = EncodeAs(GeneratedImage(96, 80), ".jpg");
  // What each decoder makes of the intact image alone; in a batch it must come out the same, byte for byte.
  std::map<std::string, std::string> reference;
  {
    absl::StatusOr<std::unique_ptr<NvJpegDevice>> device = NvJpegDevice::Create(0, true);
    ASSERT_TRUE(device.ok()) << device.status();
    cv::cuda::Stream stream;
    const cudaStream_t raw = cv::cuda::StreamAccessor::getStream(stream);
    auto as_bytes = [](const cv::Mat& m) {
      return std::string(reinterpret_cast<const char*>(m.data), m.total() * m.elemSize());
    };
    cv::cuda::GpuMat out;
    ASSERT_TRUE((*JpegCudaDecoder::Create(**device))->Decode(intact, false, out, raw).ok());
    reference["cuda"] = as_bytes(Download(out));
    reference["cpu"] = as_bytes(DecodeLikeServer(intact));
    absl::StatusOr<std::unique_ptr<JpegEngineDecoder>> engine = JpegEngineDecoder::Create(**device);
    if (engine.ok()) {
      std::vector<absl::string_view> one = {intact};
      auto images = (*engine)->Decode(**JpegEngineClassifier::Create(**device), one);
      ASSERT_TRUE(images.ok()) << images.status();
      cudaEventSynchronize((*images)[0]->batch().done());
      reference["engine"] = as_bytes(Download((*images)[0]->view()));
    }
    stream.waitForCompletion();
  }
  std::mt19937 random(20261125);
  std::atomic<int> ok{0}, invalid{0}, other{0}, intact_right{0}, intact_wrong{0};
  std::mutex mu;
  std::string first_other;
  std::vector<std::string> inputs;  // kept alive until every job is done
  std::vector<std::shared_ptr<const Plan>> plans;
  std::vector<bool> is_intact;
  ImageLimits limits;
  limits.max_pixels = 4'000'000;
  for (int i = 0; i < 20000; ++i) {
    const bool control = i % 8 == 0;
    pb::ProcessRequest request;
    request.set_image(control ? intact : Mutate(seeds, i, random));
    request.mutable_output()->mutable_raw();
    absl::StatusOr<Plan> plan = BuildPlan(request, limits);
    if (!plan.ok()) {
      ASSERT_FALSE(control);
      ASSERT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << plan.status();
      ++invalid;
      continue;
    }
    inputs.push_back(request.image());
    plans.push_back(std::make_shared<const Plan>(*std::move(plan)));
    is_intact.push_back(control);
  }
  std::atomic<int> done{0};
  for (size_t i = 0; i < inputs.size(); ++i) {
    Job job;
    job.plan = plans[i];
    job.input = inputs[i];
    job.done = [&, control = is_intact[i]](absl::StatusOr<JobResult> r) {
      if (control) {
        const bool right = r.ok() && reference.count(CodecPathName(r->decode_path)) &&
                           r->image.bytes == reference.at(CodecPathName(r->decode_path));
        (right ? intact_right : intact_wrong)++;
      } else if (r.ok()) {
        ++ok;
      } else if (r.status().code() == absl::StatusCode::kInvalidArgument) {
        ++invalid;
      } else {
        std::lock_guard<std::mutex> lock(mu);
        if (other++ == 0) first_other = r.status().ToString();
      }
      ++done;
    };
    pool.Submit(std::move(job));
    while (pool.load() > 2048) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pool.Shutdown();
  std::printf(
      "corrupt inputs on the GPU path: %d decodable, %d INVALID_ARGUMENT, %d other; intact batch mates: %d right, %d "
      "wrong\n",
      ok.load(), invalid.load(), other.load(), intact_right.load(), intact_wrong.load());
  EXPECT_EQ(other, 0) << first_other;
  EXPECT_EQ(intact_wrong, 0);
  EXPECT_EQ(intact_right, 2500);
  EXPECT_GT(invalid, 5000);
#endif
}

TEST(GpuMemoryTest, CodecPathAllocatesNothingOverTenThousandRequests) {
  SKIP_WITHOUT_GPU();
#if IMGPROC_WITH_CUDA
  // Three sizes, baseline and progressive JPEG in, JPEG and raw out, and a chain with OpenCV temporaries.
  std::vector<std::string> images;
  for (const auto& [w, h] : {std::pair{320, 240}, {640, 480}, {256, 256}}) {
    images.push_back(EncodeAs(GeneratedImage(w, h), ".jpg"));
    images.push_back(EncodeAs(GeneratedImage(w, h), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  }
  std::vector<pb::ProcessRequest> requests;
  for (size_t i = 0; i < 12; ++i) {
    pb::ProcessRequest request;
    request.set_image(images[i % images.size()]);
    request.add_operations()->mutable_gaussian_blur()->set_kernel_width(5);
    request.add_operations()->mutable_resize()->set_scale(0.75);
    request.add_operations()->mutable_clahe();
    if (i % 2) {
      request.mutable_output()->mutable_jpeg()->set_quality(80);
    } else {
      request.mutable_output()->mutable_raw();
    }
    requests.push_back(request);
  }
  CudaCodecOptions options;
  options.decode_stage.min_pixels = 0;           // these small images too go to the engine's batches
  options.decode_stage.progressive_threads = 2;  // and the progressive ones to the stage's own decoders
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> codec = NvJpegDevice::Create(0, true);
  ASSERT_TRUE(codec.ok()) << codec.status();
  std::shared_ptr<NvJpegDevice> shared = *std::move(codec);
  WorkerPool pool(GpuDeviceDescription(), 4, 20000, CudaLaneFactory(0, shared, options), nullptr,
                  JpegDecodeStageFactory(shared, options.decode_stage, "cuda:0"));
  int ok = 0, failed = 0;
  auto run = [&](int count) {
    const RunCounts counts = RunRequests(pool, requests, count);
    ok += counts.ok;
    failed += counts.failed;
  };
  run(600);  // warm-up: every lane and batch thread sees every size
  // Device memory in use, device-wide, after the warm-up and after each of two windows of 5,000 requests.
  // The first window may still include one-time growth the server does not control (CUDA's lazy loading maps
  // a kernel when it is first used; nvJPEG's engine driver sets up per-engine state); a leak grows in both.
  auto device_used = [] {
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    return static_cast<int64_t>(total - free);
  };
  const int64_t used_warm = device_used();
  const int64_t mallocs_before = DeviceAllocator::Instance().device_malloc_calls();
  const int64_t pool_before = shared->reserved_device_bytes();
  const int64_t pinned_before = shared->pinned_allocations();
  run(5000);
  const int64_t used_first = device_used();
  const int64_t pool_first = shared->reserved_device_bytes();
  run(5000);
  const int64_t used_second = device_used();
  const int64_t pool_second = shared->reserved_device_bytes();
  std::printf(
      "codec steady state: device used %lld -> %lld -> %lld bytes, cudaMalloc calls %lld -> %lld, "
      "decode pool reserves %lld -> %lld -> %lld bytes, nvJPEG pinned allocations %lld -> %lld\n",
      (long long)used_warm, (long long)used_first, (long long)used_second, (long long)mallocs_before,
      (long long)DeviceAllocator::Instance().device_malloc_calls(), (long long)pool_before, (long long)pool_first,
      (long long)pool_second, (long long)pinned_before, (long long)shared->pinned_allocations());
  pool.Shutdown();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(ok, 10600);
  // What the server allocates itself is counted exactly; device-wide, the second window must not grow.
  EXPECT_EQ(DeviceAllocator::Instance().device_malloc_calls(), mallocs_before) << "cudaMalloc in steady state";
  // A batch's images share one allocation whose size depends on the batch's mix, so the pool may reserve a
  // little more in the first window (a larger mix than the warm-up saw), never again in the second.
  EXPECT_EQ(pool_second, pool_first) << "the decode pool kept reserving over the second 5,000 requests";
  EXPECT_LE(pool_first, pool_before + (128 << 20)) << "the decode pool reserved over 128 MiB more after warm-up";
  EXPECT_EQ(shared->pinned_allocations(), pinned_before) << "nvJPEG allocated pinned memory in steady state";
  EXPECT_LE(used_second, used_first) << "device memory in use grew over the second 5,000 requests";
  EXPECT_LE(used_first, used_warm + (16 << 20) + (pool_first - pool_before))
      << "device memory in use grew by more than 16 MiB after warm-up, besides the decode pool";
#endif
}

}  // namespace
}  // namespace imgproc::testing
