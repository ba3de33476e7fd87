#include "dataplane/port/telemetry.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include <rte_telemetry.h>

#include "absl/strings/str_cat.h"

namespace stampede::port {
namespace {

std::span<const LcoreCounters> registered_counters;
TelemetryInfo registered_info;

struct Totals {
#define STAMPEDE_TOTAL_FIELD(name) uint64_t name = 0;
  STAMPEDE_COUNTERS(STAMPEDE_TOTAL_FIELD)
#undef STAMPEDE_TOTAL_FIELD
  uint64_t drop_reasons[net::kDropReasonCount] = {};

  void Add(const LcoreCounters& c) {
#define STAMPEDE_TOTAL_ADD(name) name += c.name.load(std::memory_order_relaxed);
    STAMPEDE_COUNTERS(STAMPEDE_TOTAL_ADD)
#undef STAMPEDE_TOTAL_ADD
    for (size_t i = 0; i < net::kDropReasonCount; ++i) {
      drop_reasons[i] += c.drop_reasons[i].load(std::memory_order_relaxed);
    }
  }

  void Write(rte_tel_data* d) const {
    rte_tel_data_start_dict(d);
#define STAMPEDE_TOTAL_WRITE(name) rte_tel_data_add_dict_u64(d, #name, name);
    STAMPEDE_COUNTERS(STAMPEDE_TOTAL_WRITE)
#undef STAMPEDE_TOTAL_WRITE
    for (size_t i = 0; i < net::kDropReasonCount; ++i) {
      std::string name = "drop_" + std::string(net::kDropReasonNames[i]);
      rte_tel_data_add_dict_u64(d, name.c_str(), drop_reasons[i]);
    }
  }
};

int Stats(const char*, const char*, rte_tel_data* d) {
  Totals totals;
  for (const LcoreCounters& c : registered_counters) totals.Add(c);
  totals.Write(d);
  return 0;
}

int LcoreStats(const char*, const char* params, rte_tel_data* d) {
  if (params == nullptr || *params == '\0') return -EINVAL;
  char* end = nullptr;
  unsigned long worker = std::strtoul(params, &end, 10);
  if (*end != '\0' || worker >= registered_counters.size()) return -EINVAL;
  Totals totals;
  totals.Add(registered_counters[worker]);
  totals.Write(d);
  return 0;
}

int Info(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "port", registered_info.port.c_str());
  rte_tel_data_add_dict_string(d, "mac", registered_info.mac.c_str());
  rte_tel_data_add_dict_string(d, "ipv4", registered_info.ipv4.c_str());
  rte_tel_data_add_dict_string(d, "exception_iface", registered_info.exception_iface.c_str());
  rte_tel_data_add_dict_u64(d, "workers", registered_info.workers);
  rte_tel_data_add_dict_u64(d, "mbuf_pool_size", registered_info.mbuf_pool_size);
  return 0;
}

const dhcp::DhcpCounters* dhcp_counters = nullptr;

int Dhcp(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
#define STAMPEDE_DHCP_WRITE(name) \
  rte_tel_data_add_dict_u64(d, #name, dhcp_counters->name.load(std::memory_order_relaxed));
  STAMPEDE_DHCP_COUNTERS(STAMPEDE_DHCP_WRITE)
#undef STAMPEDE_DHCP_WRITE
  return 0;
}

std::span<const TftpCounters> tftp_counters;
uint64_t tftp_cache_bytes = 0;
bool tftp_zero_copy = false;

int Tftp(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
#define STAMPEDE_TFTP_WRITE(name)                                                              \
  {                                                                                            \
    uint64_t sum = 0;                                                                          \
    for (const TftpCounters& c : tftp_counters) sum += c.name.load(std::memory_order_relaxed); \
    rte_tel_data_add_dict_u64(d, #name, sum);                                                  \
  }
  STAMPEDE_TFTP_COUNTERS(STAMPEDE_TFTP_WRITE)
  STAMPEDE_TFTP_WRITE(sessions_active)
  STAMPEDE_TFTP_WRITE(sessions_in_queue)
#undef STAMPEDE_TFTP_WRITE
  rte_tel_data_add_dict_u64(d, "cache_bytes", tftp_cache_bytes);
  rte_tel_data_add_dict_u64(d, "zero_copy", tftp_zero_copy ? 1 : 0);
  return 0;
}

std::atomic<const http::HttpCounters*> http_counters{nullptr};
std::string http_mode;

int Http(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  const http::HttpCounters* c = http_counters.load(std::memory_order_acquire);
  auto value = [](const std::atomic<uint64_t>* counter) {
    return counter == nullptr ? 0 : counter->load(std::memory_order_relaxed);
  };
#define STAMPEDE_HTTP_WRITE(name) \
  rte_tel_data_add_dict_u64(d, #name, value(c == nullptr ? nullptr : &c->name));
  STAMPEDE_HTTP_COUNTERS(STAMPEDE_HTTP_WRITE)
  STAMPEDE_HTTP_WRITE(connections_open)
  STAMPEDE_HTTP_WRITE(listening_port)
#undef STAMPEDE_HTTP_WRITE
  rte_tel_data_add_dict_string(d, "mode", c == nullptr ? "off" : http_mode.c_str());
  return 0;
}

}  // namespace

void RegisterHttpTelemetry(const http::HttpCounters* counters, std::string mode) {
  http_mode = std::move(mode);
  http_counters.store(counters, std::memory_order_release);
  rte_telemetry_register_cmd("/stampede/http", Http, "HTTP server counters. Takes no parameters");
}

void ForgetHttpCounters() { http_counters.store(nullptr, std::memory_order_release); }

void RegisterTftpTelemetry(std::span<const TftpCounters> counters, uint64_t cache_bytes,
                           bool zero_copy) {
  tftp_counters = counters;
  tftp_cache_bytes = cache_bytes;
  tftp_zero_copy = zero_copy;
  rte_telemetry_register_cmd("/stampede/tftp", Tftp,
                             "TFTP counters summed over workers. Takes no parameters");
}

void ForgetTftpCounters() { tftp_counters = {}; }

void RegisterDhcpTelemetry(const dhcp::DhcpCounters& counters) {
  dhcp_counters = &counters;
  rte_telemetry_register_cmd("/stampede/dhcp", Dhcp,
                             "DHCP server counters (offers, acks, naks...). Takes no parameters");
}

void RegisterTelemetry(std::span<const LcoreCounters> counters, const TelemetryInfo& info) {
  registered_counters = counters;
  registered_info = info;
  rte_telemetry_register_cmd("/stampede/stats", Stats,
                             "Dataplane counters summed over workers. Takes no parameters");
  rte_telemetry_register_cmd("/stampede/lcore_stats", LcoreStats,
                             "Counters of one worker. Parameters: int worker_index");
  rte_telemetry_register_cmd("/stampede/info", Info,
                             "Port, addresses and sizing of this dataplane. Takes no parameters");
}

}  // namespace stampede::port
