// echo_bench: the dataplane worker's ARP, ICMP echo and IPv6 router
// advertisement reply rate on one core,
// over a kernel-free net_ring port pair, next to the raw port ceilings (net_null
// rx+tx, and net_ring rx+tx with no processing) measured in the same run.
//
// Everything runs on the main lcore. A generator fills the worker's rx ring and
// drains its tx ring between polls; only the worker's poll is timed (TSC), so
// the numbers are the dataplane's cost per packet, not the generator's.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/ndp.h"
#include "dataplane/net/packet.h"
#include "dataplane/policy/tables.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/port.h"
#include "dataplane/port/worker.h"
#include "perf/bench_setup.h"
#include "perf/frames.h"

ABSL_FLAG(uint64_t, packets, 10'000'000, "Packets per measurement");
ABSL_FLAG(std::string, json, "", "Also write the results as JSON to this file");

namespace stampede::perf {
namespace {

using net::ByteSpan;

struct Result {
  std::string name;
  uint64_t packets = 0;
  uint64_t cycles = 0;
  double CyclesPerPacket() const { return packets ? double(cycles) / double(packets) : 0; }
  double MppsPerCore() const {
    return cycles ? double(packets) * double(rte_get_tsc_hz()) / double(cycles) / 1e6 : 0;
  }
};

// Fills `port`'s peer side with bursts of `frame`, times `poll`, and drains
// what came back, until `total` packets went through the timed section.
Result Measure(const std::string& name, rte_mempool* pool, uint16_t generator_port,
               const std::vector<std::byte>& frame, uint64_t total,
               const std::function<uint32_t()>& poll, uint64_t& bad_replies,
               const std::function<bool(rte_mbuf*)>& reply_ok) {
  Result result{name};
  rte_mbuf* burst[kBurst];
  uint64_t idle_polls = 0;
  while (result.packets < total && idle_polls < 1000) {
    if (rte_pktmbuf_alloc_bulk(pool, burst, kBurst) == 0) {
      for (rte_mbuf* m : burst) {
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                    frame.size());
      }
      uint16_t queued = rte_eth_tx_burst(generator_port, 0, burst, kBurst);
      if (queued < kBurst) rte_pktmbuf_free_bulk(burst + queued, kBurst - queued);
    }
    uint64_t start = rte_rdtsc_precise();
    uint32_t moved = poll();
    result.cycles += rte_rdtsc_precise() - start;
    result.packets += moved;
    idle_polls = moved == 0 ? idle_polls + 1 : 0;
    uint16_t back = rte_eth_rx_burst(generator_port, 0, burst, kBurst);
    for (uint16_t i = 0; i < back; ++i) bad_replies += reply_ok(burst[i]) ? 0 : 1;
    if (back > 0) rte_pktmbuf_free_bulk(burst, back);
  }
  return result;
}

// The raw ceiling of a port: rx burst straight into tx burst, nothing else.
Result MeasureForward(const std::string& name, uint16_t port_id, uint64_t total, rte_mempool* pool,
                      uint16_t generator_port, const std::vector<std::byte>& frame) {
  uint64_t ignored = 0;
  auto forward = [port_id]() -> uint32_t {
    rte_mbuf* burst[kBurst];
    uint16_t n = rte_eth_rx_burst(port_id, 0, burst, kBurst);
    uint16_t sent = rte_eth_tx_burst(port_id, 0, burst, n);
    if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
    return n;
  };
  if (generator_port == port_id) {  // net_null makes and eats its own packets
    Result result{name};
    while (result.packets < total) {
      uint64_t start = rte_rdtsc_precise();
      result.packets += forward();
      result.cycles += rte_rdtsc_precise() - start;
    }
    return result;
  }
  return Measure(name, pool, generator_port, frame, total, forward, ignored,
                 [](rte_mbuf*) { return true; });
}

int Main(int argc, char** argv) {
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (!InitBenchEal("echo_bench", {"--vdev", "net_null0,size=64"})) return 1;
  uint64_t total = absl::GetFlag(FLAGS_packets);
  std::optional<RingPair> pair = MakeRingPair("echo_bench", 1024);
  absl::StatusOr<uint16_t> null_port = port::FindPort("net_null0");
  if (!pair || !null_port.ok()) return 1;
  rte_mempool* pool = pair->pool;
  int worker_port = pair->worker_port, generator_port = pair->generator_port;
  port::QueueConfig queues{1, 1024, 1024, pool};
  if (absl::Status status = port::StartPort(*null_port, queues); !status.ok()) {
    std::fprintf(stderr, "echo_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }

  net::LocalAddresses local(kApplianceMac);
  local.AddIpv4({kApplianceIp, 24});
  port::LcoreCounters counters;
  port::Worker worker({uint16_t(worker_port), 0, std::nullopt, pool, false}, local, counters);
  uint16_t gen = uint16_t(generator_port);
  std::vector<std::byte> echo = IcmpEchoRequest(), arp = ArpRequest(), rs = RouterSolicitation();
  uint64_t bad_echo = 0, bad_arp = 0, bad_ra = 0;
  auto is_echo_reply = [](rte_mbuf* m) {
    net::ParseResult r =
        net::ParsePacket({rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)});
    return r.ok && r.packet.l4 == net::L4Kind::kIcmp && r.packet.icmp.type == net::kIcmpEchoReply;
  };
  auto is_arp_reply = [](rte_mbuf* m) {
    net::ParseResult r =
        net::ParsePacket({rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)});
    return r.ok && r.packet.l3 == net::L3Kind::kArp && r.packet.arp.operation == net::kArpOpReply;
  };
  auto is_router_advertisement = [](rte_mbuf* m) {
    net::ParseResult r =
        net::ParsePacket({rte_pktmbuf_mtod(m, const std::byte*), rte_pktmbuf_data_len(m)});
    return r.ok && r.packet.l4 == net::L4Kind::kIcmpv6 &&
           r.packet.icmp.type == net::kIcmpv6RouterAdvertisement;
  };
  auto poll = [&worker] { return worker.PollOnce(); };

  // The same worker as the dataplane runs it: reading the policy pointer each
  // poll and reporting an RCU quiescent state after it.
  size_t qsbr_size = rte_rcu_qsbr_get_memsize(1);
  auto* qsbr =
      static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
  rte_rcu_qsbr_init(qsbr, 1);
  rte_rcu_qsbr_thread_register(qsbr, 0);
  rte_rcu_qsbr_thread_online(qsbr, 0);
  policy::PolicyTables tables;
  tables.policy.set_ipv6_ra(true);  // the advertisement row's; the others never see IPv6
  std::atomic<const policy::PolicyTables*> current{&tables};
  port::LcoreCounters policy_counters;
  port::Worker policy_worker({uint16_t(worker_port), 0, std::nullopt, pool, false, &current, qsbr},
                             local, policy_counters);
  auto policy_poll = [&policy_worker] { return policy_worker.PollOnce(); };

  std::vector<Result> results;
  results.push_back(
      MeasureForward("null port rx+tx (ceiling)", *null_port, total, pool, *null_port, echo));
  results.push_back(
      MeasureForward("ring port rx+tx (ceiling)", uint16_t(worker_port), total, pool, gen, echo));
  results.push_back(
      Measure("dataplane ICMP echo reply", pool, gen, echo, total, poll, bad_echo, is_echo_reply));
  results.push_back(
      Measure("dataplane ARP reply", pool, gen, arp, total, poll, bad_arp, is_arp_reply));
  results.push_back(Measure("ICMP echo, policy + RCU", pool, gen, echo, total, policy_poll,
                            bad_echo, is_echo_reply));
  results.push_back(Measure("IPv6 RS -> RA, policy + RCU", pool, gen, rs, total, policy_poll,
                            bad_ra, is_router_advertisement));

  double ceiling = results[0].MppsPerCore();
  std::printf("\necho_bench: one core, TSC %.2f GHz, %lu packets per row\n", rte_get_tsc_hz() / 1e9,
              static_cast<unsigned long>(total));
  std::printf("%-28s %12s %12s %14s\n", "measurement", "Mpps/core", "cycles/pkt", "vs null port");
  std::string json = "{\"unit\":\"Mpps per core\",\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    double ratio = ceiling > 0 ? r.MppsPerCore() / ceiling : 0;
    std::printf("%-28s %12.2f %12.1f %13.2fx\n", r.name.c_str(), r.MppsPerCore(),
                r.CyclesPerPacket(), ratio);
    json += absl::StrFormat(
        "%s{\"name\":\"%s\",\"packets\":%u,\"mpps\":%.3f,\"cycles_per_packet\":"
        "%.2f,\"ratio_to_null\":%.3f}",
        i ? "," : "", r.name, r.packets, r.MppsPerCore(), r.CyclesPerPacket(), ratio);
  }
  json += "]}";
  std::printf("replies checked: %lu echo, %lu arp, %lu router advertisements wrong\n",
              static_cast<unsigned long>(bad_echo), static_cast<unsigned long>(bad_arp),
              static_cast<unsigned long>(bad_ra));
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) std::ofstream(path) << json;

  bool complete = true;
  for (const Result& r : results) complete = complete && r.packets >= total;
  uint64_t replies = counters.icmp_echo_replies.load() + counters.arp_replies.load();
  uint64_t policy_replies = policy_counters.icmp_echo_replies.load();
  uint64_t advertisements = policy_counters.router_advertisements.load();
  for (uint16_t id : {uint16_t(worker_port), gen, *null_port}) port::ClosePort(id);
  rte_rcu_qsbr_thread_offline(qsbr, 0);
  rte_free(qsbr);
  rte_eal_cleanup();
  // Not a threshold: the run fails only if the worker stopped answering or
  // answered wrongly, which would make the numbers meaningless.
  if (!complete || bad_echo + bad_arp + bad_ra > 0 || replies < 2 * total ||
      policy_replies < total || advertisements < total) {
    std::fprintf(stderr, "echo_bench: the worker did not answer every request\n");
    return 1;
  }
  (void)rest;
  return 0;
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) { return stampede::perf::Main(argc, argv); }
