#include "backend/cuda/jpeg_decode_stage.h"

#include <atomic>
#include <opencv2/imgcodecs.hpp>
#include <optional>

#include "backend/cuda/cuda_fault.h"
#include "common/log.h"

namespace imgproc {

namespace {

std::unique_ptr<JpegEngineClassifier> MakeClassifier(NvJpegDevice& codec, const std::string& device_name) {
  absl::StatusOr<std::unique_ptr<JpegEngineClassifier>> made = JpegEngineClassifier::Create(codec);
  if (made.ok()) return *std::move(made);
  IMGPROC_LOG(kWarning) << device_name << ": JPEG engine unavailable, lanes decode: " << made.status().message();
  return nullptr;
}

class JpegDecodeStage final : public FrontStage {
 public:
  JpegDecodeStage(std::shared_ptr<NvJpegDevice> codec, const DecodeStageOptions& options, std::string device_name,
                  PoolObserver* observer, ForwardFn forward)
      : codec_(std::move(codec)),
        device_name_(std::move(device_name)),
        observer_(observer),
        forward_(std::move(forward)),
        min_pixels_(options.min_pixels),
        classifier_(MakeClassifier(*codec_, device_name_)),
        decoders_(options.batching.threads),
        budget_limit_(std::max(options.max_decoded, options.batching.max_batch)),
        budget_(std::make_shared<DecodedImageBudget>(budget_limit_)),
        progressive_decoders_(std::max(0, options.progressive_threads)),
        max_batch_(std::max(1, options.batching.max_batch)),
        sm_decoders_(std::max(0, options.sm_threads)),
        sm_share_(std::min(1.0, options.sm_share)),
        sm_min_pixels_(options.sm_min_pixels),
        batcher_(options.batching,
                 [this](int thread, std::vector<Job> jobs) { DecodeBatch(thread, std::move(jobs)); }) {
    // Batches of one, taken as soon as they come: each thread decodes one JPEG at a time.
    auto one_at_a_time = [&](size_t threads, const char* suffix) {
      BatcherOptions one;
      one.max_batch = 1;
      one.max_delay = std::chrono::microseconds(0);
      one.threads = static_cast<int>(threads);
      one.thread_name = options.batching.thread_name + suffix;
      return one;
    };
    if (!progressive_decoders_.empty()) {
      progressive_ = std::make_unique<DynamicBatcher<Job>>(
          one_at_a_time(progressive_decoders_.size(), "p"),
          [this](int thread, std::vector<Job> jobs) { DecodeProgressive(thread, std::move(jobs)); });
    }
    if (!sm_decoders_.empty()) {
      sm_ = std::make_unique<DynamicBatcher<Job>>(
          one_at_a_time(sm_decoders_.size(), "s"),
          [this](int thread, std::vector<Job> jobs) { DecodeOnSms(thread, std::move(jobs)); });
    }
    WarmUp(options.batching.max_batch);
  }

  // On the request's thread, outside the pool's lock: the header check runs here, in parallel, rather than on
  // the batch thread.
  bool Wants(const Job& job) const override {
    const Plan& plan = *job.plan;
    // One output format per nvJPEG batch: colour. Grayscale requests and 1- or 4-component JPEGs are few
    // and decode in the lanes.
    if (classifier_ == nullptr || plan.header.format != ImageFormat::kJpeg || plan.header.channels != 3 ||
        plan.decode_mode != DecodeMode::kColor || plan.decoded.depth != Depth::kU8 ||  // nvJPEG: 8 bits only
        plan.decoded.pixels() < min_pixels_) {
      return false;
    }
    // Progressive: the engine refuses them, the stage's own threads decode them if it has any.
    if (!plan.header.jpeg_sequential) return progressive_ != nullptr;
    // The batch's memory is sized from the plan, so nvJPEG must read the same frame size from the header.
    const std::optional<EngineJpeg> taken = classifier_->Inspect(job.input);
    return taken && static_cast<int64_t>(taken->width) == plan.decoded.width &&
           static_cast<int64_t>(taken->height) == plan.decoded.height;
  }

  void Add(Job job) override {
    if (!job.plan->header.jpeg_sequential && progressive_ != nullptr) {
      progressive_->Add(std::move(job));
    } else if (ToTheSms(job)) {
      sm_->Add(std::move(job));
    } else {
      batcher_.Add(std::move(job));
    }
  }
  void Shutdown() override {
    batcher_.Shutdown();
    if (progressive_ != nullptr) progressive_->Shutdown();
    if (sm_ != nullptr) sm_->Shutdown();
  }

