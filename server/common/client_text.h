#pragma once
// Text a client sent, as error messages may repeat it: escaped (no control bytes in a status message) and cut
// short, since gRPC carries the message in trailing metadata, whose default limit (8 KiB) a long echo would
// exceed: the client would then see a metadata error instead of ours.

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace imgproc {

inline std::string QuoteClientText(absl::string_view text, size_t max_bytes = 64) {
  if (text.size() <= max_bytes) return absl::StrCat("'", absl::CHexEscape(text), "'");
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, max_bytes)), "...' (", text.size(), " bytes)");
}

}  // namespace imgproc
