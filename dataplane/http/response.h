// Builds an HTTP/1.1 response head (RFC 9112 §4, §6): status line and the
// fields a file server sends. Values are the server's own (numbers, dates,
// fixed strings), never request bytes, so nothing a client sends can split
// the head.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stampede::http {

inline constexpr std::string_view kServerName = "stampede";

// RFC 9110 §14.4: "bytes first-last/size", or "bytes */size" with 416.
struct ContentRange {
  bool unsatisfied = false;
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t size = 0;
};

struct ResponseHead {
  int status = 200;
  std::string_view date;  // IMF-fixdate of now
  // Absent on 304 (RFC 9110 §15.4.5: it would describe the 200).
  std::optional<uint64_t> content_length;
  std::optional<ContentRange> content_range;
  std::string_view content_type;   // omitted when empty
  std::string_view etag;           // quoted; omitted when empty
  std::string_view last_modified;  // IMF-fixdate; omitted when empty
  std::string_view allow;          // 405's Allow; omitted when empty
  bool accept_ranges = false;
  bool keep_alive = false;
};

// The complete head, ending with the empty line.
std::string BuildResponseHead(const ResponseHead& head);

// "OK", "Not Found", ...; "Unknown" for statuses this appliance never sends.
std::string_view ReasonPhrase(int status);

// By the catalog path's extension: text/plain for iPXE scripts and boot
// loader configs, the ISO type for images, application/octet-stream else.
std::string_view ContentTypeFor(std::string_view path);

// Strong entity tags (RFC 9110 §8.8.3): a file's bytes are fixed by its
// source's identity (device, inode, mtime) and the extent served. Generated
// bytes (menus) have no identity on disk: the file registry gives each
// distinct content its own id, which holds for one run of the process, so
// the run's nonce goes with it.
std::string FileEtag(uint64_t device, uint64_t inode, int64_t mtime_ns, uint64_t offset,
                     uint64_t length);
std::string GeneratedEtag(uint64_t run_nonce, uint32_t id, uint64_t length);

}  // namespace stampede::http
