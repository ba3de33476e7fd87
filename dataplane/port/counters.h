// Per-lcore packet counters. Each block is written by one worker only (plain
// relaxed load+store, no locked instructions) and read by telemetry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/net/drop_reason.h"

namespace stampede::port {

#define STAMPEDE_COUNTERS(X)                                            \
  X(rx_packets)                                                         \
  X(tx_packets)                                                         \
  X(arp_replies)                                                        \
  X(icmp_echo_replies)                                                  \
  X(router_advertisements) /* answers to IPv6 router solicitations */   \
  X(gratuitous_arps)                                                    \
  X(to_kernel)     /* frames handed to the exception path */            \
  X(from_kernel)   /* frames the kernel sent out through the port */    \
  X(dhcp_requests) /* DHCP/proxyDHCP requests handled on this lcore */  \
  X(dhcp_replies)                                                       \
  /* Big segments through the exception path (docs/dataplane.md): */    \
  X(tso_frames)        /* kernel TCP frames over the wire's MTU, cut */ \
  X(tso_segments)      /* what they became (or the NIC's TSO makes) */  \
  X(kernel_gso_frames) /* of tso_frames: sent whole, the kernel cuts */ \
  X(mss_raised)        /* peer SYNs: MSS raised to the TAP's */         \
  X(mss_clamped)       /* kernel SYNs: MSS clamped to the wire's */     \
  X(mss_malformed)     /* SYNs whose options do not parse: unchanged */ \
  X(ipv4_fragmented)   /* kernel datagrams (not TCP, DF clear) */       \
  X(ipv4_fragments)    /* the fragments they became */                  \
  X(frag_needed)       /* ICMP "fragmentation needed" to the kernel */  \
  X(idle_sleeps)       /* --idle_sleep_us: sleeps after idle polls */   \
  X(events_dropped)    /* TFTP transfer events its full ring refused */ \
  X(drops)

struct alignas(64) LcoreCounters {
#define STAMPEDE_COUNTER_FIELD(name) std::atomic<uint64_t> name{0};
  STAMPEDE_COUNTERS(STAMPEDE_COUNTER_FIELD)
#undef STAMPEDE_COUNTER_FIELD
  std::array<std::atomic<uint64_t>, net::kDropReasonCount> drop_reasons{};

  // Only the owning worker calls these.
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Drop(net::DropReason reason, uint64_t n = 1) {
    Add(drop_reasons[static_cast<size_t>(reason)], n);
    Add(drops, n);
  }
};

}  // namespace stampede::port
