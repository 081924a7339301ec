#pragma once

#include <cstdint>

namespace imgproc {

// What the server accepts. Checked from the image header before decoding and after every step of the
// chain, so that neither a hostile file nor a resize to 100000x100000 can allocate unbounded memory.
struct ImageLimits {
  int64_t max_input_bytes = 64 << 20;
  int max_width = 16384;
  int max_height = 16384;
  int64_t max_pixels = 100'000'000;
  int max_operations = 64;
  // A progressive JPEG's decode cost grows with scans x blocks, and nothing else bounds the scans: a 64 KiB file
  // repeating an empty scan 3,000 times took 7.7 s of a worker. Encoders write about 10.
  int max_jpeg_scans = 100;
  // The most work one request may ask for, estimated from its plan in pixel-channel taps (StepBinder::SetWork).
  // Checked before any work, because work already queued on a CUDA stream cannot be cancelled. 5e10 lets through
  // every bench workload (the heaviest, a 9-pixel bilateral filter on a 4K photo, is 2e9) and, e.g., a 15x15
  // morphology or a 9-pixel bilateral filter on a 100 MP image.
  double max_request_work = 5e10;
  // The largest answer, checked from the plan: without it a 5.7 KB PNG resized to 100 MP with a float32 answer
  // made a 1.2 GB response. 256 MiB holds a 20 MP image as raw float32.
  int64_t max_output_bytes = int64_t{256} << 20;
  // The largest AVIF answer, in pixels. libaom's encode cannot be stopped once it runs (no callback between
  // superblocks in libavif 0.11), so it is bounded apart from --max_pixels: 1680x1050 at the default speed 8 took
  // 0.38 s of one core here (2.2 s at speed 6), so a 100 MP one would hold a worker for ~25 s (2 minutes at speed 6).
  // Its cost also counts toward max_request_work (codec/avif_encode.h: AvifEncodeWork).
  int64_t max_avif_pixels = 16'777'216;  // 4096x4096
  // The largest HEIC answer, in pixels, for the same reason: x265's encode cannot be stopped either (libheif 1.15 has
  // no callback). 1680x1050 at the default speed 8 took 0.54 s of one core here, at speed 0 1.5 s; a 4096x4096 one
  // holds a worker for ~5 s (28 s at speed 0).
  int64_t max_heic_pixels = 16'777'216;  // 4096x4096
  // Images in one ProcessBatch call: each is a job of the device's queue, so a batch past the free queue waits for
  // its own jobs to finish before the rest are taken (transport/batch_call.h).
  int max_batch_images = 256;
};

}  // namespace imgproc
