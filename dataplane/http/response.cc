#include "dataplane/http/response.h"

#include "absl/strings/str_format.h"
#include "dataplane/http/text.h"

namespace stampede::http {
std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string BuildResponseHead(const ResponseHead& head) {
  std::string out;
  out.reserve(384);
  Append(out, "HTTP/1.1 ", head.status, " ", ReasonPhrase(head.status), "\r\nServer: ", kServerName,
         "\r\nDate: ", head.date, "\r\n");
  if (!head.content_type.empty()) Append(out, "Content-Type: ", head.content_type, "\r\n");
  if (head.content_length) Append(out, "Content-Length: ", *head.content_length, "\r\n");
  if (head.content_range) {
    const ContentRange& r = *head.content_range;
    if (r.unsatisfied) {
      Append(out, "Content-Range: bytes */", r.size, "\r\n");
    } else {
      Append(out, "Content-Range: bytes ", r.first, "-", r.last, "/", r.size, "\r\n");
    }
  }
  if (head.accept_ranges) out += "Accept-Ranges: bytes\r\n";
  if (!head.last_modified.empty()) {
    Append(out, "Last-Modified: ", head.last_modified, "\r\n");
  }
  if (!head.etag.empty()) Append(out, "ETag: ", head.etag, "\r\n");
  if (!head.allow.empty()) Append(out, "Allow: ", head.allow, "\r\n");
  Append(out, "Connection: ", head.keep_alive ? "keep-alive" : "close", "\r\n\r\n");
  return out;
}

std::string_view ContentTypeFor(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string_view extension = name.substr(dot + 1);
  if (EqualsIgnoreCase(extension, "iso")) return "application/x-iso9660-image";
  // The UEFI spec's media type for an EFI program fetched by HTTP boot (EDK II
  // looks at it before the URL's extension).
  if (EqualsIgnoreCase(extension, "efi")) return "application/efi";
  for (std::string_view text : {"ipxe", "cfg", "conf", "txt", "lst", "seed", "cmdline"}) {
    if (EqualsIgnoreCase(extension, text)) return "text/plain";
  }
  return "application/octet-stream";
}

std::string FileEtag(uint64_t device, uint64_t inode, int64_t mtime_ns, uint64_t offset,
                     uint64_t length) {
  return absl::StrFormat("\"%x-%x-%x-%x-%x\"", device, inode, static_cast<uint64_t>(mtime_ns),
                         offset, length);
}

std::string GeneratedEtag(uint64_t run_nonce, uint32_t id, uint64_t length) {
  return absl::StrFormat("\"g%x-%x-%x\"", run_nonce, id, length);
}

}  // namespace stampede::http
