// The control plane's memory of recent events, from the dataplane (policy
// applied/refused, leases, HTTP transfers) and from control itself
// (config published/rejected, dataplane started/exited), numbered so API
// clients can follow them with ?since=.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "stampede/v1/event.pb.h"

namespace stampede::control {

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
  void Add(LoggedEvent event);
  // Events with seq >= `since`, oldest first, at most `limit`.
  std::vector<LoggedEvent> Since(uint64_t since, size_t limit) const;
  uint64_t next_seq() const { return next_seq_; }

 private:
  std::deque<LoggedEvent> events_;
  uint64_t next_seq_ = 1;
};

uint64_t WallNs();

}  // namespace stampede::control
