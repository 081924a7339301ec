#include "backend/cuda/color_device_tables.h"

namespace imgproc {

const DeviceColorTables::Tables* DeviceColorTables::Get(const std::shared_ptr<const ColorTransform>& transform,
                                                        cv::cuda::Stream& stream) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->transform == transform) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().tables ? &*entries_.front().tables : nullptr;
    }
  }
  Entry entry;
  entry.transform = transform;
  if (std::optional<ColorDeviceForm> form = ColorDeviceForm::For(*transform)) {
    const std::vector<uint8_t>& host = form->tables();
    // From pageable memory the copy is staged before upload() returns; `form` keeps the bytes regardless.
    entry.device.upload(cv::Mat(1, static_cast<int>(host.size()), CV_8U, const_cast<uint8_t*>(host.data())), stream);
    const ColorTablesView view = form->View(entry.device.ptr<uint8_t>());
    entry.tables.emplace(Tables{*std::move(form), view});
  }
  entries_.push_front(std::move(entry));
  while (entries_.size() > max_entries_) entries_.pop_back();
  return entries_.front().tables ? &*entries_.front().tables : nullptr;
}

}  // namespace imgproc
