// Structured (key=value) log lines through rte_log, the dataplane's one logger.
#pragma once

#include <string_view>

namespace stampede::port {

enum class LogLevel { kError, kWarning, kInfo, kDebug };

// Writes "stampede: <line>" at `level`; `line` is "event=name key=value ...".
void Log(LogLevel level, std::string_view line);

}  // namespace stampede::port
