#include "control/api/http_request.h"

#include <cctype>
#include <charconv>

namespace stampede::api {
namespace {

ParseResult Error(int status, std::string message) {
  ParseResult result;
  result.state = ParseState::kError;
  result.status = status;
  result.error = std::move(message);
  return result;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding (RFC 3986 §2.1); false on a broken escape or a NUL.
bool Decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int high = HexValue(in[i + 1]), low = HexValue(in[i + 2]);
      if (high < 0 || low < 0) return false;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

bool ParseQuery(std::string_view text, std::map<std::string, std::string>& query) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!Decode(pair.substr(0, eq), key, true)) return false;
    if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), value, true)) return false;
    query[key] = value;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

ParseResult ParseRequestHead(std::string_view bytes) {
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() > kMaxRequestHead) return Error(431, "request head too large");
    return {};
  }
  if (end + 4 > kMaxRequestHead) return Error(431, "request head too large");
  std::string_view head = bytes.substr(0, end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  ParseResult result;
  HttpRequest& request = result.request;
  request.head_length = end + 4;

  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty()) return Error(400, "empty method");
  for (char c : method) {
    if (!IsTokenChar(c)) return Error(400, "bad method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    if (version.starts_with("HTTP/")) return Error(505, "HTTP version not supported");
    return Error(400, "malformed request line");
  }
  if (target.empty() || target.front() != '/') return Error(400, "target is not an absolute path");
  request.method = std::string(method);
  size_t question = target.find('?');
  if (!Decode(target.substr(0, question), request.path, false)) {
    return Error(400, "bad percent-encoding in path");
  }
  if (question != std::string_view::npos &&
      !ParseQuery(target.substr(question + 1), request.query)) {
    return Error(400, "bad query string");
  }

  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t next = rest.find("\r\n");
    std::string_view field = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 2);
    size_t colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return Error(400, "malformed header");
    std::string name;
    for (char c : field.substr(0, colon)) {
      if (!IsTokenChar(c)) return Error(400, "malformed header name");
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    request.headers[name] = std::string(Trim(field.substr(colon + 1)));
  }
  if (request.headers.contains("transfer-encoding")) {
    return Error(501, "transfer-encoding not supported");
  }
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    const std::string& text = it->second;
    auto [ptr, ec] =
        std::from_chars(text.data(), text.data() + text.size(), request.content_length);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
      return Error(400, "bad content-length");
    }
    if (request.content_length > kMaxRequestBody) return Error(413, "request body too large");
  }
  result.state = ParseState::kComplete;
  return result;
}

}  // namespace stampede::api
