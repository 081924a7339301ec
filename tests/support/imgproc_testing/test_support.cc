#include "imgproc_testing/test_support.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

namespace imgproc::testing {

namespace {

std::string LowerWithoutPrefix(const std::string& name, const std::string& prefix) {
  std::string word = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

}  // namespace

std::string FormatName(pb::ImageFormat format) {
  return LowerWithoutPrefix(pb::ImageFormat_Name(format), "IMAGE_FORMAT_");
}
std::string BackendName(pb::Backend backend) { return LowerWithoutPrefix(pb::Backend_Name(backend), "BACKEND_"); }
std::string ColorActionName(pb::ColorAction action) {
  return LowerWithoutPrefix(pb::ColorAction_Name(action), "COLOR_ACTION_");
}
std::string DtypeName(pb::Dtype dtype) { return LowerWithoutPrefix(pb::Dtype_Name(dtype), "DTYPE_"); }

pb::ProcessStreamRequest StreamItem(pb::ProcessRequest request) {
  pb::ProcessStreamRequest item;
  item.mutable_request()->Swap(&request);
  return item;
}

std::string PhotoRoot() {
  const char* env = std::getenv("IMGPROC_TEST_IMAGES");
  return env != nullptr ? env : "/usr/share/backgrounds/mate";
}

std::string PhotoPath(const std::string& relative) { return PhotoRoot() + "/" + relative; }

std::vector<std::string> NaturePhotos() {
  std::vector<std::string> paths;
  const std::filesystem::path dir = PhotoRoot() + "/nature";
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".jpg") paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    std::cerr << "no test photos under " << dir << ": install Debian's mate-backgrounds (scripts/install-deps.sh)"
              << " or set IMGPROC_TEST_IMAGES\n";
    std::abort();
  }
  return paths;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::abort();
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

cv::Mat GeneratedImage(int width, int height, int channels) {
  cv::Mat bgr(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      bgr.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(255 * x / std::max(1, width - 1)),
                    static_cast<uchar>(255 * y / std::max(1, height - 1)), static_cast<uchar>((x * 7 + y * 13) % 256));
    }
  }
  cv::circle(bgr, {width / 3, height / 2}, std::min(width, height) / 4, {255, 255, 255}, -1);
  cv::rectangle(bgr, {width / 2, height / 4}, {width - 4, height - 4}, {0, 0, 0}, 3);
  cv::putText(bgr, "imgproc", {4, height - 8}, cv::FONT_HERSHEY_SIMPLEX, std::max(0.3, width / 400.0), {0, 0, 255}, 2);
  if (channels == 3) return bgr;
  cv::Mat out;
  if (channels == 1) cv::cvtColor(bgr, out, cv::COLOR_BGR2GRAY);
  if (channels == 4) {
    cv::cvtColor(bgr, out, cv::COLOR_BGR2BGRA);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) out.at<cv::Vec4b>(y, x)[3] = static_cast<uchar>(255 * x / std::max(1, width - 1));
    }
  }
  return out;
}

std::string EncodeAs(const cv::Mat& image, const std::string& extension, std::vector<int> params) {
  std::vector<uchar> buffer;
  cv::imencode(extension, image, buffer, params);
  return std::string(buffer.begin(), buffer.end());
}

std::string WithExifOrientation(const std::string& jpeg, int orientation) {
  // Big-endian TIFF: header, then IFD0 at offset 8 with one SHORT entry (tag 0x0112) and no next IFD.
  const std::string tiff = std::string("MM\0*\0\0\0\x08", 8) + std::string("\0\x01", 2) +
                           std::string("\x01\x12\0\x03\0\0\0\x01", 8) +
                           std::string{'\0', static_cast<char>(orientation), '\0', '\0'} + std::string(4, '\0');
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t length = payload.size() + 2;
  const std::string segment =
      std::string("\xFF\xE1", 2) + static_cast<char>(length >> 8) + static_cast<char>(length & 0xFF) + payload;
  return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

cv::Mat DecodeLikeServer(const std::string& bytes, pb::DecodeMode mode) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  int flags = cv::IMREAD_IGNORE_ORIENTATION | cv::IMREAD_COLOR;
  if (mode == pb::DECODE_MODE_GRAYSCALE) flags = cv::IMREAD_IGNORE_ORIENTATION | cv::IMREAD_GRAYSCALE;
  if (mode == pb::DECODE_MODE_UNCHANGED) flags = cv::IMREAD_UNCHANGED;
  return cv::imdecode(buffer, flags);
}

