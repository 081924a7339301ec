#pragma once
// OpenCV calls that cannot be cut into stripes by their inputs (resize, Canny, CLAHE, histogram equalization,
// Otsu's threshold) made interruptible from inside: their loops go through cv::parallel_for_, which this module
// defines in the executable, so that on a thread running RunInterruptibly each loop runs as a sequence of
// chunks of its range with ctx.stop asked before each.
//
// Why that is exact: OpenCV's loop bodies are written for any split of their range into its stripes (the split
// follows the thread count), so running a range as consecutive unions of those stripes on one thread computes the
// same bytes as one call; during such a call cv::getNumThreads and cv::getNumberOfCPUs, defined here too, say 128
// so that loops cut by the thread count have stripes to chunk. Why it
// works: libopencv_imgproc calls cv::parallel_for_ through its PLT, and the dynamic linker binds it to the
// executable's definition first; each chunk then goes to OpenCV's own cv::parallel_for_ (found with RTLD_NEXT),
// so --opencv_threads keeps its meaning. Where the binding does not take (OpenCV linked statically),
// OpenCvLoopsAreInterruptible() says so at start-up and the calls run whole, as before.

#include <functional>

#include "absl/status/status.h"
#include "ops/operation.h"

namespace imgproc {

// Runs `call` (OpenCV calls on this thread) with every cv::parallel_for_ it makes cut into chunks: the first
// about ctx.stripe_work of ctx.pass_work of the loop's range, the next ones sized to take ctx.stripe_seconds at
// the pace of the one before. Before each chunk ctx.stop is asked; a non-OK status abandons the call (an exception
// unwinds OpenCV's frames, which hold their memory in RAII types) and is returned: the outputs are then incomplete.
// Loops nested inside a chunk run whole. Exceptions of `call` itself (cv::Exception) pass through.
absl::Status RunInterruptibly(const CpuPassContext& ctx, const std::function<void()>& call);

// Whether OpenCV's loops reach this module's cv::parallel_for_ in this process (checked once with a small
// cv::resize): false where OpenCV is linked statically or the symbol is not exported.
bool OpenCvLoopsAreInterruptible();

}  // namespace imgproc
