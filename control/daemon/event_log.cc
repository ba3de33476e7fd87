#include "control/daemon/event_log.h"

#include <time.h>

#include <algorithm>

namespace stampede::control {

uint64_t WallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void EventLog::Add(LoggedEvent event) {
  event.seq = next_seq_++;
  if (event.time_ns == 0) event.time_ns = WallNs();
  std::deque<LoggedEvent>& kept = event.http || event.tftp ? transfers_ : others_;
  kept.push_back(std::move(event));
  if (kept.size() > capacity_) kept.pop_front();
}

std::vector<LoggedEvent> EventLog::Since(uint64_t since, size_t limit) const {
  // Each class is in seq order: merge the two from their first seq >= since.
  auto from = [since](const std::deque<LoggedEvent>& events) {
    return std::lower_bound(events.begin(), events.end(), since,
                            [](const LoggedEvent& e, uint64_t seq) { return e.seq < seq; });
  };
  auto t = from(transfers_), o = from(others_);
  std::vector<LoggedEvent> out;
  while (out.size() < limit && (t != transfers_.end() || o != others_.end())) {
    bool take_transfer = o == others_.end() || (t != transfers_.end() && t->seq < o->seq);
    out.push_back(take_transfer ? *t++ : *o++);
  }
  return out;
}

}  // namespace stampede::control
