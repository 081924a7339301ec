#pragma once
// What the in-process peers (bench/baseline.cc, bench/vips_peer.cc) share: the inputs as bench/run.sh names
// them, and a closed loop on N threads for a while, reported as one JSON line like imgproc-load's.

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace imgproc::bench {

// Every file of each comma-separated directory (sorted) or the file itself; exits with a message when none.
std::vector<std::string> LoadImages(const std::string& input, const char* program);

// `threads` threads each run `process` on the images in turn (thread t starts at image t) until `duration` has
// passed; `process` returns false for a failed image. Prints {"count", "errors", "rps", "latency_ms", ...}.
void RunClosedLoop(const std::vector<std::string>& images, int threads, absl::Duration duration,
                   const std::function<bool(const std::string& image)>& process);

}  // namespace imgproc::bench
