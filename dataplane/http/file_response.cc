#include "dataplane/http/file_response.h"

#include "dataplane/http/http_date.h"
#include "dataplane/http/range.h"
#include "dataplane/http/response.h"
#include "dataplane/http/text.h"
#include "dataplane/tftp/message.h"

namespace stampede::http {
namespace {

constexpr std::string_view kAllowed = "GET, HEAD";
constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t ModifiedSeconds(const FileInfo& file) {
  return file.mtime_ns > 0 ? file.mtime_ns / kNanosPerSecond : 0;
}

// A short text body saying what the status means: "404 Not Found\n".
ResponsePlan TextResponse(int status, bool keep_alive, bool head_only, std::string_view date,
                          ResponseHead head = {}) {
  ResponsePlan plan;
  plan.status = status;
  plan.keep_alive = keep_alive;
  std::string body;
  Append(body, status, " ", ReasonPhrase(status), "\n");
  head.status = status;
  head.date = date;
  head.content_type = "text/plain";
  head.content_length = body.size();
  head.keep_alive = keep_alive;
  plan.head = BuildResponseHead(head);
  if (!head_only) plan.body = std::move(body);
  return plan;
}

// The next entity-tag of an If-None-Match list (RFC 9110 §8.8.3, §13.1.2),
// quotes included, weakness dropped (weak comparison); empty at the end or
// on a malformed list.
std::string_view NextTag(std::string_view& list) {
  while (!list.empty() && (list.front() == ' ' || list.front() == '\t' || list.front() == ',')) {
    list.remove_prefix(1);
  }
  if (list.starts_with("W/")) list.remove_prefix(2);
  if (list.empty() || list.front() != '"') {
    list = {};
    return {};
  }
  size_t close = list.find('"', 1);
  if (close == std::string_view::npos) {
    list = {};
    return {};
  }
  std::string_view tag = list.substr(0, close + 1);
  list.remove_prefix(close + 1);
  return tag;
}

bool NoneMatchHolds(std::string_view header, std::string_view etag) {
  if (header == "*") return true;
  while (!header.empty()) {
    std::string_view tag = NextTag(header);
    if (tag.empty()) break;
    if (tag == etag) return true;
  }
  return false;
}

// RFC 9110 §13.1.3, §13.2.2 step 3 and 4 for GET and HEAD: whether the
// client's copy is current (304).
bool NotModified(const HttpRequest& request, const FileInfo& file) {
  std::string_view none_match = request.Header("if-none-match");
  if (!none_match.empty()) return NoneMatchHolds(none_match, file.etag);
  std::string_view since = request.Header("if-modified-since");
  if (since.empty() || file.mtime_ns <= 0) return false;
  std::optional<int64_t> date = ParseHttpDate(since);
  return date && ModifiedSeconds(file) <= *date;
}

// RFC 9110 §13.1.5: Range applies only while the validator still matches
// (a strong entity-tag, or exactly the Last-Modified date).
bool IfRangeHolds(const HttpRequest& request, const FileInfo& file) {
  std::string_view if_range = request.Header("if-range");
  if (if_range.empty()) return true;
  if (if_range.starts_with('"')) return if_range == file.etag;
  if (if_range.starts_with("W/")) return false;
  std::optional<int64_t> date = ParseHttpDate(if_range);
  return date && file.mtime_ns > 0 && *date == ModifiedSeconds(file);
}

ResponsePlan FileResponse(const HttpRequest& request, FileInfo file, bool keep_alive,
                          std::string_view date) {
  bool head_only = request.method == "HEAD";
  char modified[kHttpDateLength + 1];
  ResponseHead head;
  head.date = date;
  head.etag = file.etag;
  head.keep_alive = keep_alive;
  if (file.mtime_ns > 0) head.last_modified = FormatHttpDate(ModifiedSeconds(file), modified);
  ResponsePlan plan;
  plan.keep_alive = keep_alive;
  if (NotModified(request, file)) {
    head.status = plan.status = 304;
    head.last_modified = {};  // §15.4.5: the ETag says it all
    plan.head = BuildResponseHead(head);
    return plan;
  }
  head.content_type = file.content_type;
  head.accept_ranges = true;
  // §14.2: GET is the one method ranges are defined for; HEAD ignores them.
  ByteRange range;
  if (std::string_view value = request.Header("range");
      !value.empty() && !head_only && IfRangeHolds(request, file)) {
    range = ResolveRange(value, file.length);
  }
  if (range.kind == ByteRange::Kind::kUnsatisfiable) {
    head.content_range = ContentRange{true, 0, 0, file.length};
    head.etag = {};
    head.last_modified = {};
    return TextResponse(416, keep_alive, head_only, date, head);
  }
  if (range.kind == ByteRange::Kind::kSatisfiable) {
    head.status = plan.status = 206;
    head.content_range = ContentRange{false, range.first, range.last, file.length};
    plan.body_first = range.first;
    plan.body_length = range.length();
  } else {
    head.status = plan.status = 200;
    plan.body_length = file.length;
  }
  head.content_length = plan.body_length;
  plan.head = BuildResponseHead(head);
  if (!head_only && plan.body_length > 0) {
    plan.file = std::move(file);
  } else {
    plan.body_length = 0;
  }
  return plan;
}

}  // namespace

CatalogPath ToCatalogPath(std::string_view decoded_path) {
  CatalogPath result;
  if (std::optional<std::string> normalised = tftp::NormalisePath(decoded_path)) {
    result.path = *std::move(normalised);
    return result;
  }
  // Why NormalisePath refused it: a part that climbs or holds a control
  // character is a bad request; the root or an over-long name is a path
  // the catalog cannot hold.
  result.status = 404;
  size_t start = 0;
  while (start <= decoded_path.size()) {
    size_t end = decoded_path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = decoded_path.size();
    std::string_view part = decoded_path.substr(start, end - start);
    start = end + 1;
    if (part == "..") result.status = 400;
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) result.status = 400;
    }
  }
  return result;
}

ResponsePlan PlanFileResponse(const HttpRequest& request, FileLookup lookup,
                              std::string_view date) {
  bool head_only = request.method == "HEAD";
  // A body is never read: the connection ends after the answer (RFC 9112
  // §9.6) rather than be read past it.
  bool keep_alive = request.WantsKeepAlive() && !request.has_body();
  if (request.method != "GET" && !head_only) {
    ResponseHead head;
    head.allow = kAllowed;
    return TextResponse(405, keep_alive, false, date, head);
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused.
  if (request.version_minor == 1 && !request.headers.contains("host")) {
    return TextResponse(400, false, head_only, date);
  }
  CatalogPath path = ToCatalogPath(request.path);
  if (path.status != 0) {
    return TextResponse(path.status, path.status != 400 && keep_alive, head_only, date);
  }
  std::optional<FileInfo> file = lookup(path.path);
  if (!file) return TextResponse(404, keep_alive, head_only, date);
  return FileResponse(request, *std::move(file), keep_alive, date);
}

ResponsePlan PlanClosingResponse(int status, std::string_view date) {
  return TextResponse(status, false, false, date);
}

}  // namespace stampede::http
