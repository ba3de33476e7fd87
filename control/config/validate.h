// Semantic checks of a loaded config: addresses, ranges, references between
// sections, uniqueness. Errors say file:line:column, the field path and what
// is wrong; all of them are reported, not just the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/loader.h"

namespace stampede::config {

// "90s", "15m", "12h", "7d", "1h30m" -> seconds; nullopt on anything else.
std::optional<uint64_t> ParseDurationSeconds(std::string_view text);

// A class's MAC pattern, dnsmasq's way ("0c:c4:7a:*:*:*", "0c:c4:7a:*",
// "*" for any byte, '-' or ':' between bytes): the bits that must match and
// their value, as net::MacAddress::Key() lays a MAC out; nullopt when it is
// not one.
struct MacPattern {
  uint64_t value = 0;
  uint64_t mask = 0;
};
std::optional<MacPattern> ParseMacPattern(std::string_view text);

// The matchers a class has (its non-empty ones), by field name ("mac",
// "vendor_class", ...): none is a class that matches nothing.
std::vector<const char*> ClassMatchers(const v1::ClientClass& c);

// The class name built into pools' `classes`: host entries and clients of
// classes with `known: true`.
inline constexpr char kKnownClients[] = "known";

// A class's `arch` item: a boot_files name (bios, efi_ia32, efi_x64,
// efi_arm64, efi_x64_http, efi_arm64_http) or a number 0..65535 -> the
// option 93 values it stands for (efi_x64 is both 7 and 9); nullopt when it
// is neither.
std::optional<std::vector<uint32_t>> ParseClientArch(std::string_view text);

// Every problem found, each "file:line:col: path: problem". Empty means valid.
std::vector<std::string> Validate(const LoadedConfig& loaded);

}  // namespace stampede::config
