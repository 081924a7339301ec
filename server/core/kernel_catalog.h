#pragma once
// Which backends have kernels of their own for an operation, and what differs there: backends record their
// kernels as they register them, GetServerInfo lists them. Every operation also has its CPU kernel (ops/), which
// is not recorded here.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace imgproc {

struct BackendKernelInfo {
  std::string backend;              // "cuda"
  std::string notes;                // parameters that run on the CPU instead, results that differ from the CPU's
  std::vector<std::string> depths;  // the pixel types the kernel takes ("uint8", "uint16", "float32")
};

void RecordBackendKernel(std::string op, BackendKernelInfo info);
std::vector<BackendKernelInfo> BackendKernelsFor(absl::string_view op);

}  // namespace imgproc
