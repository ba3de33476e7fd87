// The Range request field (RFC 9110 §14.2): one byte range of a
// representation of known size. A single range is served as 206; a set of
// several (multipart/byteranges) is answered with the whole representation,
// which §14.2 allows; a range beyond the end is 416.
#pragma once

#include <cstdint>
#include <string_view>

namespace stampede::http {

struct ByteRange {
  enum class Kind {
    kNone,           // no range to apply: serve the whole representation (200)
    kSatisfiable,    // serve [first, last] (206)
    kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::kNone;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive

  uint64_t length() const { return last - first + 1; }
};

// Resolves a Range field value against a representation of `size` bytes.
// Units other than "bytes" are ignored (§14.2); an invalid byte range set
// (§14.1.1: "bytes=abc", "bytes=5-2") is refused as unsatisfiable, as nginx
// does; several valid ranges serve the whole.
ByteRange ResolveRange(std::string_view value, uint64_t size);

}  // namespace stampede::http
