// dhcp_bench: full DORA exchanges per second on one core, through the real
// worker (parse, DHCP server, reply frame, lease journal with group commit)
// over a net_ring port pair, with a generator of ours playing thousands of
// distinct clients (no kernel, no perfdhcp in the way). Rows: leases kept in
// memory only, the journal on tmpfs (/dev/shm), the journal on disk: the
// first is the peer of the other two. (The net_ring port itself moves ~690
// Mpps per core, see echo_bench: it is not what limits these numbers.)
// Further rows on request (--rows): clients asking for options, and
// proxyDHCP (a BIOS PXE client's OFFER on 67 and ACK on 4011 count as one
// exchange), with and without its ProxyBoot events: proxy is the peer of
// proxy-events; client classes (memory is their peer).
//
// Reported per row: DORAs per second of worker CPU (cycles spent in the
// worker's poll loop, waiting for fdatasync included) and per second of
// wall time. Fails only when clients went unanswered.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "control/config/compile.h"
#include "dataplane/dhcp/endpoint.h"
#include "dataplane/dhcp/journal_writer.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/port/port.h"
#include "dataplane/port/worker.h"
#include "perf/bench_setup.h"

ABSL_FLAG(uint32_t, clients, 100'000, "Distinct clients (one DORA each) per row");
ABSL_FLAG(uint32_t, window, 512, "Clients in flight at once");
ABSL_FLAG(std::string, disk_dir, "/var/tmp", "Where the on-disk journal row writes");
ABSL_FLAG(std::vector<std::string>, rows, std::vector<std::string>({"memory", "tmpfs", "disk"}),
          "Which rows to run: memory, tmpfs, disk (one alone, e.g. to profile it); asking "
          "(in memory, clients send dhclient's option 55, nothing configured), options (the "
          "same with five options configured, docs/dhcp.md#options); proxy (proxyDHCP: BIOS PXE "
          "clients' DISCOVER -> OFFER of boot fields, then their boot-server REQUEST on UDP "
          "4011 -> ACK: one exchange each), proxy-events (the same, each answer reported as a "
          "ProxyBoot event into a status region, drained between polls), classes (in memory, "
          "16 client classes tested per request, the last matching with an option and "
          "owning the pool)");
ABSL_FLAG(uint32_t, rounds, 1, "Runs of each row, in turn; the median is reported");

namespace stampede::perf {
namespace {

using net::ByteSpan;

constexpr char kConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/15]}
dhcp:
  lease_time: 1h
  subnets: [{subnet: 198.18.0.0/15, pools: [{first: 198.18.1.0, last: 198.19.255.250}]}]
limits: {dhcp_rate_per_mac: 0}
)";
// The "options" row's additions: what a site typically sets.
constexpr char kOptions[] = R"(
  options:
    - {name: ntp-servers, data: "198.18.0.123, 198.18.0.124"}
    - {name: time-offset, data: 3600}
    - {name: domain-search, data: "lab.example, example"}
    - {name: interface-mtu, data: 9000}
    - {name: classless-static-route, data: "198.18.64.0/18 - 198.18.0.254"}
)";
// proxyDHCP beside a site's server: boot fields for BIOS PXE clients.
constexpr char kProxyConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/15]}
dhcp:
  mode: proxy
  subnets: [{subnet: 198.18.0.0/15, profile: p}]
