// The DHCP server's counters: written by the DHCP worker only (relaxed load
// + store, no locked instruction), read by telemetry (/stampede/dhcp) and by
// control through the status region (dataplane/policy/status_region.h).
#pragma once

#include <atomic>
#include <cstdint>

namespace stampede::dhcp {

#define STAMPEDE_DHCP_COUNTERS(X)                                              \
  X(discovers)                                                                 \
  X(requests)                                                                  \
  X(declines)                                                                  \
  X(releases)                                                                  \
  X(informs)                                                                   \
  X(offers)                                                                    \
  X(acks)                                                                      \
  X(naks)                                                                      \
  X(boot_replies) /* replies carrying a boot file or script */                 \
  X(proxy_offers)                                                              \
  X(pool_exhausted)                                                            \
  X(rate_limited)                                                              \
  X(no_subnet)                                                                 \
  X(other_server)          /* REQUESTs selecting another server */             \
  X(ignored)               /* BOOTP, unknown types, not ours to answer */      \
  X(options_dropped)       /* options that did not fit the client's size */    \
  X(unknown_clients)       /* no host entry, on a known_clients_only subnet */ \
  X(client_directory_full) /* ACKs whose profile the client directory had no room for */

// A cache line of its own (the status region lays the lcores' blocks after
// it, and the DHCP worker writes it while others write theirs).
struct alignas(64) DhcpCounters {
#define STAMPEDE_DHCP_FIELD(name) std::atomic<uint64_t> name{0};
  STAMPEDE_DHCP_COUNTERS(STAMPEDE_DHCP_FIELD)
#undef STAMPEDE_DHCP_FIELD
  static void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace stampede::dhcp
