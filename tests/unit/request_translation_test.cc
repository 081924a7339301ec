// The gRPC frontend's translation of a ProcessRequest into the engine's ImageRequest (transport/
// request_translation.h): the proto and the operation registry held to each other, presence and enumerations as
// OpArgs carries them, the defaults of an empty request, undeclared enumeration values and operations from a newer
// proto refused naming the field, and the engine's errors reaching the client with the proto's field paths.
#include "transport/request_translation.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <vector>

#include "imgproc_testing/test_support.h"
#include "ops/operation.h"
#include "pipeline/plan.h"

namespace imgproc::testing {
namespace {

pb::ProcessRequest ProtoRequest(const std::string& image, const std::string& text) {
  pb::ProcessRequest request;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request)) << text;
  request.set_image(image);
  return request;
}

// What an empty ProcessRequest asks for is what an ImageRequest holds by default: the engine's tests, which fill
// ImageRequests, ask what the same test through the proto asked.
TEST(RequestTranslationTest, AnEmptyRequestTranslatesToTheImageRequestsDefaults) {
  const std::string image = EncodeAs(GeneratedImage(20, 20), ".png");
  pb::ProcessRequest proto;
  proto.set_image(image);
  absl::StatusOr<ImageRequest> request = TranslateRequest(proto, ImageLimits{});
  ASSERT_TRUE(request.ok()) << request.status();
  const ImageRequest defaults;
  EXPECT_EQ(request->image, image);
  EXPECT_EQ(request->decode_mode, defaults.decode_mode);
  EXPECT_EQ(request->decode_depth, defaults.decode_depth);
  EXPECT_TRUE(request->operations.empty());
  EXPECT_EQ(request->output.format, defaults.output.format);
  EXPECT_EQ(request->output.format_named, defaults.output.format_named);
  EXPECT_EQ(request->output.quality, defaults.output.quality);
  EXPECT_EQ(request->output.chroma, defaults.output.chroma);
  EXPECT_EQ(request->output.progressive, defaults.output.progressive);
  EXPECT_EQ(request->output.optimize, defaults.output.optimize);
  EXPECT_EQ(request->output.metadata.keep_icc_profile, defaults.output.metadata.keep_icc_profile);
  EXPECT_EQ(request->output.metadata.exif, defaults.output.metadata.exif);
  EXPECT_EQ(request->output.metadata.keep_xmp, defaults.output.metadata.keep_xmp);
  EXPECT_EQ(request->ignore_exif_orientation, defaults.ignore_exif_orientation);
  EXPECT_EQ(request->disable_shrink_on_load, defaults.disable_shrink_on_load);
  EXPECT_EQ(request->strict_decode, defaults.strict_decode);
  EXPECT_EQ(request->color_policy, defaults.color_policy);

  // A named raw answer: the format named, uint8 HWC unless the message says otherwise.
  proto.mutable_output()->mutable_raw();
  request = TranslateRequest(proto, ImageLimits{});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->output.format, OutputFormat::kRaw);
  EXPECT_TRUE(request->output.format_named);
  EXPECT_EQ(request->output.raw_depth, Depth::kU8);
  EXPECT_EQ(request->output.raw_layout, Layout::kHwc);
}

// The translation counts the steps before it reads any of them.
TEST(RequestTranslationTest, MoreStepsThanTheLimitAreRefusedBeforeAnyIsRead) {
  ImageLimits limits;
  limits.max_operations = 2;
  pb::ProcessRequest request = ProtoRequest(EncodeAs(GeneratedImage(20, 20), ".png"),
                                            "operations { flip {} } operations { flip {} } operations { flip {} }");
  request.mutable_operations(2)->mutable_flip()->set_axis(static_cast<pb::Flip::Axis>(7));  // never looked at
  absl::StatusOr<ImageRequest> translated = TranslateRequest(request, limits);
  ASSERT_FALSE(translated.ok());
  EXPECT_EQ(translated.status().message(), "operations: 3 steps, over the limit of 2");
}