profiles: [{name: p, boot_files: {bios: pxelinux.0}}]
limits: {dhcp_rate_per_mac: 0}
)";
// The "classes" row's additions: 16 client classes, each request tested
// against all of them; the last (every client's MAC prefix) matches and
// sends an option (64 bytes: the ACK grows past BOOTP's 300-byte minimum,
// which shows the match in the ACK bytes column); the pool is that class's
// alone (docs/dhcp.md#pools-for-classes), so every address is chosen past
// a pool's class test.
std::string Classes() {
  std::string text = "  classes:\n";
  for (int i = 0; i < 15; ++i) {
    absl::StrAppend(&text, "    - {name: c", i, ", mac: [\"0c:c4:", absl::Hex(i, absl::kZeroPad2),
                    ":*\"], vendor_class: [PXEClient], arch: [bios, efi_x64]}\n");
  }
  absl::StrAppend(&text,
                  "    - {name: all, mac: [\"02:01:*\"], options: [{code: 224, type: string, "
                  "always_send: true, data: ",
                  std::string(64, 'x'), "}]}\n");
  return text;
}
// A BIOS PXE ROM's option 60, as SeaBIOS's iPXE sends it.
constexpr char kPxeVendorClass[] = "PXEClient:Arch:00000:UNDI:002001";
// Debian's dhclient.conf asks for these (option 55).
constexpr uint8_t kParameterList[] = {1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42};

net::MacAddress ClientMac(uint32_t i) {
  return {{0x02, 0x01, uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)}};
}

uint32_t ClientAddress(uint32_t i) { return 0xc6120100 + i % 0x1fe00; }  // 198.18.1.0/15

// An Ethernet/IPv4/UDP broadcast DHCP request from client `i` into `m`. A
// `pxe` client sends options 93 and 60; its REQUEST goes to the boot server
// port (4011) from its address, unicast, with no server id.
void BuildRequest(rte_mbuf* m, uint32_t i, uint8_t type, uint32_t requested, bool ask,
                  bool pxe = false) {
  bool boot_server = pxe && type == 3;
  size_t options = 3 + (type == 3 && !boot_server ? 12 : 0) +
                   (ask ? 2 + sizeof(kParameterList) : 0) +
                   (pxe ? 4 + 2 + sizeof(kPxeVendorClass) - 1 : 0) + 1;
  size_t dhcp = dhcp::kOptionsOffset + options;
  size_t length = 14 + 20 + 8 + dhcp;
  auto* data = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(length)));
  ByteSpan f(data, length);
  std::memset(data, 0, length);
  (boot_server ? kApplianceMac : net::MacAddress::Broadcast()).Store(f, 0);
  ClientMac(i).Store(f, 6);
  net::Store16(f, 12, net::kEtherTypeIpv4);
  ByteSpan ip = f.subspan(14, 20);
  net::Store8(ip, 0, 0x45);
  net::Store16(ip, 2, static_cast<uint16_t>(20 + 8 + dhcp));
  net::Store8(ip, 8, 64);
  net::Store8(ip, 9, 17);
  if (boot_server) net::Store32(ip, 12, ClientAddress(i));
  net::Store32(ip, 16, boot_server ? kApplianceIp.value : 0xffffffff);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  ByteSpan udp = f.subspan(34);
  net::Store16(udp, 0, 68);
  net::Store16(udp, 2, boot_server ? dhcp::kBootServerPort : 67);
  net::Store16(udp, 4, static_cast<uint16_t>(8 + dhcp));  // checksum 0: none (RFC 768)
  ByteSpan d = udp.subspan(8);
  net::Store8(d, 0, 1);
  net::Store8(d, 1, 1);
  net::Store8(d, 2, 6);
  net::Store32(d, 4, i);
  net::Store16(d, 10, boot_server ? 0 : dhcp::kBroadcastFlag);
  if (boot_server) net::Store32(d, 12, ClientAddress(i));  // ciaddr
  ClientMac(i).Store(d, 28);
  net::Store32(d, dhcp::kFixedSize, dhcp::kMagicCookie);
  size_t at = dhcp::kOptionsOffset;
  net::Store8(d, at++, dhcp::option::kMessageType);
  net::Store8(d, at++, 1);
  net::Store8(d, at++, type);
  if (type == 3 && !boot_server) {
    net::Store8(d, at++, dhcp::option::kServerId);
    net::Store8(d, at++, 4);
    kApplianceIp.Store(d, at);
    at += 4;
    net::Store8(d, at++, dhcp::option::kRequestedAddress);
    net::Store8(d, at++, 4);
    net::Store32(d, at, requested);
    at += 4;
  }
  if (ask) {
    net::Store8(d, at++, dhcp::option::kParameterList);
    net::Store8(d, at++, sizeof(kParameterList));
    for (uint8_t code : kParameterList) net::Store8(d, at++, code);
  }
  if (pxe) {
    net::Store8(d, at++, dhcp::option::kClientArch);
    net::Store8(d, at++, 2);
    net::Store16(d, at, 0);  // BIOS
    at += 2;
    net::Store8(d, at++, dhcp::option::kVendorClass);
    net::Store8(d, at++, sizeof(kPxeVendorClass) - 1);
    for (size_t k = 0; k + 1 < sizeof(kPxeVendorClass); ++k) {
      net::Store8(d, at++, static_cast<uint8_t>(kPxeVendorClass[k]));
    }
  }
  net::Store8(d, at, dhcp::option::kEnd);
}

