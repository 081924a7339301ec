#pragma once
// Shared by the unit, integration and GPU suites: real photos, generated images, the operation cases with
// their OpenCV references, and pixel comparison.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "imgproc/v1/imgproc.pb.h"

namespace imgproc::testing {

namespace pb = ::imgproc::v1;

// Debian's mate-backgrounds (or $IMGPROC_TEST_IMAGES, laid out the same way).
std::string PhotoRoot();
std::string PhotoPath(const std::string& relative);  // e.g. "nature/Dune.jpg"
std::vector<std::string> NaturePhotos();             // every nature/*.jpg
std::string ReadFile(const std::string& path);       // aborts the test binary if unreadable
std::string TestDataPath(const std::string& name);   // a file of tests/data, e.g. "cmyk_64x48.jpg"

// The proto's name of a format or backend as the server's flags, logs and files say it: IMAGE_FORMAT_JPEG -> "jpeg".
std::string FormatName(pb::ImageFormat format);
std::string BackendName(pb::Backend backend);
std::string ColorActionName(pb::ColorAction action);
std::string DtypeName(pb::Dtype dtype);

// A ProcessStream call's message for `request`.
pb::ProcessStreamRequest StreamItem(pb::ProcessRequest request);

// A deterministic synthetic picture: gradients, shapes and text, so edges and flat areas both exist.
cv::Mat GeneratedImage(int width, int height, int channels = 3);
std::string EncodeAs(const cv::Mat& image, const std::string& extension, std::vector<int> params = {});

// How the server decodes by default, done in-process.
// `jpeg` with an EXIF APP1 segment holding only the Orientation tag (1-8), right after its start-of-image.
std::string WithExifOrientation(const std::string& jpeg, int orientation);
cv::Mat DecodeLikeServer(const std::string& bytes, pb::DecodeMode mode = pb::DECODE_MODE_COLOR);

// Raw response bytes (HWC) as a Mat of the given geometry.
cv::Mat RawToMat(const std::string& bytes, int width, int height, int channels, pb::Dtype dtype);

struct PixelDiff {
  double max_abs = 0;
  double fraction_differing = 0;  // share of elements that differ by more than 0
  bool same_shape = false;
  std::string Describe() const;
};
PixelDiff Compare(const cv::Mat& a, const cv::Mat& b);

// The `index`-th deterministic corruption of one of `seeds`: flipped bytes (often in the header), a
// truncation, or one seed's header on another's body. Same sequence for the same `random` state.
std::string Mutate(const std::vector<std::string>& seeds, int index, std::mt19937& random);

// Peak signal-to-noise ratio of two 8-bit images of one shape, in dB (infinity when equal).
double Psnr(const cv::Mat& a, const cv::Mat& b);

// One argument of an operation as a test writes it: 640, 1.5, true, an enumeration's value by name
// ("BORDER_MODE_REFLECT"), or a list of reals ({255, 0, 0}). The alternatives are OpArgs::Value's.
class ArgValue {
 public:
  using Value = std::variant<int64_t, double, bool, std::string, std::vector<double>>;
  ArgValue(int value) : value_(int64_t{value}) {}
  ArgValue(double value) : value_(value) {}
  ArgValue(bool value) : value_(value) {}
  ArgValue(const char* name) : value_(std::string(name)) {}
  ArgValue(std::string name) : value_(std::move(name)) {}
  ArgValue(std::initializer_list<double> values) : value_(std::vector<double>(values)) {}
  ArgValue(std::vector<double> values) : value_(std::move(values)) {}
  const Value& value() const { return value_; }

 private:
  Value value_;
};

// One step of a chain as a test writes it, for either frontend: the engine's OpCall (ToOpCall,
// imgproc_testing/engine.h) or the gRPC API's Operation message (ToProto). The name is the Operation field's, the
// arguments are its message's fields; a name or an argument that the proto lacks ends the test binary.
struct OpSpec {
  std::string name;
  std::vector<std::pair<std::string, ArgValue>> args;
};
// Op("resize", {{"width", 640}, {"keep_aspect", true}}), Op("flip").
OpSpec Op(std::string name, std::vector<std::pair<std::string, ArgValue>> args = {});
// `op` as protobuf's text format writes an Operation's field: "resize { width: 640 keep_aspect: true }".
std::string ToString(const OpSpec& op);
// The Operation message of `op`, its fields set by name (an integer is taken for a double field). An empty name gives
// an Operation with no operation set.
pb::Operation ToProto(const OpSpec& op);

struct OpCase {
  std::string name;
  std::vector<OpSpec> chain;
  pb::DecodeMode decode = pb::DECODE_MODE_COLOR;
  std::function<cv::Mat(const cv::Mat&)> reference;  // applied to the decoded input
  double max_abs_diff = 0;                           // between the service and the reference, on the CPU backend
};

// At least one case for every operation in the proto, most with several parameter sets.
std::vector<OpCase> OperationCases();

pb::ProcessRequest RawRequest(const std::string& image, const OpCase& c, pb::Dtype dtype);

// What a model's input pipeline asks, without an image: resize to 224x224, normalize with ImageNet's mean and std (of
// 0..1 values), a raw answer of `dtype` and `layout`.
pb::ProcessRequest ModelInputChain(pb::Dtype dtype = pb::DTYPE_FLOAT32, pb::Layout layout = pb::LAYOUT_CHW);
// A ProcessBatchRequest of `images` through `each`, into a tensor of width x height x channels.
pb::ProcessBatchRequest BatchOf(const std::vector<std::string>& images, const pb::ProcessRequest& each, int width = 224,
                                int height = 224, int channels = 3);
// Little-endian float32 values as OpenCV rounds them to float16, in the same order: what a float16 raw answer must
// hold where the float32 answer of the same request is `float32_bytes`.
std::string HalfPrecisionOf(const std::string& float32_bytes);

}  // namespace imgproc::testing
