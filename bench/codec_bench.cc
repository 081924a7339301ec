// imgproc-codec-bench: what the server's GPU JPEG codecs sustain on their own, without gRPC or lanes, on a
// directory of JPEGs. It drives the classes the server uses (codec/cuda/), so its figures bound the service's:
//   engine   JpegEngineDecoder, one per thread as in the decode stage, on the photos the engine takes;
//            host ms per batch (the Decode call) beside the batch's GPU ms shows whether the host or the
//            engine limits a thread.
//   cuda     JpegCudaDecoder, one per thread as in the lanes, on the engine's photos and on the others
//            (progressive...), with the CPU time it costs per image.
//   cpu      libjpeg-turbo (cv::imdecode) on the same two sets, for comparison.
//   encode   JpegCudaEncoder at q90 on each photo halved (W1's answer), one per thread.
// Each case runs for --seconds once every thread has warmed up, and prints one line.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core/cuda_stream_accessor.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "codec/cuda/jpeg_cuda_decoder.h"
#include "codec/cuda/jpeg_cuda_encoder.h"
#include "codec/cuda/jpeg_engine_decoder.h"

ABSL_FLAG(std::string, input, "/usr/share/backgrounds/mate/nature", "directory of JPEGs");
ABSL_FLAG(double, seconds, 3, "time per case");
ABSL_FLAG(std::string, cases, "engine,inspect,cuda,cpu,encode", "which cases to run");
ABSL_FLAG(std::string, engine_threads, "1,2,3", "decode-stage threads to try");
ABSL_FLAG(std::string, batches, "16,64,128", "engine batch sizes to try");
ABSL_FLAG(std::string, cuda_threads, "1,8,16", "CUDA decoder / encoder threads to try");

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::vector<int> Ints(const std::string& list) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

bool Wanted(const std::string& name) {
  for (absl::string_view c : absl::StrSplit(absl::GetFlag(FLAGS_cases), ',')) {
    if (c == name) return true;
  }
  return false;
}

struct Figures {
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};  // set once every thread has warmed up
  std::atomic<int> warm{0};
  std::atomic<int64_t> images{0};
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> host_us{0};
  std::atomic<int64_t> gpu_us{0};
  std::atomic<int64_t> failures{0};
};

// Runs `body(thread, figures)` on `threads` threads; each calls figures.warm++ after its first pass (state
// creation and first allocations are not what a warm server pays) and counts only while `measuring`. Prints
// the rate over --seconds, the CPU cores used meanwhile and `extra`.
template <typename Body, typename Extra>
void Run(const char* label, int threads, Body body, Extra extra) {
  Figures figures;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { body(t, figures); });
  while (figures.warm.load() < threads) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double cpu0 = CpuSeconds();
  const Clock::time_point t0 = Clock::now();
  figures.measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  figures.measuring = false;
  const double wall = Seconds(Clock::now() - t0);
  const double cpu = CpuSeconds() - cpu0;
  figures.stop = true;
  for (auto& th : pool) th.join();
  const int64_t n = figures.images.load();
  std::printf("%-44s threads=%-2d images/s=%7.0f  cpu_cores=%5.2f  cpu_ms/image=%6.2f%s  failures=%lld\n", label,
              threads, n / wall, cpu / wall, n ? cpu * 1000 / n : 0.0, extra(figures).c_str(),
              static_cast<long long>(figures.failures.load()));
  std::fflush(stdout);
}

std::string NoExtra(const Figures&) { return ""; }

// One image at a time from `set`, round-robin from image `t`, until stopped: warm once `warm_after` images are
// done, counted while measuring. `work` returns whether the image went through.
template <typename Image, typename Work>
void EachImage(int t, const std::vector<Image>& set, size_t warm_after, Figures& f, Work work) {
  for (size_t i = t, done = 0; !f.stop; ++i, ++done) {
    if (!work(set[i % set.size()])) f.failures += 1;
    if (done == warm_after) f.warm++;
    if (f.measuring) f.images += 1;
  }
}