 private:
  // Whether a baseline JPEG that the engine takes goes to the SM threads instead (see DecodeStageOptions::sm_share).
  bool ToTheSms(const Job& job) {
    if (sm_ == nullptr || sm_failed_ || device_failed_ || job.plan->decoded.pixels() < sm_min_pixels_) return false;
    if (sm_share_ >= 0) {
      // The n-th such JPEG goes when the running total of the share passes a whole number: exactly the share, spread.
      const int64_t n = sm_candidates_++;
      return static_cast<int64_t>((n + 1) * sm_share_) > static_cast<int64_t>(n * sm_share_);
    }
    if (static_cast<int>(batcher_.queued()) < max_batch_) return false;
    // One JPEG per free SM thread: a thread's queue would only delay what the engine would soon take.
    int busy = sm_busy_.load();
    do {
      if (busy >= static_cast<int>(sm_decoders_.size())) return false;
    } while (!sm_busy_.compare_exchange_weak(busy, busy + 1));
    return true;
  }

  // Runs on progressive thread `thread`, which alone uses progressive_decoders_[thread]: one JPEG (the batch
  // holds one), decoded with nvJPEG's CUDA decoder, then handed on.
  void DecodeProgressive(int thread, std::vector<Job> jobs) {
    DecodeEach(MadeOnFirstUse(progressive_decoders_[thread], progressive_failed_, "progressive JPEG decoder"),
               "progressive", jobs);
    forward_(std::move(jobs));
  }

  // Runs on SM thread `thread`, which alone uses sm_decoders_[thread]: one baseline JPEG, decoded with nvJPEG's GPU
  // Huffman decoder, then handed on.
  void DecodeOnSms(int thread, std::vector<Job> jobs) {
    DecodeEach(MadeOnFirstUse(sm_decoders_[thread], sm_failed_, "GPU Huffman JPEG decoder"), "baseline", jobs);
    if (sm_share_ < 0) sm_busy_ -= static_cast<int>(jobs.size());
    forward_(std::move(jobs));
  }

  // Decodes each job's JPEG with `decoder` (null: none could be made) into device memory under the stage's budget.
  // A JPEG it cannot decode goes on undecoded, and its lane tries again (nvJPEG, then the CPU, whose error the
  // request gets).
  template <typename Decoder>
  void DecodeEach(Decoder* decoder, const char* what, std::vector<Job>& jobs) {
    const Clock::time_point start = Clock::now();
    for (Job& job : jobs) {
      if (decoder == nullptr || device_failed_ || start > job.deadline || (job.cancelled && job.cancelled())) continue;
      while (!budget_->TryAcquireFor(1, std::chrono::seconds(2))) {
        IMGPROC_LOG(kWarning) << device_name_ << ": a " << what << " JPEG has waited " << MicrosSince(start) / 1000
                              << " ms for lanes to finish with decoded images (" << budget_->available() << " of "
                              << budget_limit_ << " free)";
      }
      const Clock::time_point decode_start = Clock::now();
      absl::StatusOr<std::unique_ptr<DeviceImage>> image = decoder->Decode(
          job.input, static_cast<int>(job.plan->decoded.width), static_cast<int>(job.plan->decoded.height));
      if (image.ok()) {
        job.staged =
            std::make_shared<CudaStagedImage>(*std::move(image), budget_, CodecPath::kCuda, MicrosSince(decode_start));
        continue;
      }
      budget_->Release();
      if (const cudaError_t sticky = SeenStickyCudaError(); sticky != cudaSuccess && !device_failed_.exchange(true)) {
        IMGPROC_LOG(kWarning) << device_name_ << ": a " << what << " JPEG decode failed with a sticky CUDA error, "
                              << CudaErrorText(sticky) << "; the decode stage hands its jobs to the lanes undecoded";
      }
    }
  }

  // A stage thread's decoder, made on its first use; once one could not be made, none is tried again and the
  // lanes decode what it would have.
  template <typename Decoder>
  Decoder* MadeOnFirstUse(std::unique_ptr<Decoder>& decoder, std::atomic<bool>& failed, const char* what) {
    if (decoder == nullptr && !failed) {
      absl::StatusOr<std::unique_ptr<Decoder>> made = Decoder::Create(*codec_);
      if (made.ok()) {
        decoder = *std::move(made);
      } else {
        IMGPROC_LOG(kWarning) << device_name_ << ": " << what
                              << " unavailable, lanes decode instead: " << made.status().message();
        failed = true;
      }
    }
    return decoder.get();
  }

