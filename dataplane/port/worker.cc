#include "dataplane/port/worker.h"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/dhcp/endpoint.h"

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
      announced_(!config.announce),
      tsc_per_ms_(std::max<uint64_t>(1, rte_get_tsc_hz() / 1000)) {}

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
  uint32_t moved = PollPort() + PollKernel() + PollDhcp();
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
  rte_mbuf* to_dhcp[kBurstSize];
  uint16_t reply_count = 0, kernel_count = 0, drop_count = 0, dhcp_count = 0;
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
      case net::Verdict::kDhcp:
        if (config_.dhcp == nullptr) {
          to_dhcp[dhcp_count++] = m;
        } else if (HandleDhcp(m, responder_.last_packet())) {
          replies[reply_count++] = m;
        } else {
          dropped[drop_count++] = m;  // answered nothing (counted by the server)
        }
        break;
    }
  }
  if (dhcp_count > 0) {
    unsigned queued =
        config_.dhcp_ring == nullptr
            ? 0
            : rte_ring_enqueue_burst(config_.dhcp_ring, reinterpret_cast<void**>(to_dhcp),
                                     dhcp_count, nullptr);
    if (queued < dhcp_count) {
      counters_.Drop(net::DropReason::kDhcpQueueFull, dhcp_count - queued);
      rte_pktmbuf_free_bulk(to_dhcp + queued, dhcp_count - queued);
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

uint32_t Worker::PollDhcp() {
  if (config_.dhcp == nullptr) return 0;
  uint64_t now_ms = rte_rdtsc() / tsc_per_ms_;
  config_.dhcp->server().Expire(now_ms, kBurstSize);
  if (config_.dhcp_ring == nullptr) return 0;
  rte_mbuf* frames[kBurstSize];
  unsigned count = rte_ring_dequeue_burst(config_.dhcp_ring, reinterpret_cast<void**>(frames),
                                          kBurstSize, nullptr);
  if (count == 0) return 0;
  rte_mbuf* replies[kBurstSize];
  uint16_t reply_count = 0;
  for (unsigned i = 0; i < count; ++i) {
    rte_mbuf* m = frames[i];
    net::ParsePacketInto(FrameOf(m), handoff_parse_);
    // Parsed and checked once already by the worker that received it.
    if (handoff_parse_.ok && HandleDhcp(m, handoff_parse_.packet)) {
      replies[reply_count++] = m;
    } else {
      rte_pktmbuf_free(m);
    }
  }
  Send(config_.port_id, replies, reply_count, net::DropReason::kTxQueueFull);
  return count;
}

bool Worker::HandleDhcp(rte_mbuf* m, const net::ParsedPacket& p) {
  // Boot services run only with a policy; the responder checked, but a frame
  // handed over may have waited in the ring across a policy change.
  if (policy_ == nullptr) {
    counters_.Drop(net::DropReason::kNoPolicy);
    return false;
  }
  LcoreCounters::Add(counters_.dhcp_requests, 1);
  // The whole data room of this single-segment mbuf: the reply may be longer.
  net::ByteSpan room(rte_pktmbuf_mtod(m, std::byte*), m->buf_len - m->data_off);
  dhcp::EndpointResult r = config_.dhcp->Handle(room, p, *policy_, rte_rdtsc() / tsc_per_ms_);
  if (r.malformed) {
    counters_.Drop(net::DropReason::kDhcpMalformed);
    return false;
  }
  if (!r.send) return false;
  m->data_len = static_cast<uint16_t>(r.length);
  m->pkt_len = static_cast<uint32_t>(r.length);
  LcoreCounters::Add(counters_.dhcp_replies, 1);
  return true;
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
