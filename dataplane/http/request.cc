#include "dataplane/http/request.h"

#include <cctype>
#include <charconv>

#include "dataplane/http/text.h"

namespace stampede::http {
namespace {

// Room for a method and version around a target before a request line
// still without its end is called too long (414) rather than incomplete.
constexpr size_t kRequestLineSlack = 64;

ParseResult Error(int status, std::string message) {
  ParseResult result;
  result.state = ParseState::kError;
  result.status = status;
  result.error = std::move(message);
  return result;
}

// RFC 9110 §5.6.2 tchar.
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

// Where the head ends (just past its empty line), or npos while incomplete;
// `line_end` is where the request line ends (npos while it has no end).
// Empty lines before the request line are skipped (RFC 9112 §2.2).
size_t FindHeadEnd(std::string_view bytes, size_t& start, size_t& line_end) {
  start = 0;
  line_end = std::string_view::npos;
  size_t pos = 0;
  while (true) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    bool empty = nl == pos || (nl == pos + 1 && bytes[pos] == '\r');
    if (line_end == std::string_view::npos) {
      if (empty) {
        start = nl + 1;
      } else {
        line_end = nl;
      }
    } else if (empty) {
      return nl + 1;
    }
    pos = nl + 1;
  }
}

// The head split into lines without their CR LF; false on a bare CR inside
// a line (RFC 9112 §2.2).
bool NextLine(std::string_view& rest, std::string_view& line) {
  size_t nl = rest.find('\n');
  line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line.find('\r') == std::string_view::npos;
}

// RFC 9112 §3.2.2: absolute-form ("http://host/path") is accepted and its
// path used; the authority is not checked (one appliance, any name).
std::string_view OriginForm(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWithIgnoreCase(target, scheme)) {
      std::string_view rest = target.substr(scheme.size());
      size_t slash = rest.find_first_of("/?");
      if (slash == std::string_view::npos) return "/";
      return rest[slash] == '/' ? rest.substr(slash) : std::string_view();
    }
  }
  return target;
}

ParseResult ParseRequestLine(std::string_view line, const RequestLimits& limits) {
  ParseResult result;
  HttpRequest& request = result.request;
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
  if (version == "HTTP/1.1") {
    request.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    request.version_minor = 0;
  } else if (version.size() == 8 && version.starts_with("HTTP/") && std::isdigit(version[5]) &&
             version[6] == '.' && std::isdigit(version[7])) {
    return Error(505, "HTTP version not supported");
  } else {
    return Error(400, "malformed request line");
  }
  if (target.size() > limits.max_target) return Error(414, "request target too long");
  for (char c : target) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return Error(400, "bad target");
  }
  std::string_view origin = OriginForm(target);
  if (origin.empty() || origin.front() != '/') {
    return Error(400, "target is not an absolute path");
  }
  request.method = std::string(method);
  request.target = std::string(target);
  size_t question = origin.find('?');
  if (!Decode(origin.substr(0, question), request.path, false)) {
    return Error(400, "bad percent-encoding in path");
  }
  if (question != std::string_view::npos &&
      !ParseQuery(origin.substr(question + 1), request.query)) {
    return Error(400, "bad query string");
  }
  return result;
}

// One "name: value" line into `request.headers`; the error status or 0.
int AddField(std::string_view field, HttpRequest& request, std::string& error) {
  size_t colon = field.find(':');
  if (colon == 0 || colon == std::string_view::npos) {
    error = "malformed header";
    return 400;
  }
  std::string name;
  for (char c : field.substr(0, colon)) {
    // Whitespace before the colon or an obs-fold line is refused (RFC 9112 §5.1, §5.2).
    if (!IsTokenChar(c)) {
      error = "malformed header name";
      return 400;
    }
    name += AsciiLower(c);
  }
  std::string_view value = Trim(field.substr(colon + 1));
  for (char c : value) {
    // RFC 9110 §5.5: NUL and other controls (HTAB aside) are refused.
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      error = "control character in a header value";
      return 400;
    }
  }
  auto [it, inserted] = request.headers.try_emplace(std::move(name), value);
  if (!inserted) {
    // RFC 9112 §3.2: a request with more than one Host is refused.
    if (it->first == "host") {
      error = "repeated Host";
      return 400;
    }
    // RFC 9110 §5.3: repeated list fields combine in order with commas.
    it->second.append(", ").append(value);
  }
  return 0;
}

ParseResult CheckBody(ParseResult result, const RequestLimits& limits) {
  HttpRequest& request = result.request;
  if (request.headers.contains("transfer-encoding")) {
    // RFC 9112 §6.1: no transfer coding is decoded here.
    return Error(501, "transfer-encoding not supported");
  }
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    const std::string& text = it->second;
    auto [ptr, ec] =
        std::from_chars(text.data(), text.data() + text.size(), request.content_length);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
      return Error(400, "bad content-length");
    }
    if (request.content_length > limits.max_body) return Error(413, "request body too large");
  }
  result.state = ParseState::kComplete;
  return result;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

bool HttpRequest::WantsKeepAlive() const {
  std::string_view connection = Header("connection");
  if (version_minor == 0) return HasToken(connection, "keep-alive");
  return !HasToken(connection, "close");
}

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult ParseRequestHead(std::string_view bytes, const RequestLimits& limits) {
  size_t start = 0, line_end = 0;
  size_t end = FindHeadEnd(bytes, start, line_end);
  if (end == std::string_view::npos) {
    if (line_end == std::string_view::npos &&
        bytes.size() - start > limits.max_target + kRequestLineSlack) {
      return Error(414, "request line too long");
    }
    if (bytes.size() > limits.max_head) return Error(431, "request head too large");
    return {};
  }
  if (line_end - start > limits.max_target + kRequestLineSlack) {
    return Error(414, "request line too long");
  }
  if (end > limits.max_head) return Error(431, "request head too large");
  std::string_view rest = bytes.substr(start, end - start);
  std::string_view line;
  if (!NextLine(rest, line)) return Error(400, "bare CR in the request line");
  ParseResult result = ParseRequestLine(line, limits);
  if (result.state == ParseState::kError) return result;
  HttpRequest& request = result.request;
  request.head_length = end;
  while (NextLine(rest, line)) {
    if (line.empty()) return CheckBody(std::move(result), limits);
    if (int status = AddField(line, request, result.error); status != 0) {
      return Error(status, std::move(result.error));
    }
  }
  return Error(400, "bare CR in a header");
}

}  // namespace stampede::http