struct Row {
  std::string name;
  uint64_t doras = 0;
  uint64_t cycles = 0;
  uint64_t ack_bytes = 0;  // frame bytes of the ACKs: what the options add
  uint64_t events = 0;     // read back from the status region
  double wall_s = 0;
  double PerCpuSecond() const { return cycles ? double(doras) * rte_get_tsc_hz() / cycles : 0; }
  double PerWallSecond() const { return wall_s > 0 ? doras / wall_s : 0; }
};

// Runs `clients` DORAs (PXE clients' proxyDHCP exchanges when `pxe`)
// through a fresh worker; `journal_path` empty: none. With `status`, the
// worker reports its events there, read back between polls.
Row RunRow(const std::string& name, const std::string& journal_path, uint16_t worker_port,
           uint16_t generator_port, rte_mempool* pool, const policy::PolicyTables& tables,
           uint32_t first_client, bool ask, bool pxe, LocalStatus* status) {
  Row row{name};
  net::LocalAddresses local(kApplianceMac);
  local.AddIpv4({kApplianceIp, 15});
  dhcp::Endpoint endpoint(local);
  std::unique_ptr<dhcp::JournalWriter> journal;
  if (!journal_path.empty()) {
    std::filesystem::remove(journal_path);
    dhcp::JournalOpenStats stats;
    auto opened = dhcp::JournalWriter::Open(journal_path, 1'000, endpoint.server().leases(), stats);
    if (!opened.ok()) {
      std::fprintf(stderr, "dhcp_bench: %s\n", std::string(opened.status().message()).c_str());
      return row;
    }
    journal = *std::move(opened);
  }
  std::atomic<const policy::PolicyTables*> current{&tables};
  port::LcoreCounters counters;
  port::WorkerConfig config;
  config.port_id = worker_port;
  config.pool = pool;
  config.policy = &current;
  config.dhcp = &endpoint;
  config.journal = journal.get();
  config.events = status != nullptr ? &*status->writer : nullptr;
  port::Worker worker(config, local, counters);

  uint32_t clients = absl::GetFlag(FLAGS_clients), window = absl::GetFlag(FLAGS_window);
  uint32_t next = 0, in_flight = 0;
  uint64_t idle = 0;
  uint64_t start_wall = rte_rdtsc();
  rte_mbuf* burst[kBurst];
  while (row.doras < clients && idle < 20'000'000) {
    // New clients' DISCOVERs while the window has room.
    if (next < clients && in_flight + kBurst <= window &&
        rte_pktmbuf_alloc_bulk(pool, burst, kBurst) == 0) {
      uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(kBurst, clients - next));
      for (uint16_t i = 0; i < n; ++i) {
        BuildRequest(burst[i], first_client + next + i, 1, 0, ask, pxe);
      }
      rte_pktmbuf_free_bulk(burst + n, kBurst - n);
      uint16_t sent = rte_eth_tx_burst(generator_port, 0, burst, n);
      if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
      next += sent;
      in_flight += sent;
    }
    uint64_t t0 = rte_rdtsc_precise();
    uint32_t moved = worker.PollOnce();
    row.cycles += rte_rdtsc_precise() - t0;
    if (status != nullptr) {
      row.events += status->reader->PopEvents(policy::kEventSlots, policy::EventRing::kDhcp).size();
    }
    // Replies: OFFERs become REQUESTs, ACKs complete a DORA.
    uint16_t back = rte_eth_rx_burst(generator_port, 0, burst, kBurst);
    idle = (moved == 0 && back == 0) ? idle + 1 : 0;
    rte_mbuf* requests[kBurst];
    uint16_t request_count = 0;
    for (uint16_t i = 0; i < back; ++i) {
      rte_mbuf* m = burst[i];
      const std::byte* d = rte_pktmbuf_mtod_offset(m, const std::byte*, 42);
      uint8_t type = static_cast<uint8_t>(d[dhcp::kOptionsOffset + 2]);  // option 53 first
      uint32_t xid = net::Load32({d, 8}, 4);
      if (type == 2) {
        uint32_t yiaddr = net::Load32({d + 16, 4}, 0);
        rte_pktmbuf_reset(m);
        BuildRequest(m, xid, 3, yiaddr, ask, pxe);
        requests[request_count++] = m;
        continue;
      }
      if (type == 5) {
        ++row.doras;
        row.ack_bytes += rte_pktmbuf_pkt_len(m);
        --in_flight;
      }
      rte_pktmbuf_free(m);
    }
    uint16_t sent = rte_eth_tx_burst(generator_port, 0, requests, request_count);
    if (sent < request_count) rte_pktmbuf_free_bulk(requests + sent, request_count - sent);
  }
  row.wall_s = double(rte_rdtsc() - start_wall) / rte_get_tsc_hz();
  if (!journal_path.empty()) std::filesystem::remove(journal_path);
  return row;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Each client in flight has one frame in a ring at a time; a window
  // larger than the ring would lose frames and leave clients unanswered.
  constexpr unsigned kRingSize = 4096;
  if (absl::GetFlag(FLAGS_window) > kRingSize / 2) {
    std::fprintf(stderr, "dhcp_bench: --window is at most %u (the rings hold %u frames)\n",
                 kRingSize / 2, kRingSize);
    return 1;
  }
  if (!InitBenchEal("dhcp_bench")) return 1;
  std::optional<RingPair> pair = MakeRingPair("dhcp_bench", kRingSize);
  if (!pair) return 1;
  rte_mempool* pool = pair->pool;
  int worker_port = pair->worker_port, generator_port = pair->generator_port;
  auto build = [](const std::string& text) -> std::unique_ptr<policy::PolicyTables> {
    auto loaded = config::ParseConfig(text, "bench.yaml", config::Format::kYaml);
    auto policy = loaded.ok() ? config::Compile(*loaded) : loaded.status();
    if (!policy.ok()) return nullptr;
    std::string bytes = policy->SerializeAsString();
    auto tables =
        policy::BuildTables({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, 1);
    return tables.ok() ? *std::move(tables) : nullptr;
  };
  std::string with_options = kConfig;
  with_options.insert(with_options.find("  subnets:"), std::string(kOptions).substr(1));
  std::string with_classes = kConfig;
  with_classes.insert(with_classes.find("  subnets:"), Classes());
  with_classes.replace(with_classes.find("198.19.255.250}"), 15, "198.19.255.250, classes: [all]}");
  std::unique_ptr<policy::PolicyTables> plain = build(kConfig), optioned = build(with_options);
  std::unique_ptr<policy::PolicyTables> proxy = build(kProxyConfig);
  std::unique_ptr<policy::PolicyTables> classed = build(with_classes);
  if (plain == nullptr || optioned == nullptr || proxy == nullptr || classed == nullptr) {
    return 1;
  }
  std::unique_ptr<LocalStatus> status = MakeLocalStatus(1);
  if (status == nullptr) return 1;

  uint32_t clients = absl::GetFlag(FLAGS_clients);
  uint32_t rounds = std::max<uint32_t>(1, absl::GetFlag(FLAGS_rounds));
  std::string pid = absl::StrCat(getpid());
  struct Kind {
    std::string name, journal;  // journal: empty for none
    const policy::PolicyTables* tables;
    bool ask = false;     // clients send option 55
    bool pxe = false;     // proxyDHCP exchanges of BIOS PXE clients
    bool events = false;  // reported into the status region
  };
  std::vector<Kind> kinds;
  for (const std::string& row : absl::GetFlag(FLAGS_rows)) {
    if (row == "memory") kinds.push_back({"leases in memory", "", plain.get()});
    if (row == "tmpfs") {
      kinds.push_back({"journal on tmpfs", "/dev/shm/dhcp_bench_" + pid + ".journal", plain.get()});
    }
    if (row == "disk") {
      kinds.push_back({"journal on disk",
                       absl::GetFlag(FLAGS_disk_dir) + "/dhcp_bench_" + pid + ".journal",
                       plain.get()});
    }
    if (row == "asking") kinds.push_back({"option 55, none set", "", plain.get(), true});
    if (row == "options") kinds.push_back({"option 55, 5 set", "", optioned.get(), true});
    if (row == "classes") kinds.push_back({"16 classes", "", classed.get()});
    if (row == "proxy") kinds.push_back({"proxyDHCP", "", proxy.get(), false, true});
    if (row == "proxy-events") {
      kinds.push_back({"proxyDHCP, events", "", proxy.get(), false, true, true});
    }
  }
  // Rounds run the rows in turn, so that a machine's slow moment spreads
  // over all of them; each row reports its median round and the range.
  std::vector<std::vector<Row>> runs(kinds.size());
  for (uint32_t round = 0; round < rounds; ++round) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      runs[k].push_back(RunRow(kinds[k].name, kinds[k].journal, uint16_t(worker_port),
                               uint16_t(generator_port), pool, *kinds[k].tables,
                               static_cast<uint32_t>(k) * clients, kinds[k].ask, kinds[k].pxe,
                               kinds[k].events ? status.get() : nullptr));
    }
  }
  std::printf("\ndhcp_bench: one core, %u clients per row (one DORA each), window %u, %u round%s\n",
              clients, absl::GetFlag(FLAGS_window), rounds, rounds == 1 ? "" : "s (median, range)");
  std::printf("%-20s %14s %16s %14s %10s\n", "row", "DORA/s (cpu)", "DORA/s (wall)", "cycles/DORA",
              "ACK bytes");
  bool complete = true;
  for (size_t k = 0; k < runs.size(); ++k) {
    std::vector<Row>& run = runs[k];
    // Every exchange reported twice (offered, acked) when the row reports.
    for (const Row& r : run) {
      complete = complete && r.doras == clients && r.events == (kinds[k].events ? 2 * r.doras : 0);
    }
    std::sort(run.begin(), run.end(),
              [](const Row& a, const Row& b) { return a.PerCpuSecond() < b.PerCpuSecond(); });
    const Row& r = run[run.size() / 2];
    std::printf("%-20s %14.0f %16.0f %14.0f %10.0f", r.name.c_str(), r.PerCpuSecond(),
                r.PerWallSecond(), r.doras ? double(r.cycles) / r.doras : 0.0,
                r.doras ? double(r.ack_bytes) / r.doras : 0.0);
    if (run.size() > 1) {
      std::printf("   (%.0f-%.0f)", run.front().PerCpuSecond(), run.back().PerCpuSecond());
    }
    if (kinds[k].events) std::printf("   %lu events read", static_cast<unsigned long>(r.events));
    std::printf("\n");
  }
  for (int id : {worker_port, generator_port}) port::ClosePort(static_cast<uint16_t>(id));
  rte_eal_cleanup();
  if (!complete) {
    std::fprintf(stderr, "dhcp_bench: some clients were not answered\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) { return stampede::perf::Main(argc, argv); }
