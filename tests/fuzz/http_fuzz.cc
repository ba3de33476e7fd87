// libFuzzer target: the dataplane file server's answer to any bytes a client
// sends: the request head parsed with the file server's limits, then planned
// against a small catalog (an empty file, a small one, one past 4 GiB, one
// whose bytes are an extent of another). Also the Range and HTTP-date
// readers on the raw input. Every answer must be a well-formed head whose
// ranges stay inside the file.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dataplane/http/file_response.h"
#include "dataplane/http/http_date.h"
#include "dataplane/http/range.h"
#include "dataplane/http/request.h"

namespace {

using namespace stampede::http;

constexpr uint64_t kHuge = uint64_t{5} << 30;

std::optional<FileInfo> Catalog(std::string_view path) {
  if (path == "empty") return FileInfo{0, 1, "\"e\"", "application/octet-stream", 1, 0};
  if (path == "a.bin") return FileInfo{10000, 1700000000000000000, "\"a\"", "text/plain", 2, 0};
  if (path == "images/x.iso") return FileInfo{kHuge, 1, "\"x\"", "x", 3, 0};
  if (path == "images/x/k") return FileInfo{300, 0, "\"k\"", "y", 4, 8192};
  return std::nullopt;
}

uint64_t CatalogLength(uint32_t handle) {
  return handle == 1 ? 0 : handle == 2 ? 10000 : handle == 3 ? kHuge : 300;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Every line of the head ends in CR LF, nothing else holds a CR or LF.
void CheckHead(std::string_view head) {
  Check(head.starts_with("HTTP/1.1 ") && head.ends_with("\r\n\r\n"));
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r') Check(i + 1 < head.size() && head[i + 1] == '\n');
    if (head[i] == '\n') Check(i > 0 && head[i - 1] == '\r');
  }
}

void CheckPlan(const HttpRequest& request, const ResponsePlan& plan) {
  CheckHead(plan.head);
  switch (plan.status) {
    case 200:
    case 206:
    case 304:
    case 400:
    case 404:
    case 405:
    case 416:
      break;
    default:
      Check(false);
  }
  if (plan.file) {
    Check(request.method == "GET" && (plan.status == 200 || plan.status == 206));
    Check(plan.body_length > 0 && plan.body.empty());
    uint64_t length = CatalogLength(plan.file->handle);
    Check(plan.body_first < length && plan.body_length <= length - plan.body_first);
    if (plan.status == 200) Check(plan.body_first == 0 && plan.body_length == length);
  } else {
    Check(plan.body_length == 0);
  }
  if (request.method == "HEAD") Check(plan.body.empty());
  if (plan.status == 400) Check(!plan.keep_alive);
  if (request.has_body()) Check(!plan.keep_alive);
}

void CheckRange(std::string_view value, uint64_t size) {
  ByteRange range = ResolveRange(value, size);
  if (range.kind == ByteRange::Kind::kSatisfiable) {
    Check(range.first <= range.last && range.last < size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParseResult parsed = ParseRequestHead(input);
  if (parsed.state == ParseState::kComplete) {
    Check(parsed.request.head_length <= input.size() &&
          parsed.request.head_length <= kMaxRequestHead);
    CheckPlan(parsed.request,
              PlanFileResponse(parsed.request, Catalog, "Thu, 01 Jan 1970 00:00:00 GMT"));
  } else if (parsed.state == ParseState::kError) {
    Check(parsed.status >= 400 && parsed.status <= 599);
    CheckHead(PlanClosingResponse(parsed.status, "Thu, 01 Jan 1970 00:00:00 GMT").head);
  }
  for (uint64_t length : {uint64_t{0}, uint64_t{1}, uint64_t{10000}, kHuge, UINT64_MAX}) {
    CheckRange(input, length);
  }
  // Dates before 1970 parse (to negative times) but are written as 1970.
  if (std::optional<int64_t> t = ParseHttpDate(input); t && *t >= 0) {
    char text[kHttpDateLength + 1];
    Check(ParseHttpDate(FormatHttpDate(*t, text)) == t);
  }
  return 0;
}
