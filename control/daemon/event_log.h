// The control plane's memory of recent events, from the dataplane (policy
// applied/refused, leases, proxyDHCP steps, TFTP and HTTP transfers) and
// from control itself (config published/rejected, dataplane started/exited),
// numbered so API clients can follow them with ?since=.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "stampede/v1/event.pb.h"

namespace stampede::control {

// Events kept of each class: transfers (TFTP and HTTP), and everything else.
// A boot storm's transfers (iPXE's sanboot alone makes about 170 range
// responses per machine) push out older transfers, never the leases and
// policy events.
inline constexpr size_t kEventLogCapacity = 10000;

struct LoggedEvent {
  uint64_t seq = 0;
  uint64_t time_ns = 0;
  std::string source;  // "dataplane" or "control"
  std::string kind;    // "policy_applied", "config_rejected", ...
  uint64_t generation = 0;
  std::string detail;
  // An HTTP transfer's fields (kinds http_transfer*), for the API's "http".
  std::optional<v1::HttpTransfer> http;
  // A TFTP transfer's (kinds tftp_*), for the API's "tftp".
  std::optional<v1::TftpTransfer> tftp;
};

class EventLog {
 public:
  explicit EventLog(size_t capacity = kEventLogCapacity) : capacity_(capacity) {}
  void Add(LoggedEvent event);
  // Events with seq >= `since`, oldest first, at most `limit`: of both
  // classes, in the order they were added.
  std::vector<LoggedEvent> Since(uint64_t since, size_t limit) const;
  uint64_t next_seq() const { return next_seq_; }

 private:
  size_t capacity_;
  std::deque<LoggedEvent> transfers_;  // events with `http` or `tftp`
  std::deque<LoggedEvent> others_;
  uint64_t next_seq_ = 1;
};

uint64_t WallNs();

}  // namespace stampede::control
