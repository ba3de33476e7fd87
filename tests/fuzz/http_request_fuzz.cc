// libFuzzer target: the HTTP/1.x request-head parser with the control API's
// limits (it reads the API's requests from any local client). It must answer
// every input with complete, incomplete or an error status, never read past
// the input, and keep its bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/api/server.h"
#include "dataplane/http/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stampede::http;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.max_body = stampede::api::kMaxRequestBody;
  ParseResult r = ParseRequestHead(input, limits);
  if (r.state == ParseState::kComplete) {
    if (r.request.head_length > input.size() || r.request.head_length > kMaxRequestHead ||
        r.request.content_length > stampede::api::kMaxRequestBody || r.request.path.empty() ||
        r.request.path[0] != '/' || r.request.target.size() > kMaxRequestTarget ||
        (r.request.version_minor != 0 && r.request.version_minor != 1)) {
      __builtin_trap();
    }
  } else if (r.state == ParseState::kError && (r.status < 400 || r.status > 599)) {
    __builtin_trap();
  }
  return 0;
}
