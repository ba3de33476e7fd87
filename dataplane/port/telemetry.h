// The dataplane's commands on DPDK's telemetry socket:
//   /stampede/stats            counters summed over all workers
//   /stampede/lcore_stats,<n>  counters of worker n
//   /stampede/info             port, addresses, workers, pool
//   /stampede/dhcp             the DHCP server's counters
//   /stampede/tftp             TFTP counters summed over workers
//   /stampede/http             the HTTP server's counters
// (query with dpdk-telemetry.py or any client of the v2 socket).
#pragma once

#include <span>
#include <string>

#include "dataplane/dhcp/server.h"
#include "dataplane/http/counters.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/tftp_engine.h"

namespace stampede::port {

struct TelemetryInfo {
  std::string port;
  std::string mac;
  std::string ipv4;  // comma-separated interface addresses
  std::string exception_iface;
  uint32_t workers = 0;
  uint32_t mbuf_pool_size = 0;
};

// Registers the commands; `counters` and `info` must outlive the process's EAL.
void RegisterTelemetry(std::span<const LcoreCounters> counters, const TelemetryInfo& info);

// Registers /stampede/dhcp; `counters` must outlive EAL.
void RegisterDhcpTelemetry(const dhcp::DhcpCounters& counters);

// Registers /stampede/tftp; `counters` (one per worker) must outlive EAL.
void RegisterTftpTelemetry(std::span<const TftpCounters> counters, uint64_t cache_bytes,
                           bool zero_copy);
// Before the counters go away: /stampede/tftp answers zeros from then on.
void ForgetTftpCounters();

// Registers /stampede/http; `counters` must outlive EAL or be forgotten
// first (null: HTTP is off). `mode` says how file bytes are sent ("read" or
// "splice").
void RegisterHttpTelemetry(const http::HttpCounters* counters, std::string mode);
void ForgetHttpCounters();

}  // namespace stampede::port
