#include "backend/cuda/cuda_kernel.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/named_registry.h"
#include "core/kernel_catalog.h"

namespace imgproc {
namespace {

NamedRegistry<CudaKernel>& Kernels() {
  static auto* kernels = new NamedRegistry<CudaKernel>("CUDA kernel of operation");
  return *kernels;
}

}  // namespace

bool CudaKernelRegistry::Register(CudaKernel kernel) {
  const std::string op = kernel.op;
  const std::string notes = kernel.notes;
  std::vector<std::string> depths;
  for (Depth d : kernel.depths) depths.push_back(DepthName(d));
  Kernels().Add(op, std::move(kernel));  // ends the program on a second kernel for `op`
  RecordBackendKernel(op, {"cuda", notes, std::move(depths)});
  return true;
}

const CudaKernel* CudaKernelRegistry::Find(absl::string_view op) { return Kernels().Find(op); }

absl::Status CudaKernelRegistry::CheckEveryKernelHasAnOperation() {
  std::vector<std::string> orphans;
  for (const auto& [op, kernel] : Kernels().All()) {
    if (OpRegistry::Find(*op) == nullptr) orphans.push_back(*op);
  }
  if (orphans.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("CUDA kernels registered for operations that have no definition: ", absl::StrJoin(orphans, ", ")));
}

}  // namespace imgproc
