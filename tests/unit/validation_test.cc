// Chain validation and header checks: every error names where it is, and nothing is decoded first.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <vector>

#include "codec/codec.h"
#include "codec/image_header.h"
#include "imgproc_testing/test_support.h"
#include "ops/operation.h"
#include "pipeline/plan.h"
#include "transport/request_translation.h"
#if IMGPROC_WITH_CUDA
#include "backend/cuda/cuda_kernel.h"
#include "core/kernel_catalog.h"
#endif

namespace imgproc::testing {
namespace {

pb::ProcessRequest Request(const std::string& image, const std::string& text) {
  pb::ProcessRequest request;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request)) << text;
  request.set_image(image);
  return request;
}

struct ErrorCase {
  std::string name;
  std::string request;  // text format, image added
  std::string message;  // expected substring
};

class ChainValidationTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ChainValidationTest, NamesStepAndField) {
  const std::string jpeg = EncodeAs(GeneratedImage(200, 100), ".jpg");
  absl::StatusOr<Plan> plan = BuildPlan(Request(jpeg, GetParam().request), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find(GetParam().message), std::string::npos) << plan.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ChainValidationTest,
    ::testing::Values(
        ErrorCase{"no_operation", "operations {}", "operations[0]: no operation set"},
        ErrorCase{"even_kernel", "operations { flip {} } operations { gaussian_blur { kernel_width: 4 } }",
                  "operations[1].gaussian_blur.kernel_width: must be odd"},
        ErrorCase{"canny_needs_gray", "operations { canny { threshold1: 1 threshold2: 2 } }",
                  "operations[0].canny: needs 1 channel(s) (input is 200x100x3 uint8)"},
        ErrorCase{"channels_tracked",
                  "operations { cvt_color { conversion: CONVERSION_BGR2GRAY } } operations { cvt_color { conversion: "
                  "CONVERSION_BGR2HSV } }",
                  "operations[1].cvt_color: CONVERSION_BGR2HSV needs 3 channel(s)"},
        ErrorCase{"depth_tracked", "operations { normalize {} } operations { canny {} }",
                  "operations[1].canny: takes uint8 pixels"},
        ErrorCase{
            "size_tracked",
            "operations { resize { width: 50 height: 50 } } operations { crop { x: 10 y: 10 width: 60 height: 5 } }",
            "operations[1].crop.width: must be in [1, 40]"},
        ErrorCase{"resize_over_limits", "operations { resize { width: 100000 height: 100000 } }",
                  "operations[0].resize: output would be 100000x100000, over the server's limits"},
        ErrorCase{"scale_and_size", "operations { resize { width: 10 scale: 2 } }",
                  "operations[0].resize.scale: set either scale or width/height"},
        ErrorCase{"singular_warp", "operations { warp_affine { matrix: [1, 2, 0, 2, 4, 0] } }",
                  "operations[0].warp_affine.matrix: is singular"},
        ErrorCase{"warp_matrix_size", "operations { warp_perspective { matrix: [1, 0, 0] } }",
                  "operations[0].warp_perspective.matrix: needs 9 values"},
        ErrorCase{"std_zero", "operations { normalize { std: [0] } }",
                  "operations[0].normalize.std: values must not be 0"},
        ErrorCase{"mean_count", "operations { normalize { mean: [1, 2] } }",
                  "operations[0].normalize.mean: needs 1 or 3 values"},
        ErrorCase{"pad_value_count", "operations { pad { top: 1 value: [1, 2] } }",
                  "operations[0].pad.value: needs 1 or 3 values"},
        ErrorCase{"median_float", "operations { normalize {} } operations { median_blur { kernel_size: 7 } }",
                  "operations[1].median_blur.kernel_size: over 5 needs uint8"},
        ErrorCase{"otsu_color", "operations { threshold { otsu: true } }",
                  "operations[0].threshold.otsu: needs a 1-channel uint8"},
        ErrorCase{"morph_iterations", "operations { morphology { iterations: 0 } }",
                  "operations[0].morphology.iterations: must be in [1, 100]"},
        ErrorCase{"filter_wrap", "operations { box_filter { kernel_width: 3 border: BORDER_MODE_WRAP } }",
                  "operations[0].box_filter.border: BORDER_MODE_WRAP is not supported"},
        ErrorCase{"cvt_unspecified", "operations { cvt_color {} }", "operations[0].cvt_color.conversion: is required"},
        ErrorCase{"jpeg_of_float", "operations { normalize {} }",
                  "output (default JPEG): needs uint8 or uint16 pixels"},
        ErrorCase{"jpeg_quality", "output { jpeg { quality: 0 } }", "output.jpeg.quality: must be in [1, 100]"},
        ErrorCase{"png_level", "output { png { compression_level: 10 } }",
                  "output.png.compression_level: must be in [0, 9]"}),
    [](const auto& info) { return info.param.name; });