cv::Mat RawToMat(const std::string& bytes, int width, int height, int channels, pb::Dtype dtype) {
  const int type = dtype == pb::DTYPE_FLOAT32   ? CV_32FC(channels)
                   : dtype == pb::DTYPE_FLOAT16 ? CV_16FC(channels)
                   : dtype == pb::DTYPE_UINT16  ? CV_16UC(channels)
                                                : CV_8UC(channels);
  cv::Mat m(height, width, type);
  if (bytes.size() != m.total() * m.elemSize()) return cv::Mat();
  std::memcpy(m.data, bytes.data(), bytes.size());
  return m;
}

std::string PixelDiff::Describe() const {
  std::ostringstream s;
  s << "max |diff| " << max_abs << ", " << fraction_differing * 100 << "% of values differ"
    << (same_shape ? "" : " (shapes differ)");
  return s.str();
}

pb::ProcessRequest ModelInputChain(pb::Dtype dtype, pb::Layout layout) {
  pb::ProcessRequest each;
  *each.add_operations() = ToProto(Op("resize", {{"width", 224}, {"height", 224}}));
  *each.add_operations() =
      ToProto(Op("normalize", {{"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}}, {"scale", 1.0 / 255}}));
  each.mutable_output()->mutable_raw()->set_dtype(dtype);
  each.mutable_output()->mutable_raw()->set_layout(layout);
  return each;
}

pb::ProcessBatchRequest BatchOf(const std::vector<std::string>& images, const pb::ProcessRequest& each, int width,
                                int height, int channels) {
  pb::ProcessBatchRequest batch;
  batch.set_request_id("batch-1");
  for (const std::string& image : images) batch.add_images(image);
  *batch.mutable_each() = each;
  batch.set_width(width);
  batch.set_height(height);
  batch.set_channels(channels);
  return batch;
}

std::string HalfPrecisionOf(const std::string& float32_bytes) {
  // One row of values: either layout is a flat run of them, and converting it as one row keeps the order.
  const cv::Mat as_float(1, static_cast<int>(float32_bytes.size() / 4), CV_32F,
                         const_cast<char*>(float32_bytes.data()));
  cv::Mat half;
  as_float.convertTo(half, CV_16F);
  return std::string(reinterpret_cast<const char*>(half.data), half.total() * half.elemSize());
}

std::string TestDataPath(const std::string& name) { return std::string(IMGPROC_TEST_DATA_DIR) + "/" + name; }

std::string Mutate(const std::vector<std::string>& seeds, int index, std::mt19937& random) {
  std::string bytes = seeds[index % seeds.size()];
  switch (random() % 3) {
    case 0:  // flip a few bytes, often in the header
      for (int k = 0, n = 1 + random() % 8; k < n; ++k) {
        const size_t at = (random() % 2) ? random() % std::min<size_t>(bytes.size(), 64) : random() % bytes.size();
        bytes[at] = static_cast<char>(random());
      }
      break;
    case 1:  // truncate
      bytes.resize(random() % bytes.size());
      break;
    default:  // one format's header on another's body
      bytes = seeds[random() % seeds.size()].substr(0, 32) + bytes.substr(std::min<size_t>(bytes.size(), 32));
      break;
  }
  return bytes;
}

double Psnr(const cv::Mat& a, const cv::Mat& b) {
  if (cv::norm(a, b, cv::NORM_INF) == 0) return INFINITY;  // cv::PSNR caps equal images at 361 dB
  return cv::PSNR(a, b);
}

PixelDiff Compare(const cv::Mat& a, const cv::Mat& b) {
  PixelDiff d;
  d.same_shape = a.size() == b.size() && a.type() == b.type();
  if (!d.same_shape || a.empty()) {
    d.max_abs = INFINITY;
    d.fraction_differing = 1;
    return d;
  }
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  cv::Mat flat = diff.reshape(1);
  double lo;
  cv::minMaxLoc(flat, &lo, &d.max_abs);
  d.fraction_differing = static_cast<double>(cv::countNonZero(flat)) / static_cast<double>(flat.total());
  return d;
}

OpSpec Op(std::string name, std::vector<std::pair<std::string, ArgValue>> args) {
  return OpSpec{std::move(name), std::move(args)};
}

std::string ToString(const OpSpec& op) {
  std::ostringstream text;
  text << op.name << " {";
  for (const auto& [name, arg] : op.args) {
    text << " " << name << ": ";
    const ArgValue::Value& value = arg.value();
    if (const int64_t* integer = std::get_if<int64_t>(&value)) text << *integer;
    if (const double* real = std::get_if<double>(&value)) text << *real;
    if (const bool* flag = std::get_if<bool>(&value)) text << (*flag ? "true" : "false");
    if (const std::string* word = std::get_if<std::string>(&value)) text << *word;
    if (const std::vector<double>* list = std::get_if<std::vector<double>>(&value)) {
      text << "[";
      for (size_t i = 0; i < list->size(); ++i) text << (i > 0 ? ", " : "") << (*list)[i];
      text << "]";
    }
  }
  text << (op.args.empty() ? "}" : " }");
  return text.str();
}

pb::Operation ToProto(const OpSpec& op) {
  using google::protobuf::FieldDescriptor;
  auto fail = [&](const std::string& why) {
    std::cerr << "bad test operation " << op.name << ": " << why << "\n";
    std::abort();
  };
  pb::Operation operation;
  if (op.name.empty()) return operation;
  const FieldDescriptor* chosen = pb::Operation::descriptor()->FindFieldByName(op.name);
  if (chosen == nullptr || chosen->containing_oneof() == nullptr) fail("no such Operation field");
  google::protobuf::Message* message = operation.GetReflection()->MutableMessage(&operation, chosen);
  const google::protobuf::Reflection* reflection = message->GetReflection();
  for (const auto& [name, arg] : op.args) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
    if (field == nullptr) fail("no field " + name);
    const ArgValue::Value& value = arg.value();
    const int64_t* integer = std::get_if<int64_t>(&value);
    const double* real = std::get_if<double>(&value);
    const bool* flag = std::get_if<bool>(&value);
    const std::string* word = std::get_if<std::string>(&value);
    const std::vector<double>* list = std::get_if<std::vector<double>>(&value);
    if (field->is_repeated() && field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE && list != nullptr) {
      for (double v : *list) reflection->AddDouble(message, field, v);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 && integer != nullptr) {
      reflection->SetInt32(message, field, static_cast<int32_t>(*integer));
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE && (real != nullptr || integer != nullptr)) {
      reflection->SetDouble(message, field, real != nullptr ? *real : static_cast<double>(*integer));
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && flag != nullptr) {
      reflection->SetBool(message, field, *flag);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM && word != nullptr) {
      const google::protobuf::EnumValueDescriptor* number = field->enum_type()->FindValueByName(*word);
      if (number == nullptr) fail(name + ": no value " + *word);
      reflection->SetEnumValue(message, field, number->number());
    } else {
      fail(name + ": a value of another type than the field's");
    }
  }
  return operation;
}

namespace {

cv::Mat Apply(const cv::Mat& src, const std::function<void(const cv::Mat&, cv::Mat&)>& f) {
  cv::Mat dst;
  f(src, dst);
  return dst;
}

cv::Mat AbsU8(const cv::Mat& f) {
  cv::Mat out;
  cv::convertScaleAbs(f, out);
  return out;
}

cv::Mat EqualizeLuma(const cv::Mat& src, const std::function<void(const cv::Mat&, cv::Mat&)>& eq) {
  cv::Mat ycrcb;
  cv::cvtColor(src, ycrcb, cv::COLOR_BGR2YCrCb);
  std::vector<cv::Mat> planes;
  cv::split(ycrcb, planes);
  cv::Mat y;
  eq(planes[0], y);
  planes[0] = y;
  cv::merge(planes, ycrcb);
  cv::Mat out;
  cv::cvtColor(ycrcb, out, cv::COLOR_YCrCb2BGR);
  return out;
}

}  // namespace

std::vector<OpCase> OperationCases() {
  using M = const cv::Mat&;
  std::vector<OpCase> cases;
  auto add = [&](std::string name, std::vector<OpSpec> chain, std::function<cv::Mat(M)> ref,
                 pb::DecodeMode mode = pb::DECODE_MODE_COLOR, double tolerance = 0) {
    cases.push_back(OpCase{std::move(name), std::move(chain), mode, std::move(ref), tolerance});
  };
  const pb::DecodeMode gray = pb::DECODE_MODE_GRAYSCALE;

  add("resize_width_keep_aspect", {Op("resize", {{"width", 640}, {"keep_aspect", true}})}, [](M s) {
    return Apply(s, [&](M a, cv::Mat& b) {
      cv::resize(a, b, {640, int(std::llround(s.rows * 640.0 / s.cols))}, 0, 0, cv::INTER_LINEAR);
    });
  });
  add("resize_fit_box_area",
      {Op("resize", {{"width", 300}, {"height", 300}, {"keep_aspect", true}, {"interpolation", "INTERPOLATION_AREA"}})},
      [](M s) {
        const double f = std::min(300.0 / s.cols, 300.0 / s.rows);
        return Apply(s, [&](M a, cv::Mat& b) {
          cv::resize(a, b, {int(std::llround(s.cols * f)), int(std::llround(s.rows * f))}, 0, 0, cv::INTER_AREA);
        });
      });
  add("resize_scale_half_cubic", {Op("resize", {{"scale", 0.5}, {"interpolation", "INTERPOLATION_CUBIC"}})}, [](M s) {
    return Apply(s, [&](M a, cv::Mat& b) {
      cv::resize(a, b, {int(std::llround(s.cols * 0.5)), int(std::llround(s.rows * 0.5))}, 0, 0, cv::INTER_CUBIC);
    });
  });
  add("resize_exact_nearest",
      {Op("resize", {{"width", 333}, {"height", 127}, {"interpolation", "INTERPOLATION_NEAREST"}})}, [](M s) {
        return Apply(s, [](M a, cv::Mat& b) { cv::resize(a, b, {333, 127}, 0, 0, cv::INTER_NEAREST); });
      });
  add("crop", {Op("crop", {{"x", 10}, {"y", 20}, {"width", 300}, {"height", 200}})},
      [](M s) { return s(cv::Rect(10, 20, 300, 200)).clone(); });
  add("pad_constant",
      {Op("pad", {{"top", 5},
                  {"bottom", 6},
                  {"left", 7},
                  {"right", 8},
                  {"border", "BORDER_MODE_CONSTANT"},
                  {"value", {255, 0, 0}}})},
      [](M s) {
        return Apply(s, [](M a, cv::Mat& b) {
          cv::copyMakeBorder(a, b, 5, 6, 7, 8, cv::BORDER_CONSTANT, {255, 0, 0});
        });
      });
  add("pad_reflect", {Op("pad", {{"top", 9}, {"left", 3}, {"border", "BORDER_MODE_REFLECT"}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::copyMakeBorder(a, b, 9, 0, 3, 0, cv::BORDER_REFLECT); }); });
  for (auto [axis, code] : {std::pair{"AXIS_HORIZONTAL", 1}, {"AXIS_VERTICAL", 0}, {"AXIS_BOTH", -1}}) {
    add(std::string("flip_") + axis, {Op("flip", {{"axis", axis}})},
        [code = code](M s) { return Apply(s, [&](M a, cv::Mat& b) { cv::flip(a, b, code); }); });
  }
  for (auto [angle, code] :
       {std::pair{90, cv::ROTATE_90_COUNTERCLOCKWISE}, {180, cv::ROTATE_180}, {-90, cv::ROTATE_90_CLOCKWISE}}) {
    add("rotate_" + std::string(angle < 0 ? "minus_" : "") + std::to_string(std::abs(angle)),
        {Op("rotate", {{"angle", angle}})},
        [code = code](M s) { return Apply(s, [&](M a, cv::Mat& b) { cv::rotate(a, b, code); }); });
  }
  add("rotate_30_linear", {Op("rotate", {{"angle", 30}})}, [](M s) {
    const cv::Mat m = cv::getRotationMatrix2D({(s.cols - 1) / 2.0f, (s.rows - 1) / 2.0f}, 30, 1.0);
    return Apply(s,
                 [&](M a, cv::Mat& b) { cv::warpAffine(a, b, m, a.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101); });
  });
  struct Conv {
    const char* name;
    int code;
    pb::DecodeMode mode;
  };
  for (const Conv& c : {Conv{"CONVERSION_BGR2GRAY", cv::COLOR_BGR2GRAY, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_RGB2GRAY", cv::COLOR_RGB2GRAY, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_GRAY2BGR", cv::COLOR_GRAY2BGR, gray},
                        {"CONVERSION_BGR2RGB", cv::COLOR_BGR2RGB, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_BGR2HSV", cv::COLOR_BGR2HSV, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_HSV2BGR", cv::COLOR_HSV2BGR, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_BGR2LAB", cv::COLOR_BGR2Lab, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_LAB2BGR", cv::COLOR_Lab2BGR, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_BGR2YCRCB", cv::COLOR_BGR2YCrCb, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_YCRCB2BGR", cv::COLOR_YCrCb2BGR, pb::DECODE_MODE_COLOR},
                        {"CONVERSION_BGR2BGRA", cv::COLOR_BGR2BGRA, pb::DECODE_MODE_COLOR}}) {
    add(
        std::string("cvt_color_") + c.name, {Op("cvt_color", {{"conversion", c.name}})},
        [code = c.code](M s) { return Apply(s, [&](M a, cv::Mat& b) { cv::cvtColor(a, b, code); }); }, c.mode);
  }
  add("cvt_color_BGRA2BGR",
      {Op("cvt_color", {{"conversion", "CONVERSION_BGR2BGRA"}}),
       Op("cvt_color", {{"conversion", "CONVERSION_BGRA2BGR"}})},
      [](M s) { return s.clone(); });
  add("gaussian_blur_5x5", {Op("gaussian_blur", {{"kernel_width", 5}, {"sigma_x", 1.5}})}, [](M s) {
    return Apply(s, [](M a, cv::Mat& b) { cv::GaussianBlur(a, b, {5, 5}, 1.5, 1.5); });
  });
  add("gaussian_blur_sigma_only_replicate",
      {Op("gaussian_blur", {{"sigma_x", 2}, {"sigma_y", 3}, {"border", "BORDER_MODE_REPLICATE"}})}, [](M s) {
        return Apply(s, [](M a, cv::Mat& b) { cv::GaussianBlur(a, b, {0, 0}, 2, 3, cv::BORDER_REPLICATE); });
      });
  add("box_filter_7x5", {Op("box_filter", {{"kernel_width", 7}, {"kernel_height", 5}})}, [](M s) {
    return Apply(s, [](M a, cv::Mat& b) { cv::boxFilter(a, b, -1, {7, 5}); });
  });
  add("box_filter_unnormalized", {Op("box_filter", {{"kernel_width", 3}, {"unnormalized", true}})}, [](M s) {
    return Apply(s, [](M a, cv::Mat& b) { cv::boxFilter(a, b, -1, {3, 3}, {-1, -1}, false); });
  });
  add("median_blur_5", {Op("median_blur", {{"kernel_size", 5}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::medianBlur(a, b, 5); }); });
  add(
      "median_blur_9_gray", {Op("median_blur", {{"kernel_size", 9}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::medianBlur(a, b, 9); }); }, gray);
  add("bilateral_filter", {Op("bilateral_filter", {{"diameter", 9}, {"sigma_color", 75}, {"sigma_space", 75}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::bilateralFilter(a, b, 9, 75, 75); }); });
  add("sobel_dx", {Op("sobel", {{"dx", 1}})},
      [](M s) { return AbsU8(Apply(s, [](M a, cv::Mat& b) { cv::Sobel(a, b, CV_32F, 1, 0, 3); })); });
  add(
      "sobel_dy_k5_scaled", {Op("sobel", {{"dy", 1}, {"kernel_size", 5}, {"scale", 0.25}, {"delta", 3}})},
      [](M s) { return AbsU8(Apply(s, [](M a, cv::Mat& b) { cv::Sobel(a, b, CV_32F, 0, 1, 5, 0.25, 3); })); }, gray);
  add("laplacian_k1", {Op("laplacian")},
      [](M s) { return AbsU8(Apply(s, [](M a, cv::Mat& b) { cv::Laplacian(a, b, CV_32F, 1); })); });
  add(
      "laplacian_k3_gray", {Op("laplacian", {{"kernel_size", 3}, {"scale", 0.5}})},
      [](M s) { return AbsU8(Apply(s, [](M a, cv::Mat& b) { cv::Laplacian(a, b, CV_32F, 3, 0.5); })); }, gray);
  add(
      "canny", {Op("canny", {{"threshold1", 50}, {"threshold2", 150}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::Canny(a, b, 50, 150); }); }, gray);
  add(
      "canny_l2_aperture5",
      {Op("canny", {{"threshold1", 400}, {"threshold2", 1200}, {"aperture_size", 5}, {"l2_gradient", true}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::Canny(a, b, 400, 1200, 5, true); }); }, gray);
  add("canny_after_gray",
      {Op("cvt_color", {{"conversion", "CONVERSION_BGR2GRAY"}}),
       Op("canny", {{"threshold1", 50}, {"threshold2", 150}})},
      [](M s) {
        cv::Mat g, e;
        cv::cvtColor(s, g, cv::COLOR_BGR2GRAY);
        cv::Canny(g, e, 50, 150);
        return e;
      });
  add("threshold_binary", {Op("threshold", {{"threshold", 128}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::threshold(a, b, 128, 255, cv::THRESH_BINARY); }); });
  add("threshold_trunc", {Op("threshold", {{"threshold", 100}, {"type", "TYPE_TRUNC"}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::threshold(a, b, 100, 255, cv::THRESH_TRUNC); }); });
  add("threshold_tozero_inv", {Op("threshold", {{"threshold", 90}, {"type", "TYPE_TOZERO_INV"}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::threshold(a, b, 90, 255, cv::THRESH_TOZERO_INV); }); });
  add(
      "threshold_otsu_inv", {Op("threshold", {{"otsu", true}, {"type", "TYPE_BINARY_INV"}, {"max_value", 200}})},
      [](M s) {
        return Apply(s, [](M a, cv::Mat& b) { cv::threshold(a, b, 0, 200, cv::THRESH_BINARY_INV | cv::THRESH_OTSU); });
      },
      gray);
  struct Morph {
    const char* op;
    int code;
    const char* shape;
    int cv_shape;
  };
  for (const Morph& m : {Morph{"OP_ERODE", cv::MORPH_ERODE, "SHAPE_RECT", cv::MORPH_RECT},
                         {"OP_DILATE", cv::MORPH_DILATE, "SHAPE_ELLIPSE", cv::MORPH_ELLIPSE},
                         {"OP_OPEN", cv::MORPH_OPEN, "SHAPE_CROSS", cv::MORPH_CROSS},
                         {"OP_CLOSE", cv::MORPH_CLOSE, "SHAPE_RECT", cv::MORPH_RECT},
                         {"OP_GRADIENT", cv::MORPH_GRADIENT, "SHAPE_RECT", cv::MORPH_RECT},
                         {"OP_TOPHAT", cv::MORPH_TOPHAT, "SHAPE_ELLIPSE", cv::MORPH_ELLIPSE},
                         {"OP_BLACKHAT", cv::MORPH_BLACKHAT, "SHAPE_RECT", cv::MORPH_RECT}}) {
    add(std::string("morphology_") + m.op,
        {Op("morphology", {{"op", m.op}, {"shape", m.shape}, {"kernel_width", 5}, {"iterations", 2}})}, [m](M s) {
          cv::Mat k = cv::getStructuringElement(m.cv_shape, {5, 5});
          return Apply(s, [&](M a, cv::Mat& b) { cv::morphologyEx(a, b, m.code, k, {-1, -1}, 2); });
        });
  }
  add(
      "equalize_hist_gray", {Op("equalize_hist")},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) { cv::equalizeHist(a, b); }); }, gray);
  add("equalize_hist_color_luma", {Op("equalize_hist")},
      [](M s) { return EqualizeLuma(s, [](M a, cv::Mat& b) { cv::equalizeHist(a, b); }); });
  add(
      "clahe_gray", {Op("clahe", {{"clip_limit", 3}, {"tiles_x", 4}})},
      [](M s) { return Apply(s, [](M a, cv::Mat& b) {
                  cv::createCLAHE(3, {4, 4})->apply(a, b);
                }); }, gray);
  add("clahe_color_luma", {Op("clahe")}, [](M s) {
    return EqualizeLuma(s, [](M a, cv::Mat& b) { cv::createCLAHE(2, {8, 8})->apply(a, b); });
  });
  add("gamma", {Op("gamma", {{"gamma", 0.5}})}, [](M s) {
    cv::Mat f, out;
    s.convertTo(f, CV_64F, 1 / 255.0);
    cv::pow(f, 0.5, f);
    f.convertTo(out, CV_8U, 255.0);
    return out;
  });
  add("brightness_contrast", {Op("brightness_contrast", {{"alpha", 1.3}, {"beta", -20}})}, [](M s) {
    cv::Mat out;
    s.convertTo(out, -1, 1.3, -20);
    return out;
  });
  add("warp_affine",
      {Op("warp_affine", {{"matrix", {0.9, 0.2, 10, -0.1, 1.1, -5}},
                          {"width", 400},
                          {"height", 300},
                          {"border", "BORDER_MODE_CONSTANT"},
                          {"border_value", {0, 255, 0}}})},
      [](M s) {
        const cv::Mat m = (cv::Mat_<double>(2, 3) << 0.9, 0.2, 10, -0.1, 1.1, -5);
        return Apply(s, [&](M a, cv::Mat& b) {
          cv::warpAffine(a, b, m, {400, 300}, cv::INTER_LINEAR, cv::BORDER_CONSTANT, {0, 255, 0});
        });
      });
  add("warp_affine_inverse_nearest",
      {Op("warp_affine",
          {{"matrix", {2, 0, 0, 0, 2, 0}}, {"inverse_map", true}, {"interpolation", "INTERPOLATION_NEAREST"}})},
      [](M s) {
        const cv::Mat m = (cv::Mat_<double>(2, 3) << 2, 0, 0, 0, 2, 0);
        return Apply(s, [&](M a, cv::Mat& b) {
          cv::warpAffine(a, b, m, a.size(), cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
        });
      });
  add("warp_perspective",
      {Op("warp_perspective", {{"matrix", {1, 0.1, 5, 0.05, 1, 0, 0.0001, 0.0002, 1}},
                               {"interpolation", "INTERPOLATION_CUBIC"},
                               {"border", "BORDER_MODE_REPLICATE"}})},
      [](M s) {
        const cv::Mat m = (cv::Mat_<double>(3, 3) << 1, 0.1, 5, 0.05, 1, 0, 0.0001, 0.0002, 1);
        return Apply(
            s, [&](M a, cv::Mat& b) { cv::warpPerspective(a, b, m, a.size(), cv::INTER_CUBIC, cv::BORDER_REPLICATE); });
      });
  // ImageNet preprocessing written out pixel by pixel in double precision.
  add(
      "normalize_imagenet_rgb",
      {Op("cvt_color", {{"conversion", "CONVERSION_BGR2RGB"}}),
       Op("normalize", {{"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}}})},
      [](M s) {
        const double mean[3] = {0.485, 0.456, 0.406}, stddev[3] = {0.229, 0.224, 0.225};
        cv::Mat out(s.size(), CV_32FC3);
        for (int y = 0; y < s.rows; ++y) {
          for (int x = 0; x < s.cols; ++x) {
            const cv::Vec3b bgr = s.at<cv::Vec3b>(y, x);
            for (int c = 0; c < 3; ++c)
              out.at<cv::Vec3f>(y, x)[c] = static_cast<float>((bgr[2 - c] / 255.0 - mean[c]) / stddev[c]);
          }
        }
        return out;
      },
      pb::DECODE_MODE_COLOR, 1e-5);
  return cases;
}

pb::ProcessRequest RawRequest(const std::string& image, const OpCase& c, pb::Dtype dtype) {
  pb::ProcessRequest request;
  request.set_image(image);
  request.set_decode_mode(c.decode);
  for (const OpSpec& op : c.chain) *request.add_operations() = ToProto(op);
  request.mutable_output()->mutable_raw()->set_dtype(dtype);
  request.set_request_id(c.name);
  // The references decode at full size: these cases check the operations, shrink_on_load_test the shrunk decode.
  request.set_disable_shrink_on_load(true);
  return request;
}

}  // namespace imgproc::testing
