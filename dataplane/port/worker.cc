#include "dataplane/port/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

namespace stampede::port {
namespace {

net::ByteSpan FrameOf(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

}  // namespace

Worker::Worker(const WorkerConfig& config, const net::LocalAddresses& local,
               LcoreCounters& counters)
    : config_(config),
      local_(local),
      counters_(counters),
      neighbours_(kNeighbourMaxAgeSeconds * rte_get_tsc_hz()),
      responder_(local_, neighbours_),
      announced_(!config.announce) {}

void Worker::Run(const std::atomic<bool>& stop) {
  if (config_.qsbr != nullptr) {
    rte_rcu_qsbr_thread_register(config_.qsbr, config_.queue_id);
    rte_rcu_qsbr_thread_online(config_.qsbr, config_.queue_id);
  }
  while (!stop.load(std::memory_order_relaxed)) PollOnce();
  if (config_.qsbr != nullptr) {
    rte_rcu_qsbr_thread_offline(config_.qsbr, config_.queue_id);
    rte_rcu_qsbr_thread_unregister(config_.qsbr, config_.queue_id);
  }
}

uint32_t Worker::PollOnce() {
  if (!announced_) Announce();
  if (config_.policy != nullptr) {
    policy_ = config_.policy->load(std::memory_order_acquire);
    responder_.SetBootServices(policy_ != nullptr);
  }
  uint32_t moved = PollPort() + PollKernel();
  // Nothing of this poll's policy is held past here.
  if (config_.qsbr != nullptr) rte_rcu_qsbr_quiescent(config_.qsbr, config_.queue_id);
  return moved;
}

void Worker::Announce() {
  announced_ = true;
  rte_mbuf* frames[net::LocalAddresses::kMaxIpv4];
  uint16_t count = 0;
  for (const net::Ipv4Interface& interface : local_.ipv4()) {
    rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
    if (m == nullptr) break;
    char* data = rte_pktmbuf_append(m, net::kMinFrameSize);
    size_t length = net::BuildGratuitousArp(
        {reinterpret_cast<std::byte*>(data), net::kMinFrameSize}, local_.mac(), interface.address);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(net::kMinFrameSize - length));
    frames[count++] = m;
  }
  LcoreCounters::Add(counters_.gratuitous_arps, count);
  Send(config_.port_id, frames, count, net::DropReason::kTxQueueFull);
}

uint32_t Worker::PollPort() {
  rte_mbuf* rx[kBurstSize];
  uint16_t received = rte_eth_rx_burst(config_.port_id, config_.queue_id, rx, kBurstSize);
  if (received == 0) return 0;
  LcoreCounters::Add(counters_.rx_packets, received);

  rte_mbuf* replies[kBurstSize];
  rte_mbuf* to_kernel[kBurstSize];
  rte_mbuf* dropped[kBurstSize];
  uint16_t reply_count = 0, kernel_count = 0, drop_count = 0;
  uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < received; ++i) {
    if (i + 1 < received) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
    rte_mbuf* m = rx[i];
    // Only the first segment is parsed; chained jumbo frames are never ours to answer.
    if (m->nb_segs > 1) {
      to_kernel[kernel_count++] = m;
      continue;
    }
    net::Decision decision = responder_.Handle(FrameOf(m), now);
    switch (decision.verdict) {
      case net::Verdict::kTransmit:
        replies[reply_count++] = m;
        LcoreCounters::Add(decision.answer == net::Answer::kArpReply ? counters_.arp_replies
                                                                     : counters_.icmp_echo_replies,
                           1);
        break;
      case net::Verdict::kException:
        to_kernel[kernel_count++] = m;
        break;
      case net::Verdict::kDrop:
        dropped[drop_count++] = m;
        counters_.Drop(decision.drop);
        break;
    }
  }
  if (drop_count > 0) rte_pktmbuf_free_bulk(dropped, drop_count);
  Send(config_.port_id, replies, reply_count, net::DropReason::kTxQueueFull);
  if (kernel_count > 0) {
    if (config_.tap_port_id) {
      LcoreCounters::Add(counters_.to_kernel, kernel_count);
      Send(*config_.tap_port_id, to_kernel, kernel_count, net::DropReason::kExceptionQueueFull);
    } else {
      counters_.Drop(net::DropReason::kNoExceptionPath, kernel_count);
      rte_pktmbuf_free_bulk(to_kernel, kernel_count);
    }
  }
  return received;
}

uint32_t Worker::PollKernel() {
  if (!config_.tap_port_id) return 0;
  rte_mbuf* frames[kBurstSize];
  uint16_t count = rte_eth_rx_burst(*config_.tap_port_id, config_.queue_id, frames, kBurstSize);
  if (count == 0) return 0;
  LcoreCounters::Add(counters_.from_kernel, count);
  Send(config_.port_id, frames, count, net::DropReason::kTxQueueFull);
  return count;
}

void Worker::Send(uint16_t port_id, rte_mbuf** frames, uint16_t count, net::DropReason when_full) {
  if (count == 0) return;
  uint16_t sent = rte_eth_tx_burst(port_id, config_.queue_id, frames, count);
  if (port_id == config_.port_id) LcoreCounters::Add(counters_.tx_packets, sent);
  if (sent < count) {
    counters_.Drop(when_full, count - sent);
    rte_pktmbuf_free_bulk(frames + sent, count - sent);
  }
}

}  // namespace stampede::port
