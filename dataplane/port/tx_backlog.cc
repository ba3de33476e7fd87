#include "dataplane/port/tx_backlog.h"

#include <algorithm>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace stampede::port {

TxBacklog::~TxBacklog() {
  for (; count_ > 0; --count_) {
    rte_pktmbuf_free(frames_[head_]);
    head_ = static_cast<uint32_t>((head_ + 1) % frames_.size());
  }
}

void TxBacklog::Flush(uint16_t port_id, uint16_t queue_id, LcoreCounters* lcore) {
  const auto capacity = static_cast<uint32_t>(frames_.size());
  while (count_ > 0) {
    uint32_t run = std::min({count_, capacity - head_, uint32_t{UINT16_MAX}});
    uint16_t sent =
        rte_eth_tx_burst(port_id, queue_id, &frames_[head_], static_cast<uint16_t>(run));
    if (lcore != nullptr) LcoreCounters::Add(lcore->tx_packets, sent);
    head_ = (head_ + sent) % capacity;
    count_ -= sent;
    if (sent < run) return;
  }
}

uint32_t TxBacklog::Send(uint16_t port_id, uint16_t queue_id, rte_mbuf** frames, uint32_t count,
                         LcoreCounters* lcore) {
  Flush(port_id, queue_id, lcore);
  uint32_t sent = 0;
  if (count_ == 0 && count > 0) {
    sent = rte_eth_tx_burst(port_id, queue_id, frames,
                            static_cast<uint16_t>(std::min(count, uint32_t{UINT16_MAX})));
    if (lcore != nullptr) LcoreCounters::Add(lcore->tx_packets, sent);
  }
  const auto capacity = static_cast<uint32_t>(frames_.size());
  uint32_t kept = std::min(count - sent, capacity - count_);
  for (uint32_t i = 0; i < kept; ++i) frames_[(head_ + count_++) % capacity] = frames[sent + i];
  uint32_t dropped = count - sent - kept;
  if (dropped > 0) rte_pktmbuf_free_bulk(frames + sent + kept, dropped);
  return dropped;
}

}  // namespace stampede::port