TEST(ChainValidationTest, EveryEnumFieldRefusesUndeclaredValues) {
  // proto3 keeps any number a client sends in an enum field; each must be refused, naming the field.
  const std::string jpeg = EncodeAs(GeneratedImage(200, 100), ".jpg");
  struct Case {
    std::function<void(pb::ProcessRequest&)> set;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](pb::ProcessRequest& r) {
         auto* resize = r.add_operations()->mutable_resize();
         resize->set_width(10);
         resize->set_height(10);
         resize->set_interpolation(static_cast<pb::Interpolation>(99));
       },
       "operations[0].resize.interpolation: 99 is not a value of Interpolation (one of INTERPOLATION_UNSPECIFIED, "
       "INTERPOLATION_LINEAR"},
      {[](pb::ProcessRequest& r) {
         r.add_operations()->mutable_flip();
         r.add_operations()->mutable_gaussian_blur()->set_border(static_cast<pb::BorderMode>(-1));
       },
       "operations[1].gaussian_blur.border: -1 is not a value of BorderMode"},
      {[](pb::ProcessRequest& r) {
         auto* warp = r.add_operations()->mutable_warp_affine();
         for (double v : {1.0, 0.0, 0.0, 0.0, 1.0, 0.0}) warp->add_matrix(v);
         warp->set_border(static_cast<pb::BorderMode>(99));
       },
       "operations[0].warp_affine.border: 99 is not a value of BorderMode"},
      {[](pb::ProcessRequest& r) { r.add_operations()->mutable_flip()->set_axis(static_cast<pb::Flip::Axis>(7)); },
       "operations[0].flip.axis: 7 is not a value of Axis"},
      {[](pb::ProcessRequest& r) { r.set_decode_mode(static_cast<pb::DecodeMode>(42)); },
       "decode_mode: 42 is not a value of DecodeMode"},
      {[](pb::ProcessRequest& r) { r.mutable_output()->mutable_raw()->set_dtype(static_cast<pb::Dtype>(9)); },
       "output.raw.dtype: 9 is not a value of Dtype"},
  };
  for (const Case& c : cases) {
    pb::ProcessRequest request;
    request.set_image(jpeg);
    c.set(request);
    absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
    ASSERT_FALSE(plan.ok()) << c.message;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(c.message), std::string::npos) << plan.status().message();
  }
}

// Two definitions for one operation end the program at start-up instead of one silently shadowing the other.
TEST(OperationRegistryDeathTest, ASecondDefinitionOfAnOperationEndsTheProgram) {
  const OpDefinition* flip = OpRegistry::Find("flip");
  ASSERT_NE(flip, nullptr);
  EXPECT_DEATH(OpRegistry::Register(*flip), "operation 'flip' is registered twice");
}

