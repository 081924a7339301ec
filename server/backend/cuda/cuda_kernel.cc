#include "backend/cuda/cuda_kernel.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/kernel_catalog.h"

namespace imgproc {
namespace {

std::map<std::string, CudaKernel, std::less<>>& Kernels() {
  static auto* kernels = new std::map<std::string, CudaKernel, std::less<>>();
  return *kernels;
}

}  // namespace

bool CudaKernelRegistry::Register(CudaKernel kernel) {
  if (Kernels().count(kernel.op) != 0) {
    std::fprintf(stderr, "imgproc: CUDA kernel of operation '%s' is registered twice\n", kernel.op.c_str());
    std::abort();
  }
  RecordBackendKernel(kernel.op, {"cuda", kernel.notes});
  std::string op = kernel.op;
  Kernels().emplace(std::move(op), std::move(kernel));
  return true;
}

const CudaKernel* CudaKernelRegistry::Find(absl::string_view op) {
  auto it = Kernels().find(op);
  return it == Kernels().end() ? nullptr : &it->second;
}

absl::Status CudaKernelRegistry::CheckEveryKernelHasAnOperation() {
  std::vector<std::string> orphans;
  for (const auto& [op, kernel] : Kernels()) {
    if (OpRegistry::Find(op) == nullptr) orphans.push_back(op);
  }
  if (orphans.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("CUDA kernels registered for operations that have no definition: ", absl::StrJoin(orphans, ", ")));
}

}  // namespace imgproc
