// Small text helpers for the HTTP core over std::string_view (Debian's
// Abseil has a string_view of its own that std::string_view does not
// convert to).
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>

namespace stampede::http {

inline char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

// Appends text and decimal integers.
template <typename... Parts>
void Append(std::string& out, const Parts&... parts) {
  auto one = [&out](const auto& part) {
    using T = std::decay_t<decltype(part)>;
    if constexpr (std::is_integral_v<T>) {
      char digits[24];
      out.append(digits, std::to_chars(digits, digits + sizeof(digits), part).ptr);
    } else {
      out.append(std::string_view(part));
    }
  };
  (one(parts), ...);
}

}  // namespace stampede::http