// The proto is the schema of the gRPC frontend, the registry that of the engine: every Operation field names a
// definition, every definition a field, and each operation's parameters are its message's fields with their types,
// which are the only types request_translation.cc carries into OpArgs.
TEST(OperationSchemaTest, EveryOperationFieldHasADefinitionWhoseParametersAreItsMessageFields) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::OneofDescriptor* ops = pb::Operation::descriptor()->FindOneofByName("op");
  ASSERT_NE(ops, nullptr);
  std::set<std::string> proto_names;
  for (int i = 0; i < ops->field_count(); ++i) {
    const FieldDescriptor* op = ops->field(i);
    SCOPED_TRACE(op->name());
    proto_names.insert(op->name());
    const OpDefinition* def = OpRegistry::Find(op->name());
    ASSERT_NE(def, nullptr) << "no definition for Operation." << op->name();
    const google::protobuf::Descriptor* message = op->message_type();
    ASSERT_EQ(def->params.size(), static_cast<size_t>(message->field_count()));
    for (int f = 0; f < message->field_count(); ++f) {
      const FieldDescriptor* field = message->field(f);
      const ParamInfo& param = def->params[f];
      EXPECT_EQ(param.name, field->name());
      std::string type;
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: type = "int32"; break;
        case FieldDescriptor::CPPTYPE_DOUBLE: type = "double"; break;
        case FieldDescriptor::CPPTYPE_BOOL: type = "bool"; break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          std::string name = field->enum_type()->full_name();
          type = "enum " + name.substr(std::string("imgproc.v1.").size());
          break;
        }
        default: type = "unsupported type " + std::string(field->cpp_type_name()); break;
      }
      if (field->is_repeated()) type = "repeated " + type;
      EXPECT_EQ(param.type, type) << field->name();
      if (field->is_repeated()) EXPECT_EQ(type, "repeated double") << "OpArgs carries lists of reals only";
    }
  }
  for (const OpDefinition* def : OpRegistry::All()) {
    EXPECT_EQ(proto_names.count(def->name), 1u) << def->name << " has no Operation field";
  }
}

// What the frontend translates is what the operation reads: unset optional fields are absent, plain fields present
// at their zero value, enumerations by name but *_UNSPECIFIED (zero), which is absent: the operation's default.
TEST(OperationSchemaTest, TranslationKeepsPresenceAndNamesEnumerationValues) {
  pb::Operation op;
  op.mutable_morphology()->set_op(pb::Morphology::OP_CLOSE);
  op.mutable_morphology()->set_iterations(4);
  const OpCall call = TranslateOperation(op);
  EXPECT_EQ(call.name, "morphology");
  EXPECT_EQ(call.args.Enum("op"), "OP_CLOSE");
  EXPECT_FALSE(call.args.Has("shape"));
  EXPECT_EQ(call.args.Enum("shape"), "");
  EXPECT_EQ(call.args.Int("iterations"), 4);
  EXPECT_FALSE(call.args.Has("kernel_width"));
  EXPECT_EQ(call.args.Int("kernel_width", 3), 3);

  pb::Operation pad;
  pad.mutable_pad()->add_value(7);
  pad.mutable_pad()->add_value(8);
  const OpCall pad_call = TranslateOperation(pad);
  EXPECT_TRUE(pad_call.args.Has("top"));  // a plain proto3 field: present at 0
  EXPECT_EQ(pad_call.args.Int("top", 99), 0);
  ASSERT_EQ(pad_call.args.Doubles("value").size(), 2u);
  EXPECT_EQ(pad_call.args.Doubles("value")[1], 8);

  EXPECT_TRUE(TranslateOperation(pb::Operation()).name.empty());
}

// An operation from a newer proto arrives as an unknown field: the answer says so rather than "no operation set".
TEST(OperationSchemaTest, AnOperationFromANewerProtoIsNamedByItsFieldNumber) {
  pb::ProcessRequest request = Request(EncodeAs(GeneratedImage(20, 20), ".png"), "operations { flip {} }");
  pb::Operation* newer = request.add_operations();
  newer->GetReflection()->MutableUnknownFields(newer)->AddLengthDelimited(99, "");
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(),
            "operations[1]: unknown operation (Operation field 99): this server's API does not have it; "
            "GetServerInfo lists the operations it has");
}

