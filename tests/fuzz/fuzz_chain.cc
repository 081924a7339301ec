// libFuzzer target: chain validation. The input is a ProcessRequest in protobuf's text format (operations, output,
// decode mode, device), so that seeds are readable (tests/fuzz/chain_seeds) and mutations keep field names; its
// image is replaced by a small real PNG, so that every input reaches the operations' validation and the plan's
// work, memory and answer-size estimates.
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "pipeline/plan.h"
#include "transport/request_translation.h"

namespace {

const std::string& SmallPng() {
  static const std::string png = [] {
    cv::Mat image(24, 32, CV_8UC3);
    cv::randu(image, 0, 255);
    std::vector<uchar> bytes;
    cv::imencode(".png", image, bytes);
    return std::string(bytes.begin(), bytes.end());
  }();
  return png;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imgproc::v1::ProcessRequest request;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowPartialMessage(true);
  google::protobuf::io::ArrayInputStream input(data, static_cast<int>(size));
  if (!parser.Parse(&input, &request)) return 0;
  request.set_image(SmallPng());
  imgproc::ImageLimits limits;
  limits.max_pixels = 4'000'000;
  (void)imgproc::BuildPlan(request, limits);
  return 0;
}
