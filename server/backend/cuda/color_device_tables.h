#pragma once
// A CUDA lane's cache of colour transform tables on its device (issue 29 item 3), for the kernel in
// backend/cuda/color_transform_kernel.h.

#include <cstddef>
#include <list>
#include <memory>
#include <opencv2/core/cuda.hpp>
#include <optional>

#include "codec/color_device_form.h"
#include "codec/color_transform.h"

namespace imgproc {

// One lane's device copies of the transforms it has applied, the last `max_entries` of them (the least recently used
// dropped first; a lattice is 431 KiB, curves and matrix 19 KiB), keyed by the transform, which each entry holds so
// that its address is not reused. Built and uploaded once per transform: the upload is queued on the lane's stream,
// ahead of the kernel that reads it. Only the lane's thread uses it. An entry is dropped only between requests, when
// the lane's stream has finished every kernel that read it.
class DeviceColorTables {
 public:
  explicit DeviceColorTables(size_t max_entries) : max_entries_(max_entries) {}

  struct Tables {
    ColorDeviceForm form;
    ColorTablesView view;  // into `device`
  };
  // Null where the transform has no device form (the lane then converts on the CPU); the same answer for the same
  // transform afterwards, without building it again.
  const Tables* Get(const std::shared_ptr<const ColorTransform>& transform, cv::cuda::Stream& stream);
  // Frees the device copies: before the lane's allocator goes (its destructor).
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    std::shared_ptr<const ColorTransform> transform;
    std::optional<Tables> tables;
    cv::cuda::GpuMat device;  // the packed tables
  };
  const size_t max_entries_;
  std::list<Entry> entries_;  // front: most recently used
};

}  // namespace imgproc
