// The control plane's one logging helper: structured key=value lines on
// stderr (journald keeps them), "stampede-control: level=info event=... k=v".
#pragma once

#include <string>
#include <string_view>

namespace stampede::control {

enum class Level { kError, kWarning, kInfo };

void Log(Level level, std::string_view line);

// Quotes a value for a key=value line: "..." with " and \ escaped.
std::string Quote(std::string_view value);

}  // namespace stampede::control
