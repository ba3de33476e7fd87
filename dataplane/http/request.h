// Parses one HTTP/1.x request head (request line and header fields): the one
// parser of the control API and the dataplane's file server. The bytes come
// from any client, so everything is bounded and checked: a head over its
// limit is refused (431), a request target over its limit 414, a bad request
// line or field 400, an unsupported version 505.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace stampede::http {

// 8 KiB is nginx's default large_client_header_buffers size; RFC 9110 §5.4
// leaves the bound to the server and RFC 6585 §5 gives it its status (431).
inline constexpr size_t kMaxRequestHead = 8192;
// RFC 9112 §3 recommends request lines of 8000 octets; with an 8 KiB head,
// half of it for the target leaves room for the fields. Catalog paths are at
// most 255 bytes, 765 percent-encoded.
inline constexpr size_t kMaxRequestTarget = 4096;

struct RequestLimits {
  size_t max_head = kMaxRequestHead;
  size_t max_target = kMaxRequestTarget;
  // A Content-Length above this is refused (413); the file server reads no
  // bodies and closes the connection after a request that has one.
  uint64_t max_body = UINT64_MAX;
};

struct HttpRequest {
  std::string method;
  std::string target;                          // as received, for logs
  std::string path;                            // percent-decoded, without the query
  std::map<std::string, std::string> query;    // ?a=1&b=2, decoded
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined by ", "
  int version_minor = 1;                       // HTTP/1.0 or HTTP/1.1
  uint64_t content_length = 0;
  bool chunked = false;    // Transfer-Encoding present (never read)
  size_t head_length = 0;  // bytes of request line + fields + blank line

  // The field's value, or empty when absent.
  std::string_view Header(std::string_view lower_case_name) const;
  bool has_body() const { return content_length > 0 || chunked; }
  // RFC 9112 §9.3: HTTP/1.1 persists unless "close" is among the Connection
  // options; HTTP/1.0 only with "keep-alive" among them.
  bool WantsKeepAlive() const;
};

enum class ParseState { kComplete, kIncomplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  HttpRequest request;  // when kComplete
  int status = 0;       // when kError: the HTTP status to answer with
  std::string error;    // when kError
};

// Parses the head at the start of `bytes` (more may follow: a body or the
// next request). Lines end in CRLF or a bare LF (RFC 9112 §2.2).
ParseResult ParseRequestHead(std::string_view bytes, const RequestLimits& limits = {});

// True when `list` (a comma-separated field value like Connection's) holds
// `token`, ignoring ASCII case and optional whitespace.
bool HasToken(std::string_view list, std::string_view token);

}  // namespace stampede::http
