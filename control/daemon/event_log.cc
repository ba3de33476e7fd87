#include "control/daemon/event_log.h"

#include <time.h>

namespace stampede::control {

uint64_t WallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void EventLog::Add(LoggedEvent event) {
  event.seq = next_seq_++;
  if (event.time_ns == 0) event.time_ns = WallNs();
  events_.push_back(std::move(event));
  if (events_.size() > kEventLogCapacity) events_.pop_front();
}

std::vector<LoggedEvent> EventLog::Since(uint64_t since, size_t limit) const {
  std::vector<LoggedEvent> out;
  if (events_.empty()) return out;
  uint64_t first = events_.front().seq;
  size_t start = since <= first ? 0 : static_cast<size_t>(since - first);
  for (size_t i = start; i < events_.size() && out.size() < limit; ++i) out.push_back(events_[i]);
  return out;
}

}  // namespace stampede::control
