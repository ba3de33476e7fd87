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

// Every problem found, each "file:line:col: path: problem". Empty means valid.
std::vector<std::string> Validate(const LoadedConfig& loaded);

}  // namespace stampede::config
