#include "dataplane/port/worker.h"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <sys/prctl.h>
#include <time.h>

#include "dataplane/dhcp/endpoint.h"
#include "dataplane/dhcp/journal_writer.h"
#include "dataplane/dhcp/lease_event.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/port/kernel_gso.h"
#include "dataplane/port/options.h"
#include "dataplane/port/port.h"
#include "dataplane/port/tftp_engine.h"

namespace stampede::port {
namespace {

// Frames the exception path sends the wire at once: a few big kernel frames'
// segments (an af_packet TX ring can be as small as the driver's 512 frames).
constexpr uint16_t kWireBurst = 2 * net::kMaxSegmentsPerFrame;
// What one poll sends the wire for the kernel, about: a big kernel frame is
// some 45 of the wire's, and the wire answers about one acknowledgment per
// two. Read a few kernel frames at a time until this is spent, so that what
// comes back fits in what a poll drains from the port (kPortBurstsPerPoll
// bursts) and in the port's rx ring (af_packet's: 512 frames at the least).
constexpr uint32_t kWireBudget = 4 * kBurstSize;
constexpr uint16_t kKernelChunk = 4;
// Bursts a poll takes from the port while they come full.
constexpr uint32_t kPortBurstsPerPoll = 4;

net::ByteSpan FrameOf(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

// The frame and the room after it in its (single) segment, for a reply
// longer than the request.
net::ByteSpan RoomOf(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, std::byte*),
          size_t{rte_pktmbuf_data_len(m)} + rte_pktmbuf_tailroom(m)};
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
      tsc_per_ms_(std::max<uint64_t>(1, rte_get_tsc_hz() / 1000)) {
  if (config.tap_port_id) {
    exception_.emplace(
        ExceptionPathFor(config.port_id, *config.tap_port_id, config.queue_id, config.pool,
                         config.kernel_gso != nullptr, config.kernel_redirect),
        counters_);
  }
  // Lease times are wall-clock (they outlive the process in the journal);
  // the loop reads the TSC and adds it to this base.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tsc_base_ = rte_rdtsc();
  unix_base_ms_ =
      static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

void Worker::ReportLease(const HeldAck& change) {
  if (config_.events == nullptr) return;
  std::byte event[dhcp::kMaxLeaseEventBytes];
  dhcp::LeaseBoot boot{change.boot_profile, change.client_arch};
  size_t n = dhcp::EncodeLeaseEvent(now_ms_ * 1'000'000, change.change, change.address,
                                    change.client, change.expires_unix_ms, event, boot);
  config_.events->Push({event, n}, policy::EventRing::kDhcp);  // a full ring counts, never waits
}

void Worker::ReportProxy(const dhcp::Decision& d) {
  if (config_.events == nullptr) return;
  std::byte event[dhcp::kMaxLeaseEventBytes];
  size_t n = dhcp::EncodeProxyBootEvent(now_ms_ * 1'000'000, d.proxy, d.lease.address,
                                        d.lease.client, event, {d.boot_profile, d.client_arch});
  config_.events->Push({event, n}, policy::EventRing::kDhcp);
}

Worker::~Worker() {
  for (; held_count_ > 0; --held_count_) {
    if (held_[held_head_].m != nullptr) rte_pktmbuf_free(held_[held_head_].m);
    held_head_ = (held_head_ + 1) % kPendingAcks;
  }
}

uint64_t Worker::NowUnixMs() const {
  return unix_base_ms_ + (rte_rdtsc() - tsc_base_) / tsc_per_ms_;
}

void Worker::Run(const std::atomic<bool>& stop) {
  if (config_.qsbr != nullptr) {
    rte_rcu_qsbr_thread_register(config_.qsbr, config_.queue_id);
    rte_rcu_qsbr_thread_online(config_.qsbr, config_.queue_id);
  }
  if (config_.idle_sleep_us == 0) {
    while (!stop.load(std::memory_order_relaxed)) PollOnce();
  } else {
    RunWithIdleSleep(stop);
  }
  if (config_.qsbr != nullptr) {
    rte_rcu_qsbr_thread_offline(config_.qsbr, config_.queue_id);
    rte_rcu_qsbr_thread_unregister(config_.qsbr, config_.queue_id);
  }
}

void Worker::RunWithIdleSleep(const std::atomic<bool>& stop) {
  // The kernel's default slack (50 us) would stretch every sleep by up to
  // that; the sleep asked for is what the operator chose.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  uint32_t idle_polls = 0, sleep_us = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (PollOnce() != 0) {
      idle_polls = 0;
      sleep_us = 0;
      continue;
    }
    if (++idle_polls < kIdlePollsBeforeSleep) continue;
    sleep_us = NextIdleSleepUs(sleep_us, config_.idle_sleep_us);
    const timespec pause{0, static_cast<long>(sleep_us) * 1000};
    nanosleep(&pause, nullptr);  // EINTR: the loop polls again, as it would
    LcoreCounters::Add(counters_.idle_sleeps, 1);
  }
}

uint32_t Worker::PollOnce() {
  if (!announced_) Announce();
  // The clock for this poll: one TSC read and division, not one per request.
  now_ms_ = NowUnixMs();
  if (config_.policy != nullptr) {
    policy_ = config_.policy->load(std::memory_order_acquire);
    responder_.SetBootServices(policy_ != nullptr);
    responder_.SetRouterAdvertisements(policy_ != nullptr && policy_->policy.ipv6_ra());
    if (policy_ != nullptr && config_.dhcp != nullptr && policy_->generation != reserved_for_) {
      // Once per policy, before its clients come: the lease table's room.
      reserved_for_ = policy_->generation;
      config_.dhcp->server().ReserveFor(*policy_);
    }
  }
  if (config_.rx_loss != nullptr && now_ms_ >= next_rx_loss_ms_) {
    next_rx_loss_ms_ = now_ms_ + kRxLossPeriodMs;
    if (uint64_t lost = config_.rx_loss->TakeNew(); lost > 0) {
      counters_.Drop(net::DropReason::kRxRingFull, lost);
    }
  }
  // What waited goes before this poll's frames, TFTP's included.
  if (!tx_backlog_.empty()) tx_backlog_.Flush(config_.port_id, config_.queue_id, &counters_);
  uint32_t moved = PollPort() + PollKernel() + PollDhcp() + PollTftp();
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
  uint32_t moved = 0;
  for (uint32_t burst = 0; burst < kPortBurstsPerPoll; ++burst) {
    uint16_t received = PollPortBurst();
    moved += received;
    if (received < kBurstSize) break;
  }
  return moved;
}

// A burst's DHCP requests (untagged IPv4, UDP to port 67) start loading
// their senders' rate buckets before the first is handled: one cache miss
// each otherwise, one after the other.
void Worker::PrefetchDhcp(rte_mbuf* const* frames, uint16_t count) {
  for (uint16_t i = 0; i < count; ++i) {
    const auto* d = rte_pktmbuf_mtod(frames[i], const uint8_t*);
    uint32_t length = rte_pktmbuf_data_len(frames[i]);
    if (length < 14 + 20 + 8 + dhcp::kFixedSize || d[12] != 0x08 || d[13] != 0x00 || d[23] != 17) {
      continue;
    }
    uint32_t udp = 14 + uint32_t{d[14] & 0x0fu} * 4;
    if (udp + 8 + dhcp::kFixedSize > length || d[udp + 2] != 0 || d[udp + 3] != 67) continue;
    const uint8_t* chaddr = d + udp + 8 + 28;
    uint64_t mac = 0;
    for (int b = 0; b < 6; ++b) mac = mac << 8 | chaddr[b];
    config_.dhcp->server().PrefetchRateBucket(mac);
  }
}

void Worker::CountAnswer(net::Answer answer) {
  switch (answer) {
    case net::Answer::kArpReply:
      LcoreCounters::Add(counters_.arp_replies, 1);
      break;
    case net::Answer::kIcmpEchoReply:
      LcoreCounters::Add(counters_.icmp_echo_replies, 1);
      break;
    case net::Answer::kRouterAdvertisement:
      LcoreCounters::Add(counters_.router_advertisements, 1);
      break;
    case net::Answer::kNone:
      break;
  }
}

uint16_t Worker::PollPortBurst() {
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
  if (config_.dhcp != nullptr) PrefetchDhcp(rx, received);
  for (uint16_t i = 0; i < received; ++i) {
    if (i + 1 < received) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
    rte_mbuf* m = rx[i];
    // Only the first segment is parsed; chained jumbo frames are never ours to answer.
    if (m->nb_segs > 1) {
      to_kernel[kernel_count++] = m;
      continue;
    }
    net::Decision decision = responder_.Handle(RoomOf(m), rte_pktmbuf_data_len(m), now);
    switch (decision.verdict) {
      case net::Verdict::kTransmit:
        m->data_len = static_cast<uint16_t>(decision.length);
        m->pkt_len = static_cast<uint32_t>(decision.length);
        replies[reply_count++] = m;
        CountAnswer(decision.answer);
        break;
      case net::Verdict::kException:
        to_kernel[kernel_count++] = m;
        break;
      case net::Verdict::kDrop:
        dropped[drop_count++] = m;
        counters_.Drop(decision.drop);
        break;
      case net::Verdict::kTftp:
        RouteTftp(m, responder_.last_packet());
        break;
      case net::Verdict::kDhcp:
        if (config_.dhcp == nullptr) {
          to_dhcp[dhcp_count++] = m;
        } else {
          switch (HandleDhcp(m, responder_.last_packet())) {
            case DhcpOutcome::kSend:
              replies[reply_count++] = m;
              break;
            case DhcpOutcome::kHeld:
              break;
            case DhcpOutcome::kDone:
              dropped[drop_count++] = m;
              break;  // counted by the server
          }
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
      exception_->FromWire(to_kernel, kernel_count);
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
  if (exception_->active()) return PollKernelSegmenting();
  rte_mbuf* frames[kBurstSize];
  uint16_t count = rte_eth_rx_burst(*config_.tap_port_id, config_.queue_id, frames, kBurstSize);
  if (count == 0) return 0;
  LcoreCounters::Add(counters_.from_kernel, count);
  Send(config_.port_id, frames, count, net::DropReason::kTxQueueFull);
  return count;
}

uint32_t Worker::PollKernelSegmenting() {
  rte_mbuf* wire[kWireBurst];
  uint16_t pending = 0;
  uint32_t read = 0, sent = 0;
  while (read < kBurstSize && sent < kWireBudget) {
    rte_mbuf* frames[kKernelChunk];
    uint16_t count = rte_eth_rx_burst(*config_.tap_port_id, config_.queue_id, frames, kKernelChunk);
    read += count;
    for (uint16_t i = 0; i < count; ++i) {
      if (pending > kWireBurst - net::kMaxSegmentsPerFrame) {
        SendToWire(wire, pending);
        pending = 0;
      }
      uint16_t out = exception_->ToWire(frames[i], wire + pending);
      pending += out;
      sent += out;
    }
    if (count < kKernelChunk) break;
  }
  LcoreCounters::Add(counters_.from_kernel, read);
  SendToWire(wire, pending);
  return read;
}

void Worker::SendToWire(rte_mbuf** frames, uint16_t count) {
  if (config_.kernel_gso == nullptr) {
    Send(config_.port_id, frames, count, net::DropReason::kTxQueueFull);
    return;
  }
  // Runs of frames alike, in order: a flow's small segments (its last, an
  // ACK) must not overtake its big ones.
  uint16_t start = 0;
  while (start < count) {
    bool whole = (frames[start]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
    uint16_t end = start + 1;
    while (end < count && ((frames[end]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) == whole) ++end;
    uint16_t run = end - start;
    if (!whole) {
      Send(config_.port_id, frames + start, run, net::DropReason::kTxQueueFull);
    } else {
      uint16_t sent = config_.kernel_gso->Send(frames + start, run);
      LcoreCounters::Add(counters_.kernel_gso_frames, sent);
      if (sent < run) {
        counters_.Drop(net::DropReason::kKernelGsoRefused, run - sent);
        rte_pktmbuf_free_bulk(frames + start + sent, run - sent);
      }
    }
    start = end;
  }
}

uint32_t Worker::PollDhcp() {
  if (config_.dhcp == nullptr) return 0;
  config_.dhcp->server().Expire(now_ms_, kBurstSize);
  if (config_.journal != nullptr) {
    config_.journal->Reap();
    ReleaseAcks();
    config_.journal->Submit();
  }
  if (config_.dhcp_ring == nullptr) return 0;
  rte_mbuf* frames[kBurstSize];
  unsigned count = rte_ring_dequeue_burst(config_.dhcp_ring, reinterpret_cast<void**>(frames),
                                          kBurstSize, nullptr);
  if (count == 0) return 0;
  PrefetchDhcp(frames, static_cast<uint16_t>(count));
  rte_mbuf* replies[kBurstSize];
  uint16_t reply_count = 0;
  for (unsigned i = 0; i < count; ++i) {
    rte_mbuf* m = frames[i];
    net::ParsePacketInto(FrameOf(m), handoff_parse_);
    // Parsed and checked once already by the worker that received it.
    DhcpOutcome outcome =
        handoff_parse_.ok ? HandleDhcp(m, handoff_parse_.packet) : DhcpOutcome::kDone;
    if (outcome == DhcpOutcome::kSend) replies[reply_count++] = m;
    if (outcome == DhcpOutcome::kDone) rte_pktmbuf_free(m);
  }
  Send(config_.port_id, replies, reply_count, net::DropReason::kTxQueueFull);
  return count;
}

void Worker::RouteTftp(rte_mbuf* m, const net::ParsedPacket& p) {
  uint16_t port = p.udp.destination_port;
  if (policy_ == nullptr || config_.tftp == nullptr) {
    counters_.Drop(net::DropReason::kNoPolicy);
    rte_pktmbuf_free(m);
    return;
  }
  // A request starts a session here; a session's packets go to its owner.
  uint16_t owner = port == net::kTftpPort ? config_.queue_id : TftpPortOwner(port, config_.workers);
  if (owner == config_.queue_id) {
    config_.tftp->Handle(m, p, *policy_, now_ms_);
    return;
  }
  if (config_.tftp_rings == nullptr || rte_ring_enqueue(config_.tftp_rings[owner], m) != 0) {
    counters_.Drop(net::DropReason::kTftpQueueFull);
    rte_pktmbuf_free(m);
  }
}

uint32_t Worker::PollTftp() {
  if (config_.tftp == nullptr) return 0;
  unsigned count = 0;
  if (config_.tftp_rings != nullptr && config_.workers > 1) {
    rte_mbuf* frames[kBurstSize];
    count = rte_ring_dequeue_burst(config_.tftp_rings[config_.queue_id],
                                   reinterpret_cast<void**>(frames), kBurstSize, nullptr);
    for (unsigned i = 0; i < count; ++i) {
      net::ParsePacketInto(FrameOf(frames[i]), handoff_parse_);
      if (handoff_parse_.ok && policy_ != nullptr) {
        config_.tftp->Handle(frames[i], handoff_parse_.packet, *policy_, now_ms_);
      } else {
        counters_.Drop(net::DropReason::kNoPolicy);
        rte_pktmbuf_free(frames[i]);
      }
    }
  }
  config_.tftp->Poll(now_ms_);
  return count;
}

void Worker::ForgetNextBoot(uint64_t host) {
  if (host != 0) config_.dhcp->server().next_boot_used().erase(host);
}

void Worker::ReleaseAcks() {
  rte_mbuf* ready[kBurstSize];
  uint16_t count = 0;
  uint64_t settled = config_.journal->settled(), durable = config_.journal->durable();
  while (held_count_ > 0 && held_[held_head_].batch <= settled) {
    HeldAck ack = held_[held_head_];
    held_head_ = (held_head_ + 1) % kPendingAcks;
    --held_count_;
    if (ack.batch <= durable) {
      if (ack.change != dhcp::LeaseChange::kNone) ReportLease(ack);
      if (ack.m == nullptr) continue;  // a release or decline: nothing to send
      ready[count++] = ack.m;
      if (count == kBurstSize) {
        Send(config_.port_id, ready, count, net::DropReason::kTxQueueFull);
        count = 0;
      }
    } else if (ack.m != nullptr) {
      // Never promise what the disk did not keep: the client asks again
      // (and gets its one-shot next boot again).
      counters_.Drop(net::DropReason::kJournalFailed);
      ForgetNextBoot(ack.next_boot_host);
      rte_pktmbuf_free(ack.m);
    }
  }
  Send(config_.port_id, ready, count, net::DropReason::kTxQueueFull);
}

Worker::DhcpOutcome Worker::HandleDhcp(rte_mbuf* m, const net::ParsedPacket& p) {
  // Boot services run only with a policy; the responder checked, but a frame
  // handed over may have waited in the ring across a policy change.
  if (policy_ == nullptr) {
    counters_.Drop(net::DropReason::kNoPolicy);
    return DhcpOutcome::kDone;
  }
  LcoreCounters::Add(counters_.dhcp_requests, 1);
  // The whole data room of this single-segment mbuf: the reply may be longer.
  net::ByteSpan room(rte_pktmbuf_mtod(m, std::byte*), m->buf_len - m->data_off);
  dhcp::EndpointResult r = config_.dhcp->Handle(room, p, *policy_, now_ms_);
  if (r.malformed) {
    counters_.Drop(net::DropReason::kDhcpMalformed);
    return DhcpOutcome::kDone;
  }
  uint64_t batch = 0;
  const dhcp::Decision& d = r.decision;
  if (d.exhausted_subnet != 0 && config_.events != nullptr) {
    // At most one event a second per worker: a storm against a full pool
    // must not flood the ring (the counter has every occurrence).
    uint64_t now = now_ms_;
    if (now - last_exhausted_event_ms_ >= 1000) {
      last_exhausted_event_ms_ = now;
      std::byte event[dhcp::kMaxLeaseEventBytes];
      size_t n = dhcp::EncodePoolExhaustedEvent(now * 1'000'000, d.exhausted_subnet,
                                                d.exhausted_prefix, event);
      config_.events->Push({event, n}, policy::EventRing::kDhcp);
    }
  }
  if (d.proxy != dhcp::ProxyStep::kNone) ReportProxy(d);
  bool lease = d.change != dhcp::LeaseChange::kNone;
  if ((lease || d.next_boot_host != 0) && config_.journal != nullptr) {
    if (lease) {
      batch =
          config_.journal->Append({d.change, d.lease.address, d.lease.expires_ms, d.lease.client});
    }
    // The one-shot next boot this ACK carries is used up with the lease:
    // same batch, same durability. A proxyDHCP ACK (on 4011) has no lease,
    // but its next boot waits for the journal all the same.
    if ((batch != 0 || !lease) && d.next_boot_host != 0) {
      uint64_t next_boot_batch = config_.journal->Append(
          {dhcp::LeaseChange::kNextBootUsed, d.next_boot_profile, d.next_boot_host, {}});
      batch = next_boot_batch == 0 ? 0 : std::max(batch, next_boot_batch);
    }
    if (batch == 0) {
      counters_.Drop(net::DropReason::kJournalBacklog);
      ForgetNextBoot(d.next_boot_host);
      return DhcpOutcome::kDone;
    }
  }
  HeldAck change{r.send ? m : nullptr, batch,          d.change,         d.lease.address,
                 d.lease.expires_ms,   d.lease.client, d.next_boot_host, d.boot_profile,
                 d.client_arch};
  if (r.send) {
    m->data_len = static_cast<uint16_t>(r.length);
    m->pkt_len = static_cast<uint32_t>(r.length);
    LcoreCounters::Add(counters_.dhcp_replies, 1);
  }
  if (batch == 0) {
    // No journal: nothing to wait for.
    if (lease) ReportLease(change);
    return r.send ? DhcpOutcome::kSend : DhcpOutcome::kDone;
  }
  if (held_count_ == kPendingAcks) {
    counters_.Drop(net::DropReason::kJournalBacklog);
    ForgetNextBoot(d.next_boot_host);
    return DhcpOutcome::kDone;
  }
  held_[(held_head_ + held_count_) % kPendingAcks] = change;
  ++held_count_;
  return r.send ? DhcpOutcome::kHeld : DhcpOutcome::kDone;
}

void Worker::Send(uint16_t port_id, rte_mbuf** frames, uint16_t count, net::DropReason when_full) {
  if (count == 0) return;
  if (port_id != config_.port_id) {
    uint16_t sent = rte_eth_tx_burst(port_id, config_.queue_id, frames, count);
    if (sent < count) {
      counters_.Drop(when_full, count - sent);
      rte_pktmbuf_free_bulk(frames + sent, count - sent);
    }
    return;
  }
  if (uint32_t dropped = tx_backlog_.Send(port_id, config_.queue_id, frames, count, &counters_);
      dropped > 0) {
    counters_.Drop(when_full, dropped);
  }
}

}  // namespace stampede::port
