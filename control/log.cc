#include "control/log.h"

#include <cstdio>
#include <string>

namespace stampede::control {

void Log(Level level, std::string_view line) {
  const char* name = level == Level::kError     ? "error"
                     : level == Level::kWarning ? "warning"
                                                : "info";
  std::fprintf(stderr, "stampede-control: level=%s %.*s\n", name, static_cast<int>(line.size()),
               line.data());
}

std::string Quote(std::string_view value) {
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c == '\n' ? ' ' : c;
  }
  return quoted + "\"";
}

}  // namespace stampede::control