cv::Mat DecodeOnCpu(const std::string& bytes) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                      cv::IMREAD_COLOR);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace imgproc;
  absl::StatusOr<std::unique_ptr<NvJpegDevice>> made = NvJpegDevice::Create(0, true);
  if (!made.ok()) {
    std::fprintf(stderr, "nvJPEG: %s\n", made.status().ToString().c_str());
    return 1;
  }
  NvJpegDevice& device = **made;
  std::printf("JPEG engine: %s\n", device.engine() ? "yes" : device.engine_note().c_str());

  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(absl::GetFlag(FLAGS_input))) {
    const std::string ext = entry.path().extension();
    if (ext == ".jpg" || ext == ".jpeg") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> all, engine, other;
  std::unique_ptr<JpegEngineClassifier> classifier;
  if (device.engine()) classifier = *JpegEngineClassifier::Create(device);
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    all.push_back(bytes);
    (classifier && classifier->Inspect(bytes) ? engine : other).push_back(std::move(bytes));
  }
  std::vector<EngineJpeg> engine_inputs;
  for (const std::string& bytes : engine) engine_inputs.push_back(*classifier->Inspect(bytes));
  std::printf("%zu JPEGs: %zu for the engine, %zu others\n", all.size(), engine.size(), other.size());

  if (Wanted("engine") && !engine.empty()) {
    for (int batch : Ints(absl::GetFlag(FLAGS_batches))) {
      for (int threads : Ints(absl::GetFlag(FLAGS_engine_threads))) {
        Run(
            "engine (batched, engine's photos)", threads,
            [&](int t, Figures& f) {
              std::unique_ptr<JpegEngineDecoder> decoder = *JpegEngineDecoder::Create(device);
              cudaStream_t consumer;
              cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking);
              std::vector<EngineJpeg> inputs;
              size_t next = t;
              std::vector<std::unique_ptr<DeviceImage>> previous;
              bool counting = false;
              for (int pass = 0; !f.stop; ++pass) {
                inputs.clear();
                for (int i = 0; i < batch; ++i) inputs.push_back(engine_inputs[next++ % engine_inputs.size()]);
                const Clock::time_point h0 = Clock::now();
                // As the decode stage does: the headers were classified beforehand, on other threads.
                absl::StatusOr<std::vector<std::unique_ptr<DeviceImage>>> images = absl::UnknownError("");
                absl::StatusOr<PreparedBatch> prepared = decoder->Prepare(inputs);
                if (prepared.ok() && decoder->Run(*prepared).ok()) images = std::move(prepared->images);
                const int64_t host = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - h0).count();
                // The previous batch is consumed as lanes would: on another stream, after its decode, and
                // released once that stream has finished with it.
                if (!previous.empty()) {
                  cudaStreamWaitEvent(consumer, previous.front()->batch().done(), 0);
                  cudaStreamSynchronize(consumer);
                  if (counting) {
                    f.images += previous.size();
                    f.batches += 1;
                    f.gpu_us += static_cast<int64_t>(previous.front()->batch().ElapsedMs() * 1000);
                  }
                }
                previous.clear();
                if (pass == 1) f.warm++;
                counting = f.measuring;
                if (!images.ok()) {
                  f.failures += 1;
                  continue;
                }
                if (counting) f.host_us += host;
                previous = *std::move(images);
              }
              previous.clear();
              cudaStreamDestroy(consumer);
            },
            [batch](const Figures& f) {
              const double b = std::max<int64_t>(1, f.batches.load());
              char s[128];
              std::snprintf(s, sizeof s, "  batch=%d host_ms/batch=%.1f gpu_ms/batch=%.1f", batch,
                            f.host_us.load() / b / 1000, f.gpu_us.load() / b / 1000);
              return std::string(s);
            });
      }
    }
  }

  // The batch decoder's per-image header check alone (nvjpegJpegStreamParseHeader, nvjpegDecodeBatchedSupported):
  // what the decode stage pays per image before the engine call.
  if (Wanted("inspect") && device.engine() != nullptr) {
    for (int threads : Ints(absl::GetFlag(FLAGS_engine_threads))) {
      Run(
          "inspect (header check, all photos)", threads,
          [&](int t, Figures& f) {
            EachImage(t, all, all.size(), f, [&](const std::string& bytes) {
              classifier->Inspect(bytes);  // false is an answer here, not a failure
              return true;
            });
          },
          NoExtra);
    }
  }

  // One decoder per thread, as lanes have.
  auto cuda_case = [&](const char* label, const std::vector<std::string>& set) {
    if (set.empty()) return;
    for (int threads : Ints(absl::GetFlag(FLAGS_cuda_threads))) {
      Run(
          label, threads,
          [&](int t, Figures& f) {
            std::unique_ptr<JpegCudaDecoder> decoder = *JpegCudaDecoder::Create(device);
            cv::cuda::Stream stream;
            cudaStream_t raw = cv::cuda::StreamAccessor::getStream(stream);
            cv::cuda::GpuMat out;
            EachImage(t, set, set.size(), f, [&](const std::string& bytes) {
              const bool decoded = decoder->Decode(bytes, false, out, raw).ok();
              stream.waitForCompletion();
              return decoded;
            });
          },
          NoExtra);
    }
  };
  auto cpu_case = [&](const char* label, const std::vector<std::string>& set) {
    if (set.empty()) return;
    for (int threads : Ints(absl::GetFlag(FLAGS_cuda_threads))) {
      Run(
          label, threads,
          [&](int t, Figures& f) {
            EachImage(t, set, 0, f, [](const std::string& bytes) { return !DecodeOnCpu(bytes).empty(); });
          },
          NoExtra);
    }
  };
  if (Wanted("cuda")) {
    cuda_case("cuda (nvjpegDecode, engine's photos)", engine);
    cuda_case("cuda (nvjpegDecode, other photos)", other);
  }
  if (Wanted("cpu")) {
    cpu_case("cpu (libjpeg-turbo, engine's photos)", engine);
    cpu_case("cpu (libjpeg-turbo, other photos)", other);
  }

  if (Wanted("encode")) {
    std::vector<cv::Mat> halves;
    for (const std::string& bytes : all) {
      cv::Mat image = DecodeOnCpu(bytes);
      cv::resize(image, image, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
      halves.push_back(image);
    }
    for (int threads : Ints(absl::GetFlag(FLAGS_cuda_threads))) {
      Run(
          "encode (nvJPEG q90, photos halved)", threads,
          [&](int t, Figures& f) {
            cv::cuda::Stream stream;
            cudaStream_t raw = cv::cuda::StreamAccessor::getStream(stream);
            std::unique_ptr<JpegCudaEncoder> encoder = *JpegCudaEncoder::Create(device, raw);
            std::vector<cv::cuda::GpuMat> on_device;
            for (const cv::Mat& h : halves) on_device.emplace_back(h);
            EachImage(t, on_device, on_device.size(), f,
                      [&](const cv::cuda::GpuMat& image) { return encoder->Encode(image, 90, raw).ok(); });
          },
          NoExtra);
    }
  }
  return 0;
}