#if IMGPROC_WITH_CUDA
// The CUDA backend's kernels are found by operation name and decide per binding; no GPU is needed to check either.
TEST(CudaKernelRegistryTest, EveryKernelNamesAnOperationAndAcceptsTheBindingsItComputes) {
  EXPECT_TRUE(CudaKernelRegistry::CheckEveryKernelHasAnOperation().ok())
      << CudaKernelRegistry::CheckEveryKernelHasAnOperation();
  for (const char* op : {"resize", "gaussian_blur", "gamma", "morphology", "normalize", "rotate"}) {
    EXPECT_NE(CudaKernelRegistry::Find(op), nullptr) << op;
    std::vector<BackendKernelInfo> listed = BackendKernelsFor(op);
    ASSERT_EQ(listed.size(), 1u) << op;
    EXPECT_EQ(listed[0].backend, "cuda");
  }
  // cv::cuda::LookUpTable takes 1 or 3 channels: a 4-channel gamma runs on the CPU.
  for (const auto& [channels, on_gpu] : {std::pair{3, true}, std::pair{4, false}}) {
    absl::StatusOr<Plan> plan =
        BuildPlan(Request(EncodeAs(GeneratedImage(64, 48, channels), ".png"),
                          "decode_mode: DECODE_MODE_UNCHANGED operations { gamma { gamma: 0.5 } }"),
                  ImageLimits{});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(CudaKernelRegistry::Find("gamma")->accepts(plan->steps[0]), on_gpu) << channels << " channels";
  }
  // Kernels over 32 taps are beyond OpenCV's separable CUDA filters.
  absl::StatusOr<Plan> wide =
      BuildPlan(Request(EncodeAs(GeneratedImage(64, 48), ".png"), "operations { gaussian_blur { kernel_width: 33 } }"),
                ImageLimits{});
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_FALSE(CudaKernelRegistry::Find("gaussian_blur")->accepts(wide->steps[0]));
}
#endif

TEST(ChainValidationTest, TooManySteps) {
  ImageLimits limits;
  limits.max_operations = 2;
  absl::StatusOr<Plan> plan = BuildPlan(Request(EncodeAs(GeneratedImage(20, 20), ".png"),
                                                "operations { flip {} } operations { flip {} } operations { flip {} }"),
                                        limits);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("3 steps, over the limit of 2"), std::string::npos);
}

TEST(ChainValidationTest, ValidChainTracksTheResult) {
  absl::StatusOr<Plan> plan = BuildPlan(
      Request(EncodeAs(GeneratedImage(640, 480), ".jpg"),
              "operations { resize { width: 224 height: 224 interpolation: INTERPOLATION_AREA } } "
              "operations { cvt_color { conversion: CONVERSION_BGR2RGB } } operations { normalize {} } output { raw { "
              "dtype: DTYPE_FLOAT32 } }"),
      ImageLimits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->result, (ImageSpec{224, 224, 3, Depth::kF32}));
  EXPECT_EQ(plan->steps.size(), 3u);
}

// The work budget: a request's steps are estimated from the plan (pixel-channel taps) and refused before any
// work when over it, since work queued on a CUDA stream cannot be cancelled.
TEST(CostBudgetTest, ARequestOverTheWorkBudgetIsRefusedNamingTheStepAndItsEstimate) {
  // The case: an elliptic 255x255 morphology, 100 iterations, on a 1080p image (2.5 s per iteration on
  // one CPU worker, so over four minutes).
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(EncodeAs(GeneratedImage(1920, 1080), ".jpg"),
                        "operations { flip {} } "
                        "operations { morphology { shape: SHAPE_ELLIPSE kernel_width: 255 iterations: 100 } }"),
                ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string message(plan.status().message());
  EXPECT_NE(message.find("operations[1].morphology: estimated work 4.04508e+13"), std::string::npos) << message;
  EXPECT_NE(message.find("1920x1080x3 uint8 in, 100 pass(es)"), std::string::npos) << message;
  EXPECT_NE(message.find("--max_request_work"), std::string::npos) << message;

  // A repeated rectangle counts as OpenCV's CUDA filter runs it: one rectangle as wide as all iterations together.
  plan = BuildPlan(Request(EncodeAs(GeneratedImage(3840, 2160), ".jpg"),
                           "operations { morphology { op: OP_GRADIENT kernel_width: 101 iterations: 50 } }"),
                   ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted) << plan.status();

  // The budget is the server's to set.
  ImageLimits generous;
  generous.max_request_work = 1e14;
  EXPECT_TRUE(BuildPlan(Request(EncodeAs(GeneratedImage(1920, 1080), ".jpg"),
                                "operations { morphology { shape: SHAPE_ELLIPSE kernel_width: 255 iterations: 100 } }"),
                        generous)
                  .ok());
}