  // Runs on batcher thread `thread`, which alone uses decoders_[thread].
  void DecodeBatch(int thread, std::vector<Job> jobs) {
    // After a sticky CUDA error the jobs go on undecoded: the lanes see the error too, take the device out of
    // service and answer them; the engine is not asked again on a context that cannot work.
    JpegEngineDecoder* decoder = device_failed_ ? nullptr : DecoderFor(thread);
    std::vector<size_t> members;
    std::vector<EngineJpeg> inputs;
    Clock::time_point mark = Clock::now();
    const Clock::time_point start = mark;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& job = jobs[i];
      // Expired or cancelled jobs go on undecoded; the lane reports them as skipped.
      if (decoder == nullptr || start > job.deadline || (job.cancelled && job.cancelled())) continue;
      members.push_back(i);
      // Wants checked that the engine takes it at this size.
      inputs.push_back(EngineJpeg{job.input, static_cast<unsigned>(job.plan->decoded.width),
                                  static_cast<unsigned>(job.plan->decoded.height)});
    }
    BatchReport report;
    auto lap = [&mark](int64_t& phase_us) {
      const Clock::time_point now = Clock::now();
      phase_us += std::chrono::duration_cast<std::chrono::microseconds>(now - mark).count();
      mark = now;
    };
    if (!inputs.empty()) {
      const int n = static_cast<int>(inputs.size());
      while (!budget_->TryAcquireFor(n, std::chrono::seconds(2))) {
        IMGPROC_LOG(kWarning) << device_name_ << ": the decode stage has waited " << MicrosSince(mark) / 1000
                              << " ms for lanes to finish with decoded images (" << budget_->available() << " of "
                              << budget_limit_ << " free, a batch of " << n << " waiting)";
      }
      lap(report.wait_for_lanes_us);
      absl::StatusOr<PreparedBatch> batch = decoder->Prepare(inputs);
      lap(report.prepare_us);
      absl::Status decoded = batch.status();
      if (batch.ok()) {
        report.size = static_cast<size_t>(n);
        decoded = decoder->Run(*batch);
        // The jobs go on once their images are written, not before: a lane given an image still being decoded
        // would wait for the whole batch, holding its place. With two batch threads the engine stays busy
        // meanwhile, and W1 lost nothing against forwarding at once (BENCHMARKS.md, "H100 host, GPU codecs,
        // decode stage reworked").
        if (decoded.ok()) decoded = decoder->WaitUntilDecoded(*batch);
        lap(report.engine_us);
      }
      if (decoded.ok()) {
        for (int k = 0; k < n; ++k) {
          jobs[members[k]].staged = std::make_shared<CudaStagedImage>(std::move(batch->images[k]), budget_);
        }
      } else {
        // A failed batch: its members go on undecoded and each is decoded alone by a lane. Logged, at most
        // once a second: one bad image fails a whole batch, which costs throughput, not answers.
        budget_->Release(n);
        const int64_t failures = ++failed_batches_;
        if (const cudaError_t sticky = SeenStickyCudaError(); sticky != cudaSuccess) {
          if (!device_failed_.exchange(true)) {
            IMGPROC_LOG(kWarning) << device_name_ << ": a JPEG engine batch of " << n
                                  << " failed with a sticky CUDA error, " << CudaErrorText(sticky)
                                  << "; the decode stage stops using the GPU and hands its jobs to the lanes undecoded";
          }
        } else if (ShouldLog()) {
          IMGPROC_LOG(kWarning) << device_name_ << ": a JPEG engine batch of " << n
                                << " failed; its members are decoded one by one (" << failures
                                << " failed batches so far): " << decoded.message();
        }
      }
    }
    forward_(std::move(jobs));
    lap(report.forward_us);
    if (observer_ != nullptr && report.size > 0) observer_->OnBatch(device_name_, report);
    LogIfSlow(report);
  }

  // A batch that held the stage for over a second: every request behind it waited, so say where it went.
  void LogIfSlow(const BatchReport& report) {
    const int64_t total_us = report.wait_for_lanes_us + report.prepare_us + report.engine_us + report.forward_us;
    if (total_us < 1'000'000 || !ShouldLog()) return;
    IMGPROC_LOG(kWarning) << device_name_ << ": a decode batch of " << report.size << " took " << total_us / 1000
                          << " ms: waiting for lanes " << report.wait_for_lanes_us / 1000 << " ms, prepare "
                          << report.prepare_us / 1000 << " ms, engine " << report.engine_us / 1000 << " ms, forward "
                          << report.forward_us / 1000 << " ms";
  }

