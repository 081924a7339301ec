#include "metrics/nvml.h"

#include <dlfcn.h>

namespace imgproc {

// The few NVML entry points used, declared as nvml.h declares them (its ABI is stable across drivers).
struct Nvml::Api {
  using Device = void*;
  struct Utilization {
    unsigned int gpu;
    unsigned int memory;
  };
  struct Memory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
  };
  int (*init)();
  int (*shutdown)();
  int (*by_pci_bus_id)(const char*, Device*);
  int (*utilization)(Device, Utilization*);
  int (*memory)(Device, Memory*);
  int (*jpeg_utilization)(Device, unsigned int*, unsigned int*);  // optional: older drivers lack it
};

Nvml::Nvml() {
  handle_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) return;  // no NVIDIA driver

  api_ = new Api();
  auto load = [this](const char* name) { return dlsym(handle_, name); };
  api_->init = reinterpret_cast<int (*)()>(load("nvmlInit_v2"));
  api_->shutdown = reinterpret_cast<int (*)()>(load("nvmlShutdown"));
  api_->by_pci_bus_id = reinterpret_cast<int (*)(const char*, Api::Device*)>(load("nvmlDeviceGetHandleByPciBusId_v2"));
  api_->utilization = reinterpret_cast<int (*)(Api::Device, Api::Utilization*)>(load("nvmlDeviceGetUtilizationRates"));
  api_->memory = reinterpret_cast<int (*)(Api::Device, Api::Memory*)>(load("nvmlDeviceGetMemoryInfo"));
  api_->jpeg_utilization =
      reinterpret_cast<int (*)(Api::Device, unsigned int*, unsigned int*)>(load("nvmlDeviceGetJpgUtilization"));
  if (!api_->init || !api_->shutdown || !api_->by_pci_bus_id || !api_->utilization || !api_->memory ||
      api_->init() != 0) {  // present but unusable: the GPU series then stay unset
    dlclose(handle_);
    handle_ = nullptr;
  }
}

Nvml::~Nvml() {
  if (handle_ != nullptr) {
    api_->shutdown();
    dlclose(handle_);
  }
  delete api_;
}

bool Nvml::Read(const std::string& pci_bus_id, Sample& sample) const {
  if (!Available() || pci_bus_id.empty()) return false;
  Api::Device device = nullptr;
  Api::Utilization utilization{};
  Api::Memory memory{};
  if (api_->by_pci_bus_id(pci_bus_id.c_str(), &device) != 0) return false;
  if (api_->utilization(device, &utilization) != 0 || api_->memory(device, &memory) != 0) return false;
  sample.utilization_ratio = utilization.gpu / 100.0;
  sample.memory_used_bytes = static_cast<double>(memory.used);
  sample.memory_total_bytes = static_cast<double>(memory.total);
  unsigned int jpeg = 0, period_us = 0;
  sample.jpeg_utilization_ratio =
      api_->jpeg_utilization != nullptr && api_->jpeg_utilization(device, &jpeg, &period_us) == 0 ? jpeg / 100.0 : -1;
  return true;
}

}  // namespace imgproc