TEST(CostBudgetTest, BenchWorkloadsAndRealisticChainsFitTheDefaultBudget) {
  const std::string uhd = EncodeAs(GeneratedImage(3840, 2160), ".jpg");
  const std::string photo = EncodeAs(GeneratedImage(4000, 3000), ".jpg");  // a 12 MP phone photo
  const std::vector<std::pair<std::string, std::string>> chains = {
      {uhd, "operations { bilateral_filter { diameter: 9 sigma_color: 75 sigma_space: 75 } }"},  // W2
      {photo, "operations { resize { scale: 0.5 } } operations { gaussian_blur { kernel_width: 5 sigma_x: 1.5 } }"},
      {photo,
       "operations { resize { width: 224 height: 224 interpolation: INTERPOLATION_AREA } } "
       "operations { cvt_color { conversion: CONVERSION_BGR2RGB } } operations { normalize {} } "
       "output { raw { dtype: DTYPE_FLOAT32 layout: LAYOUT_CHW } }"},
      {photo, "operations { bilateral_filter { diameter: 15 sigma_color: 40 sigma_space: 40 } }"},
      {photo, "operations { morphology { op: OP_OPEN shape: SHAPE_ELLIPSE kernel_width: 15 iterations: 3 } }"},
      {photo, "operations { gaussian_blur { kernel_width: 101 } } operations { median_blur { kernel_size: 31 } }"},
      {uhd,
       "operations { warp_perspective { matrix: [1, 0.1, 0, 0, 1, 0, 0, 0, 1] interpolation: INTERPOLATION_CUBIC } } "
       "operations { clahe {} } operations { canny { threshold1: 50 threshold2: 150 aperture_size: 7 } }"},
  };
  for (const auto& [image, chain] : chains) {
    std::string text = chain;
    if (chain.find("canny") != std::string::npos)
      text = "operations { cvt_color { conversion: CONVERSION_BGR2GRAY } } " + chain;
    absl::StatusOr<Plan> plan = BuildPlan(Request(image, text), ImageLimits{});
    EXPECT_TRUE(plan.ok()) << text << ": " << plan.status();
  }
}

