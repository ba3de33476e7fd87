// libFuzzer target: the control API's request-head parser, fed by any local
// client. It must answer every input with complete, incomplete or an error
// status, never read past the input, and keep its bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/api/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  stampede::api::ParseResult r = stampede::api::ParseRequestHead(input);
  if (r.state == stampede::api::ParseState::kComplete) {
    if (r.request.head_length > input.size() ||
        r.request.head_length > stampede::api::kMaxRequestHead ||
        r.request.content_length > stampede::api::kMaxRequestBody || r.request.path.empty() ||
        r.request.path[0] != '/') {
      __builtin_trap();
    }
  } else if (r.state == stampede::api::ParseState::kError && (r.status < 400 || r.status > 599)) {
    __builtin_trap();
  }
  return 0;
}
