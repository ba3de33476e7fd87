#include "dataplane/http/range.h"

#include <algorithm>
#include <optional>

#include "dataplane/http/text.h"

namespace stampede::http {
namespace {

// A byte-range-spec or suffix-range (RFC 9110 §14.1.1) before it meets the
// representation's size: positions saturate at UINT64_MAX (a first position
// that large is past any end: unsatisfiable, not malformed).
struct Spec {
  std::optional<uint64_t> first;  // absent: a suffix range "-n"
  std::optional<uint64_t> last;   // absent: "a-" (to the end), or the suffix length
};

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1*DIGIT, saturating.
std::optional<uint64_t> Digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  return value;
}

std::optional<Spec> ParseSpec(std::string_view text) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view first = text.substr(0, dash), last = text.substr(dash + 1);
  Spec spec;
  if (first.empty()) {  // suffix-range: "-" suffix-length
    spec.last = Digits(last);
    if (!spec.last) return std::nullopt;
    return spec;
  }
  spec.first = Digits(first);
  if (!spec.first) return std::nullopt;
  if (!last.empty()) {
    spec.last = Digits(last);
    // §14.1.1: a last position below the first makes the spec invalid.
    if (!spec.last || *spec.last < *spec.first) return std::nullopt;
  }
  return spec;
}

ByteRange Apply(const Spec& spec, uint64_t size) {
  ByteRange range;
  range.kind = ByteRange::Kind::kUnsatisfiable;
  if (size == 0) return range;  // §14.1.2: nothing of an empty one is satisfiable
  if (!spec.first) {
    // §14.1.2: a suffix longer than the representation is all of it; a
    // zero-length suffix is unsatisfiable.
    if (*spec.last == 0) return range;
    range.first = *spec.last >= size ? 0 : size - *spec.last;
  } else {
    if (*spec.first >= size) return range;
    range.first = *spec.first;
  }
  range.last = spec.last && spec.first ? std::min(*spec.last, size - 1) : size - 1;
  range.kind = ByteRange::Kind::kSatisfiable;
  return range;
}

}  // namespace

ByteRange ResolveRange(std::string_view value, uint64_t size) {
  ByteRange none;
  ByteRange refused;
  refused.kind = ByteRange::Kind::kUnsatisfiable;
  size_t equals = value.find('=');
  if (equals == std::string_view::npos ||
      !EqualsIgnoreCase(TrimOws(value.substr(0, equals)), "bytes")) {
    return none;  // another unit, or not a range at all: ignored (§14.2)
  }
  std::string_view set = value.substr(equals + 1);
  std::optional<Spec> single;
  int specs = 0;
  while (true) {
    size_t comma = set.find(',');
    std::string_view item = TrimOws(set.substr(0, comma));
    // #rule lists may hold empty elements (RFC 9110 §5.6.1).
    if (!item.empty()) {
      std::optional<Spec> spec = ParseSpec(item);
      if (!spec) return refused;
      single = spec;
      ++specs;
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (specs == 0) return refused;
  if (specs > 1) return none;  // no multipart/byteranges: the whole, 200
  return Apply(*single, size);
}

}  // namespace stampede::http