TEST(AnswerSizeTest, AnAnswerOverTheLimitIsRefusedFromThePlanNamingTheStepThatGrowsIt) {
  // The case: a small PNG resized to the 100 MP limit with a float32 answer (1.2 GB).
  const std::string png = EncodeAs(GeneratedImage(64, 64), ".png");
  absl::StatusOr<Plan> plan =
      BuildPlan(Request(png,
                        "operations { flip {} } operations { resize { width: 10000 height: 10000 } } "
                        "operations { flip {} } output { raw { dtype: DTYPE_FLOAT32 } }"),
                ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string message(plan.status().message());
  EXPECT_NE(message.find("the answer would be up to 1.2e+09 bytes (10000x10000x3 uint8 as raw float32)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("operations[1].resize (64x64x3 uint8 to 10000x10000x3 uint8) makes it that large"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--max_output_bytes"), std::string::npos) << message;
  // As uint8 PNG the same image is a quarter of that: within the default limit.
  EXPECT_TRUE(
      BuildPlan(Request(png, "operations { resize { width: 8000 height: 8000 } } output { png {} }"), ImageLimits{})
          .ok());
}

TEST(ImageHeaderTest, ReadsEveryFormatWithoutDecoding) {
  const cv::Mat color = GeneratedImage(123, 45), rgba = GeneratedImage(31, 17, 4), gray = GeneratedImage(50, 60, 1);
  struct Case {
    std::string bytes;
    ImageFormat format;
    int w, h, c;
  };
  for (const Case& c : {Case{EncodeAs(color, ".jpg"), ImageFormat::kJpeg, 123, 45, 3},
                        Case{EncodeAs(gray, ".jpg"), ImageFormat::kJpeg, 50, 60, 1},
                        Case{EncodeAs(color, ".png"), ImageFormat::kPng, 123, 45, 3},
                        Case{EncodeAs(rgba, ".png"), ImageFormat::kPng, 31, 17, 4},
                        Case{EncodeAs(color, ".webp"), ImageFormat::kWebp, 123, 45, 3},
                        Case{EncodeAs(color, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}), ImageFormat::kWebp, 123, 45, 3},
                        Case{EncodeAs(color, ".tiff"), ImageFormat::kTiff, 123, 45, 3},
                        Case{EncodeAs(color, ".bmp"), ImageFormat::kBmp, 123, 45, 3}}) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(c.bytes);
    ASSERT_TRUE(header.ok()) << ImageFormatName(c.format) << ": " << header.status();
    EXPECT_EQ(header->format, c.format);
    EXPECT_EQ(header->width, c.w) << ImageFormatName(c.format);
    EXPECT_EQ(header->height, c.h) << ImageFormatName(c.format);
    EXPECT_EQ(header->channels, c.c) << ImageFormatName(c.format);
  }
}

// A 4x2 palette PNG with a tRNS chunk, written by hand (OpenCV cannot write palette PNGs): entry 0 opaque red,
// entry 1 half-transparent green, entry 2 fully transparent blue; rows alternate 0,1,2,0 and 2,1,0,1.
std::string PalettePngWithTransparency() {
  auto crc32 = [](const std::string& bytes) {
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char c : bytes) {
      crc ^= c;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
  };
  const std::string rows = std::string("\0\0\1\2\0", 5) + std::string("\0\2\1\0\1", 5);  // filter 0 + 4 indices
  uint32_t a = 1, b = 0;  // Adler-32 of the uncompressed rows
  for (unsigned char c : rows) a = (a + c) % 65521, b = (b + a) % 65521;
  const uint16_t len = static_cast<uint16_t>(rows.size());
  // zlib stream with one stored (uncompressed) deflate block.
  const std::string idat = std::string("\x78\x01\x01", 3) + static_cast<char>(len & 0xFF) +
                           static_cast<char>(len >> 8) + static_cast<char>(~len & 0xFF) +
                           static_cast<char>((~len >> 8) & 0xFF) + rows + be32((b << 16) | a);
  const std::string ihdr = be32(4) + be32(2) + std::string("\x08\x03\0\0\0", 5);  // 8-bit palette
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
         chunk("PLTE", std::string("\xFF\0\0\0\xFF\0\0\0\xFF", 9)) + chunk("tRNS", std::string("\xFF\x80\0", 3)) +
         chunk("IDAT", idat) + chunk("IEND", "");
}

TEST(ImageHeaderTest, PalettePngTransparencyIsKeptAsAlpha) {
  const std::string png = PalettePngWithTransparency();
  absl::StatusOr<ImageHeader> header = ReadImageHeader(png);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->channels, 4);
  const ImageSpec unchanged = DecodedSpec(*header, DecodeMode::kUnchanged);
  EXPECT_EQ(unchanged.channels, 4);
  absl::StatusOr<cv::Mat> decoded = Decode(png, *header, DecodeMode::kUnchanged, unchanged);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->type(), CV_8UC4);
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 0), cv::Vec4b(0, 0, 255, 255));  // red, opaque (BGRA)
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 1), cv::Vec4b(0, 255, 0, 128));  // green, half
  EXPECT_EQ(decoded->at<cv::Vec4b>(0, 2)[3], 0);                       // blue, transparent
  // In colour mode the same image is 3 channels, as before.
  EXPECT_EQ(DecodedSpec(*header, DecodeMode::kColor).channels, 3);
}

