// HTTP-date (RFC 9110 §5.6.7) as IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT":
// written for Date and Last-Modified, read from If-Modified-Since and
// If-Range. Independent of locale and time zone, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stampede::http {

// IMF-fixdate is always 29 characters.
inline constexpr size_t kHttpDateLength = 29;

// Writes the IMF-fixdate of `unix_seconds` (UTC, from 1970 to 9999) into
// `out`; returns the view of it.
std::string_view FormatHttpDate(int64_t unix_seconds, char (&out)[kHttpDateLength + 1]);

// The time an IMF-fixdate names; nullopt for anything else (§5.6.7 lets a
// recipient read the obsolete formats; no client of a boot server sends
// them, and an If-Modified-Since that is not a valid date is ignored).
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace stampede::http