  // At most one log line a second from this stage.
  bool ShouldLog() {
    const int64_t now_us = MicrosSince(Clock::time_point());
    int64_t last_us = last_log_us_.load();
    return now_us - last_us > 1'000'000 && last_log_us_.compare_exchange_strong(last_us, now_us);
  }

  // Makes each batch thread's decoder and runs one full batch of a generated 1920x1080 photo-sized JPEG through
  // each, before the first request: nvJPEG sizes its buffers, the pool reserves memory and the batches' events
  // exist. Without it a fresh server's first requests waited seconds for batches that were still preparing
  // (BENCHMARKS.md, "H100 host, GPU codecs, decode stage reworked"). Runs before the batcher has anything to do,
  // so the decoders are not yet shared.
  void WarmUp(int max_batch) {
    if (classifier_ == nullptr) return;
    cv::Mat gradient(1080, 1920, CV_8UC3);
    for (int y = 0; y < gradient.rows; ++y) {
      for (int x = 0; x < gradient.cols; ++x) gradient.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, (x + y) % 256);
    }
    std::vector<unsigned char> bytes;
    cv::imencode(".jpg", gradient, bytes);
    const std::optional<EngineJpeg> jpeg =
        classifier_->Inspect(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!jpeg) return;
    const std::vector<EngineJpeg> inputs(std::max(1, max_batch), *jpeg);
    std::vector<PreparedBatch> held;  // all at once, so that each thread's batch has its own events afterwards
    for (size_t thread = 0; thread < decoders_.size(); ++thread) {
      JpegEngineDecoder* decoder = DecoderFor(static_cast<int>(thread));
      if (decoder == nullptr) return;
      absl::StatusOr<PreparedBatch> batch = decoder->Prepare(inputs);
      absl::Status s = batch.status();
      if (s.ok()) s = decoder->Run(*batch);
      if (s.ok()) s = decoder->WaitUntilDecoded(*batch);
      if (!s.ok()) {
        IMGPROC_LOG(kWarning) << device_name_ << ": JPEG engine warm-up failed: " << s.message();
        return;
      }
      held.push_back(*std::move(batch));
    }
  }

  JpegEngineDecoder* DecoderFor(int thread) {
    return MadeOnFirstUse(decoders_[thread], failed_, "JPEG engine batch decoder");
  }

  const std::shared_ptr<NvJpegDevice> codec_;
  const std::string device_name_;
  PoolObserver* const observer_;
  const ForwardFn forward_;
  const int64_t min_pixels_;
  const std::unique_ptr<JpegEngineClassifier> classifier_;    // null: the lanes decode every JPEG
  std::vector<std::unique_ptr<JpegEngineDecoder>> decoders_;  // one per batcher thread
  const int budget_limit_;
  const std::shared_ptr<DecodedImageBudget> budget_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> device_failed_{false};  // a sticky CUDA error: the context is unusable
  std::atomic<int64_t> failed_batches_{0};
  std::atomic<int64_t> last_log_us_{0};
  std::vector<std::unique_ptr<JpegStageCudaDecoder>> progressive_decoders_;  // one per progressive thread
  std::atomic<bool> progressive_failed_{false};
  const int max_batch_;
  std::vector<std::unique_ptr<JpegGpuHuffmanDecoder>> sm_decoders_;  // one per SM thread
  std::atomic<bool> sm_failed_{false};
  const double sm_share_;  // below 0: adaptive
  const int64_t sm_min_pixels_;
  std::atomic<int64_t> sm_candidates_{0};  // with a fixed share: JPEGs that could have gone to the SMs
  std::atomic<int> sm_busy_{0};            // adaptive: JPEGs given to the SM threads and not yet decoded
  // Last: their threads use the members above and are joined first.
  DynamicBatcher<Job> batcher_;
  std::unique_ptr<DynamicBatcher<Job>> progressive_;  // null without progressive threads
  std::unique_ptr<DynamicBatcher<Job>> sm_;           // null without SM threads
};

}  // namespace

FrontStageFactory JpegDecodeStageFactory(std::shared_ptr<NvJpegDevice> codec, DecodeStageOptions options,
                                         std::string device_name) {
  if (codec == nullptr || codec->engine() == nullptr) return nullptr;
  options.batching.thread_name = device_name + "-jpeg";
  return [codec, options, device_name](ForwardFn forward, PoolObserver* observer) -> std::unique_ptr<FrontStage> {
    return std::make_unique<JpegDecodeStage>(codec, options, device_name, observer, std::move(forward));
  };
}

}  // namespace imgproc