TEST(ImageHeaderTest, CmykJpegUnchangedIsConvertedToThreeChannels) {
  const std::string jpeg = ReadFile(TestDataPath("cmyk_64x48.jpg"));
  absl::StatusOr<ImageHeader> header = ReadImageHeader(jpeg);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->channels, 4);
  const ImageSpec unchanged = DecodedSpec(*header, DecodeMode::kUnchanged);
  EXPECT_EQ(unchanged.channels, 3);
  absl::StatusOr<cv::Mat> decoded = Decode(jpeg, *header, DecodeMode::kUnchanged, unchanged);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->type(), CV_8UC3);
  // The same pixels as libjpeg's colour conversion in OpenCV's colour mode.
  const cv::Mat want =
      cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data())), cv::IMREAD_COLOR);
  EXPECT_EQ(cv::norm(*decoded, want, cv::NORM_INF), 0);
}

TEST(ImageHeaderTest, ProgressiveJpegScanBombIsRefusedBeforeDecoding) {
  std::vector<unsigned char> encoded;
  cv::imencode(".jpg", GeneratedImage(320, 200), encoded, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const std::string progressive(encoded.begin(), encoded.end());
  absl::StatusOr<ImageHeader> header = ReadImageHeader(progressive);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_FALSE(header->jpeg_sequential);
  EXPECT_GE(header->jpeg_scans, 2);  // libjpeg's progression writes about 10
  EXPECT_LE(header->jpeg_scans, 20);
  EXPECT_TRUE(BuildPlan(Request(progressive, ""), ImageLimits{}).ok());

  // The last scan repeated 3,000 times before the end of the image: small, and hours of decoding at this rate.
  const size_t last_scan = progressive.rfind("\xFF\xDA");
  const size_t end = progressive.rfind("\xFF\xD9");
  ASSERT_NE(last_scan, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::string bomb = progressive.substr(0, end);
  const std::string scan = progressive.substr(last_scan, end - last_scan);
  for (int i = 0; i < 3000; ++i) bomb += scan;
  bomb += "\xFF\xD9";
  header = ReadImageHeader(bomb);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->jpeg_scans, 3000 + ReadImageHeader(progressive)->jpeg_scans);
  absl::StatusOr<Plan> plan = BuildPlan(Request(bomb, ""), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("scans, over the limit of 100"), std::string::npos) << plan.status().message();
}

TEST(ImageHeaderTest, RealPhotoHeader) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(ReadFile(PhotoPath("abstract/Elephants_3840x2160.jpg")));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->width, 3840);
  EXPECT_EQ(header->height, 2160);
}

TEST(ImageHeaderTest, RejectsGarbage) {
  for (const std::string& bytes : {std::string(), std::string("hello world"), std::string("\xFF\xD8\xFF\x00\x01", 5),
                                   std::string("\x89PNG\r\n\x1a\n", 8), std::string("RIFF\0\0\0\0WEBPVP8 ", 16)}) {
    absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
    EXPECT_FALSE(header.ok());
    EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ImageHeaderTest, HugeDimensionsAreRefusedBeforeDecoding) {
  // A valid PNG header claiming 100000 x 100000 pixels, and nothing else: decoding would need 30 GB.
  std::string png = EncodeAs(GeneratedImage(8, 8), ".png");
  const unsigned char big[4] = {0x00, 0x01, 0x86, 0xA0};
  png.replace(16, 4, reinterpret_cast<const char*>(big), 4);
  png.replace(20, 4, reinterpret_cast<const char*>(big), 4);
  absl::StatusOr<Plan> plan = BuildPlan(Request(png, ""), ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("100000x100000, over the limits"), std::string::npos) << plan.status();
}

}  // namespace
}  // namespace imgproc::testing
