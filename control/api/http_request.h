// Parses one HTTP/1.x request head (request line and headers) for the control
// API. The bytes come from any local client, so everything is bounded and
// checked: a head over kMaxRequestHead is refused (431), a bad request line
// or header is 400, an unsupported version 505.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace stampede::api {

// The API's requests are a line and a few headers; 8 KiB is nginx's default
// large_client_header_buffers size.
inline constexpr size_t kMaxRequestHead = 8192;
// A request body (POST /reload sends none) is bounded too.
inline constexpr size_t kMaxRequestBody = 4096;

struct HttpRequest {
  std::string method;
  std::string path;                            // percent-decoded, without the query
  std::map<std::string, std::string> query;    // ?a=1&b=2, decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  size_t content_length = 0;
  size_t head_length = 0;  // bytes of request line + headers + blank line
};

enum class ParseState { kComplete, kIncomplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  HttpRequest request;  // when kComplete
  int status = 0;       // when kError: the HTTP status to answer with
  std::string error;    // when kError
};

ParseResult ParseRequestHead(std::string_view bytes);

}  // namespace stampede::api
