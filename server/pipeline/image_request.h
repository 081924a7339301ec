#pragma once
// A request as the engine sees it, whichever frontend made it: the gRPC service translates its ProcessRequest into
// one (transport/request_translation.h); a library call or a batch tool would fill it directly.

#include <vector>

#include "absl/strings/string_view.h"
#include "codec/codec.h"
#include "ops/op_args.h"

namespace imgproc {

struct ImageRequest {
  absl::string_view image;  // the encoded input; not owned, and only read while the plan is built
  DecodeMode decode_mode = DecodeMode::kColor;
  Depth decode_depth = Depth::kU8;  // kU16: the 16-bit decode (16-bit images, issue 30)
  std::vector<OpCall> operations;
  OutputSpec output;
  bool ignore_exif_orientation = false;  // true: the stored pixel order, whatever EXIF says
  bool disable_shrink_on_load = false;   // true: always decode at full size
  bool strict_decode = false;            // true: a partial decode (see Plan::partial_decode) is refused
                                         // (and an unusable colour profile, under kConvertToSrgb and kKeep)
  ColorPolicy color_policy = ColorPolicy::kConvertToSrgb;
};

}  // namespace imgproc
