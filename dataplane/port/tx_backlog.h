// Frames a port's TX queue had no room for, kept in order and sent first the
// next time: the TFTP engine's DATA, the worker's replies. Only what does not
// fit is dropped. Single-threaded: one per user of a (port, queue).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/port/counters.h"

struct rte_mbuf;

namespace stampede::port {

class TxBacklog {
 public:
  explicit TxBacklog(uint32_t capacity) : frames_(capacity) {}
  // Frees what still waits.
  ~TxBacklog();
  TxBacklog(const TxBacklog&) = delete;
  TxBacklog& operator=(const TxBacklog&) = delete;

  bool empty() const { return count_ == 0; }

  // Sends what waits, oldest first, as much as the queue takes; what left
  // is added to `lcore`'s tx_packets (when given).
  void Flush(uint16_t port_id, uint16_t queue_id, LcoreCounters* lcore);

  // Flushes, then sends `frames` unless something still waits (nothing
  // overtakes it); keeps what the queue refuses. Frees what does not fit and
  // returns how many that was (the caller counts them).
  uint32_t Send(uint16_t port_id, uint16_t queue_id, rte_mbuf** frames, uint32_t count,
                LcoreCounters* lcore);

 private:
  std::vector<rte_mbuf*> frames_;  // a ring
  uint32_t head_ = 0;              // oldest
  uint32_t count_ = 0;
};

}  // namespace stampede::port
