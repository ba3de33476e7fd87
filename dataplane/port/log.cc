#include "dataplane/port/log.h"

#include <rte_log.h>

namespace stampede::port {
namespace {

int LogType() {
  static const int type = [] {
    int registered = rte_log_register_type_and_pick_level("stampede", RTE_LOG_INFO);
    return registered < 0 ? static_cast<int>(RTE_LOGTYPE_USER1) : registered;
  }();
  return type;
}

uint32_t RteLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return RTE_LOG_ERR;
    case LogLevel::kWarning:
      return RTE_LOG_WARNING;
    case LogLevel::kInfo:
      return RTE_LOG_INFO;
    case LogLevel::kDebug:
      return RTE_LOG_DEBUG;
  }
  return RTE_LOG_INFO;
}

}  // namespace

void Log(LogLevel level, std::string_view line) {
  rte_log(RteLevel(level), LogType(), "stampede: %.*s\n", static_cast<int>(line.size()),
          line.data());
}

}  // namespace stampede::port