// The engine's chain errors (validation_test.cc's ChainValidationTest) through the gRPC frontend: the same messages,
// field paths and all, for requests in the proto's text format.
TEST(RequestTranslationTest, ChainErrorsNameTheProtosFieldPaths) {
  const std::string jpeg = EncodeAs(GeneratedImage(200, 100), ".jpg");
  const std::vector<std::pair<std::string, std::string>> cases = {

      {"operations {}", "operations[0]: no operation set"},
      {"operations { flip {} } operations { gaussian_blur { kernel_width: 4 } }",
       "operations[1].gaussian_blur.kernel_width: must be odd"},
      {"operations { canny { threshold1: 1 threshold2: 2 } }",
       "operations[0].canny: needs 1 channel(s) (input is 200x100x3 uint8)"},
      {"operations { cvt_color { conversion: CONVERSION_BGR2GRAY } } operations { cvt_color { conversion: "
       "CONVERSION_BGR2HSV } }",
       "operations[1].cvt_color: CONVERSION_BGR2HSV needs 3 channel(s)"},
      {"operations { normalize {} } operations { canny {} }", "operations[1].canny: takes uint8 pixels"},
      {"operations { resize { width: 50 height: 50 } } operations { crop { x: 10 y: 10 width: 60 height: 5 } }",
       "operations[1].crop.width: must be in [1, 40]"},
      {"operations { resize { width: 100000 height: 100000 } }",
       "operations[0].resize: output would be 100000x100000, over the server's limits"},
      {"operations { resize { width: 10 scale: 2 } }", "operations[0].resize.scale: set either scale or width/height"},
      {"operations { warp_affine { matrix: [1, 2, 0, 2, 4, 0] } }", "operations[0].warp_affine.matrix: is singular"},
      {"operations { warp_perspective { matrix: [1, 0, 0] } }",
       "operations[0].warp_perspective.matrix: needs 9 values"},
      {"operations { normalize { std: [0] } }", "operations[0].normalize.std: values must not be 0"},
      {"operations { normalize { mean: [1, 2] } }", "operations[0].normalize.mean: needs 1 or 3 values"},
      {"operations { pad { top: 1 value: [1, 2] } }", "operations[0].pad.value: needs 1 or 3 values"},
      {"operations { normalize {} } operations { median_blur { kernel_size: 7 } }",
       "operations[1].median_blur.kernel_size: over 5 needs uint8"},
      {"operations { threshold { otsu: true } }", "operations[0].threshold.otsu: needs a 1-channel uint8"},
      {"operations { morphology { iterations: 0 } }", "operations[0].morphology.iterations: must be in [1, 100]"},
      {"operations { box_filter { kernel_width: 3 border: BORDER_MODE_WRAP } }",
       "operations[0].box_filter.border: BORDER_MODE_WRAP is not supported"},
      {"operations { cvt_color {} }", "operations[0].cvt_color.conversion: is required"},
      {"operations { normalize {} }", "output (default JPEG): needs uint8 or uint16 pixels"},
      {"output { jpeg { quality: 0 } }", "output.jpeg.quality: must be in [1, 100]"},
      {"output { png { compression_level: 10 } }", "output.png.compression_level: must be in [0, 9]"},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<Plan> plan = BuildPlan(ProtoRequest(jpeg, text), ImageLimits{});
    ASSERT_FALSE(plan.ok()) << text;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(plan.status().message().find(message), std::string::npos) << text << ": " << plan.status().message();
  }
}

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
  pb::ProcessRequest request = ProtoRequest(EncodeAs(GeneratedImage(20, 20), ".png"), "operations { flip {} }");
  pb::Operation* newer = request.add_operations();
  newer->GetReflection()->MutableUnknownFields(newer)->AddLengthDelimited(99, "");
  absl::StatusOr<Plan> plan = BuildPlan(request, ImageLimits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(),
            "operations[1]: unknown operation (Operation field 99): this server's API does not have it; "
            "GetServerInfo lists the operations it has");
}

}  // namespace
}  // namespace imgproc::testing
