#pragma once
// GPU utilization and memory through NVML, loaded at run time from libnvidia-ml.so.1 so that a CPU-only
// build, or a host without the driver, starts all the same (Available() is then false).

#include <string>

namespace imgproc {

class Nvml {
 public:
  struct Sample {
    double utilization_ratio = 0;  // share of the last sample period a kernel ran, 0..1
    double memory_used_bytes = 0;
    double memory_total_bytes = 0;
    double jpeg_utilization_ratio = -1;  // hardware JPEG decoder, 0..1; -1 where the driver does not report it
  };

  Nvml();
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool Available() const { return handle_ != nullptr; }
  // false when the device is unknown to NVML or a query fails.
  bool Read(const std::string& pci_bus_id, Sample& sample) const;

 private:
  void* handle_ = nullptr;
  struct Api;
  Api* api_ = nullptr;
};

}  // namespace imgproc
