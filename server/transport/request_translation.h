#pragma once
// The edge between the wire and the engine: a ProcessRequest becomes an ImageRequest here, once, and nothing
// below transport/ sees a proto type.

#include "absl/status/statusor.h"
#include "common/limits.h"
#include "imgproc/v1/imgproc.pb.h"
#include "pipeline/image_request.h"
#include "pipeline/plan.h"

namespace imgproc {

// INVALID_ARGUMENT for more operations than limits.max_operations and for an enumeration value the proto does not
// declare (proto3 enums are open: the generated code keeps any number a client sends), naming the field.
// `request` must outlive the result, which points at its image bytes.
absl::StatusOr<ImageRequest> TranslateRequest(const imgproc::v1::ProcessRequest& request, const ImageLimits& limits);

// TranslateRequest, then BuildPlan: what the service does with every request.
absl::StatusOr<Plan> BuildPlan(const imgproc::v1::ProcessRequest& request, const ImageLimits& limits);

DecodeMode TranslateDecodeMode(imgproc::v1::DecodeMode mode);
OutputSpec TranslateOutputSpec(const imgproc::v1::OutputSpec& spec);
// An operation's arguments from its message's fields, by field name: set fields, and plain proto3 fields at their
// zero value but enums; an unset `optional` field and an enum at *_UNSPECIFIED are left out (the default).
OpCall TranslateOperation(const imgproc::v1::Operation& operation);

imgproc::v1::Layout ToProtoLayout(Layout layout);

// The engine names formats, backends, colour actions and pixel types in lower case ("jpeg", "cuda", "converted",
// "uint16"); the proto's enums name them PREFIX_NAME (IMAGE_FORMAT_JPEG, ...). Unknown names become 0, the enum's
// *_UNSPECIFIED.
imgproc::v1::ImageFormat ToProtoImageFormat(absl::string_view name);
imgproc::v1::Backend ToProtoBackend(absl::string_view name);
imgproc::v1::ColorAction ToProtoColorAction(absl::string_view name);
imgproc::v1::Dtype ToProtoDtype(absl::string_view name);

}  // namespace imgproc
