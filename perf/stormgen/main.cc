// stormgen: a boot storm from one core. N emulated PXE clients with distinct
// MACs power on over a spread of time, each doing DHCP (DORA with PXE
// options), TFTP reads of a list of files, then optionally HTTP GETs over
// the kernel's TCP stack; reported per phase as a table and as JSON. It
// drives any DPDK port: net_memif to the dataplane without a kernel in the
// way, net_af_packet on a veth to any kernel server. See docs/stormgen.md.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dataplane/net/packet.h"
#include "dataplane/port/options.h"
#include "dataplane/port/port.h"
#include "dataplane/tftp/timer_wheel.h"
#include "perf/stormgen/client.h"
#include "perf/stormgen/frame.h"
#include "perf/stormgen/http_fetcher.h"
#include "perf/stormgen/report.h"

ABSL_FLAG(std::string, port, "",
          "DPDK vdev to drive: net_memif0,role=client,socket=PATH,socket-abstract=no (to the "
          "dataplane's memif server) or net_af_packet0,iface=IF (a veth to any server)");
ABSL_FLAG(uint32_t, lcore, 0, "The core stormgen polls on");
ABSL_FLAG(uint32_t, memory_mb, 256, "EAL memory (no hugepages), MiB");
ABSL_FLAG(std::string, file_prefix, "", "EAL --file-prefix (default: stormgen_<pid>)");
ABSL_FLAG(std::vector<std::string>, eal_args, {}, "Extra EAL arguments, comma-separated");
ABSL_FLAG(uint32_t, clients, 100, "Emulated PXE clients");
ABSL_FLAG(uint32_t, first_client, 0, "Index of the first client (its MAC is 02:<tag>:<index>)");
ABSL_FLAG(uint32_t, mac_tag, 0x53, "Second octet of every client MAC");
ABSL_FLAG(double, spread_s, 0, "Clients power on at uniformly random times in [0, spread_s]");
ABSL_FLAG(double, rate, 0, "Clients power on at this many per second, evenly (overrides spread)");
ABSL_FLAG(uint32_t, arch, 0, "Option 93 client architecture (0 BIOS, 7 EFI x64)");
ABSL_FLAG(bool, broadcast_flag, true, "Set the DHCP broadcast flag, as PXE ROMs do");
ABSL_FLAG(std::string, timers, "pxe",
          "DHCP retransmission timeouts: pxe (4,8,16,32 s), ipxe (1,2,4,8,16 s as iPXE's "
          "DHCP_MIN/MAX_TIMEOUT), or a list of milliseconds like 500,1000,2000");
ABSL_FLAG(std::string, files, "@bootfile",
          "Files each client reads over TFTP, in order; @bootfile: the DHCP boot file; empty: "
          "DHCP only");
ABSL_FLAG(uint32_t, blksize, 1468, "TFTP blksize to ask for (0: none)");
ABSL_FLAG(uint32_t, windowsize, 16, "TFTP windowsize to ask for (0: none)");
ABSL_FLAG(bool, tsize, true, "Ask for tsize and check the size received against it");
ABSL_FLAG(uint32_t, rollover_to, 0, "TFTP block number after 65535: 0 or 1");
ABSL_FLAG(uint32_t, tftp_timeout_ms, 1000, "TFTP silence before the RRQ or last ACK is resent");
ABSL_FLAG(uint32_t, tftp_retries, 6, "TFTP timeouts in a row before a transfer fails");
ABSL_FLAG(std::string, http_server, "", "IP[:port] to GET --http_paths from after TFTP");
ABSL_FLAG(std::string, http_paths, "", "Comma-separated paths each client GETs, in order");
ABSL_FLAG(uint32_t, http_concurrency, 64, "HTTP connections open at once");
ABSL_FLAG(uint32_t, http_timeout_ms, 30000, "HTTP silence before a GET fails");
ABSL_FLAG(double, loss_rx, 0, "Fraction of received frames dropped (0..1)");
ABSL_FLAG(double, loss_tx, 0, "Fraction of frames to send dropped (0..1)");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the power-on spread and the loss");
ABSL_FLAG(uint32_t, link_timeout_s, 15, "Wait at most this long for the port's link");
ABSL_FLAG(uint32_t, deadline_s, 600, "Clients unfinished after this many seconds fail");
ABSL_FLAG(std::string, json, "", "Also write the report as JSON to this file");

namespace stampede::stormgen {
namespace {

constexpr uint16_t kBurst = 32;
constexpr uint32_t kPoolSize = 16383;
constexpr uint16_t kDescriptors = 1024;
constexpr uint32_t kTimersPerPoll = 2048;  // so a power-on burst does not starve rx
constexpr size_t kMaxBacklog = 16384;      // frames waiting for the tx ring
constexpr int64_t kHttpPollNs = 200'000;   // epoll the HTTP sockets this often
constexpr int64_t kNsPerMs = 1'000'000;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<std::vector<int64_t>> ParseTimers(const std::string& text) {
  if (text == "pxe") return std::vector<int64_t>{4'000, 8'000, 16'000, 32'000};
  if (text == "ipxe") return std::vector<int64_t>{1'000, 2'000, 4'000, 8'000, 16'000};
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(part, &ms) || ms <= 0) return std::nullopt;
    out.push_back(ms);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Frames out: built straight into mbufs, sent in bursts, held in a bounded
// backlog while the tx ring is full.
class Transmitter final : public Sink {
 public:
  Transmitter(uint16_t port, rte_mempool* pool, std::vector<Client>* clients, double loss,
              std::mt19937_64& random)
      : port_(port), pool_(pool), clients_(clients), loss_(loss), random_(random) {}

  void SendUdp(uint32_t client, net::MacAddress destination_mac, net::Ipv4Address source,
               net::Ipv4Address destination, uint16_t source_port, uint16_t destination_port,
               net::ConstByteSpan payload) override {
    UdpEndpoints to{(*clients_)[client].mac(), destination_mac, source, destination, source_port,
                    destination_port};
    rte_mbuf* m = Allocate(UdpFrameSize(payload.size()));
    if (m == nullptr) return;
    BuildUdpFrame({rte_pktmbuf_mtod(m, std::byte*), m->data_len}, to, ++ip_id_, payload);
    Queue(m);
  }

  void SendArpReply(const net::ArpFields& request, net::MacAddress mac) {
    rte_mbuf* m = Allocate(kMinFrameSize);
    if (m == nullptr) return;
    BuildArpReply({rte_pktmbuf_mtod(m, std::byte*), m->data_len}, request, mac);
    Queue(m);
  }

  void Flush() {
    size_t done = 0;
    while (done < backlog_.size()) {
      uint16_t n = static_cast<uint16_t>(std::min<size_t>(kBurst, backlog_.size() - done));
      uint16_t sent = rte_eth_tx_burst(port_, 0, backlog_.data() + done, n);
      frames_sent += sent;
      done += sent;
      if (sent < n) break;
    }
    backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<ptrdiff_t>(done));
  }

  void Drain() {
    for (rte_mbuf* m : backlog_) rte_pktmbuf_free(m);
    backlog_.clear();
  }

  uint64_t frames_sent = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_no_mbuf = 0;
  uint64_t dropped_backlog = 0;

 private:
  rte_mbuf* Allocate(size_t size) {
    if (loss_ > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < loss_) {
      ++dropped_loss;
      return nullptr;
    }
    if (backlog_.size() >= kMaxBacklog) {
      ++dropped_backlog;
      return nullptr;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr || rte_pktmbuf_append(m, static_cast<uint16_t>(size)) == nullptr) {
      if (m != nullptr) rte_pktmbuf_free(m);
      ++dropped_no_mbuf;
      return nullptr;
    }
    return m;
  }

  void Queue(rte_mbuf* m) {
    backlog_.push_back(m);
    if (backlog_.size() >= kBurst) Flush();
  }

  uint16_t port_;
  rte_mempool* pool_;
  std::vector<Client>* clients_;
  double loss_;
  std::mt19937_64& random_;
  uint16_t ip_id_ = 0;
  std::vector<rte_mbuf*> backlog_;
};

struct Settings {
  ClientConfig client;
  uint32_t clients = 0;
  uint32_t first_client = 0;
  double spread_s = 0;
  double rate = 0;
  double loss_rx = 0;
  double loss_tx = 0;
  int64_t deadline_ns = 0;
  std::optional<sockaddr_in> http_server;
  std::string http_host;
  std::vector<std::string> http_paths;
};

std::optional<Settings> SettingsFromFlags() {
  Settings s;
  auto fail = [](const std::string& why) -> std::optional<Settings> {
    std::fprintf(stderr, "stormgen: %s\n", why.c_str());
    return std::nullopt;
  };
  s.clients = absl::GetFlag(FLAGS_clients);
  s.first_client = absl::GetFlag(FLAGS_first_client);
  if (s.clients == 0) return fail("--clients: at least 1");
  if (absl::GetFlag(FLAGS_mac_tag) > 255) return fail("--mac_tag: one octet");
  s.client.mac_tag = static_cast<uint8_t>(absl::GetFlag(FLAGS_mac_tag));
  if (absl::GetFlag(FLAGS_arch) > 0xffff) return fail("--arch: 16 bits (RFC 4578)");
  s.client.arch = static_cast<uint16_t>(absl::GetFlag(FLAGS_arch));
  s.client.broadcast_flag = absl::GetFlag(FLAGS_broadcast_flag);
  auto timers = ParseTimers(absl::GetFlag(FLAGS_timers));
  if (!timers) return fail("--timers: pxe, ipxe or a list of milliseconds");
  s.client.dhcp_timeouts_ns.clear();
  for (int64_t ms : *timers) s.client.dhcp_timeouts_ns.push_back(ms * kNsPerMs);
  s.client.files = absl::StrSplit(absl::GetFlag(FLAGS_files), ',', absl::SkipEmpty());
  s.client.blksize = absl::GetFlag(FLAGS_blksize);
  if (s.client.blksize != 0 && (s.client.blksize < 8 || s.client.blksize > 1468)) {
    return fail("--blksize: 0 or 8..1468 (one 1500-byte frame, no fragments)");
  }
  s.client.windowsize = absl::GetFlag(FLAGS_windowsize);
  if (s.client.windowsize > 65535) return fail("--windowsize: 0..65535 (RFC 7440)");
  s.client.tsize = absl::GetFlag(FLAGS_tsize);
  if (absl::GetFlag(FLAGS_rollover_to) > 1) return fail("--rollover_to: 0 or 1");
  s.client.rollover_to = static_cast<uint16_t>(absl::GetFlag(FLAGS_rollover_to));
  s.client.tftp_timeout_ns = int64_t{absl::GetFlag(FLAGS_tftp_timeout_ms)} * kNsPerMs;
  if (s.client.tftp_timeout_ns <= 0) return fail("--tftp_timeout_ms: at least 1");
  s.client.tftp_retries = absl::GetFlag(FLAGS_tftp_retries);
  s.spread_s = absl::GetFlag(FLAGS_spread_s);
  s.rate = absl::GetFlag(FLAGS_rate);
  s.loss_rx = absl::GetFlag(FLAGS_loss_rx);
  s.loss_tx = absl::GetFlag(FLAGS_loss_tx);
  if (s.spread_s < 0 || s.rate < 0) return fail("--spread_s, --rate: not negative");
  if (s.loss_rx < 0 || s.loss_rx >= 1 || s.loss_tx < 0 || s.loss_tx >= 1) {
    return fail("--loss_rx, --loss_tx: in [0, 1)");
  }
  s.deadline_ns = int64_t{absl::GetFlag(FLAGS_deadline_s)} * 1'000'000'000;
  if (std::string server = absl::GetFlag(FLAGS_http_server); !server.empty()) {
    std::vector<std::string> parts = absl::StrSplit(server, ':');
    auto ip = net::Ipv4Address::Parse(parts[0]);
    uint32_t port = 80;
    if (!ip || parts.size() > 2 || (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &port)) ||
        port == 0 || port > 65535) {
      return fail("--http_server: IP or IP:port");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(ip->value);
    s.http_server = address;
    s.http_host = server;
    s.http_paths = absl::StrSplit(absl::GetFlag(FLAGS_http_paths), ',', absl::SkipEmpty());
    if (s.http_paths.empty()) return fail("--http_server needs --http_paths");
  }
  return s;
}

// The run: clients, their timers, the port.
class Storm {
 public:
  Storm(const Settings& settings, uint16_t port, rte_mempool* pool)
      : settings_(settings),
        port_(port),
        random_(absl::GetFlag(FLAGS_seed)),
        tx_(port, pool, &clients_, settings.loss_tx, random_),
        wheel_(settings.clients) {
    clients_.reserve(settings.clients);
    for (uint32_t i = 0; i < settings.clients; ++i) {
      clients_.emplace_back(settings.first_client + i, settings.client, tx_);
    }
    if (settings.http_server) {
      http_ =
          std::make_unique<HttpFetcher>(*settings.http_server, settings.http_host,
                                        settings.http_paths, absl::GetFlag(FLAGS_http_concurrency),
                                        int64_t{absl::GetFlag(FLAGS_http_timeout_ms)} * kNsPerMs);
    }
  }

  Report Run() {
    start_ns_ = NowNs();
    // Starts the wheel's clock at 0 ms, so power-on times in any order arm.
    wheel_.Advance(0, 0, [](uint32_t) {});
    std::uniform_real_distribution<double> spread(0, settings_.spread_s);
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      double at_s =
          settings_.rate > 0 ? i / settings_.rate : (settings_.spread_s > 0 ? spread(random_) : 0);
      wheel_.Schedule(i, static_cast<uint64_t>(at_s * 1000));
    }
    int64_t next_http = start_ns_;
    while (finished_ < clients_.size() && !g_stop) {
      int64_t now = NowNs();
      if (now - start_ns_ > settings_.deadline_ns) break;
      Receive(now);
      wheel_.Advance(static_cast<uint64_t>((now - start_ns_) / kNsPerMs), kTimersPerPoll,
                     [&](uint32_t i) { Fire(i, now); });
      tx_.Flush();
      if (http_ && now >= next_http) {
        for (uint32_t local : http_->Poll(now)) Finish(local - settings_.first_client);
        next_http = now + kHttpPollNs;
      }
    }
    end_ns_ = NowNs();
    tx_.Drain();
    return MakeReport();
  }

 private:
  void Receive(int64_t now) {
    rte_mbuf* burst[kBurst];
    uint16_t n = rte_eth_rx_burst(port_, 0, burst, kBurst);
    for (uint16_t i = 0; i < n; ++i) {
      ++frames_received_;
      if (settings_.loss_rx > 0 &&
          std::uniform_real_distribution<double>(0, 1)(random_) < settings_.loss_rx) {
        ++dropped_rx_loss_;
        continue;
      }
      std::byte copy[RTE_MBUF_DEFAULT_DATAROOM];
      uint32_t length = std::min<uint32_t>(rte_pktmbuf_pkt_len(burst[i]), sizeof(copy));
      // The frame itself when it is in one segment (it always is at 1500 bytes).
      const auto* data = static_cast<const std::byte*>(rte_pktmbuf_read(burst[i], 0, length, copy));
      if (data != nullptr) Handle({data, length}, now);
    }
    if (n > 0) rte_pktmbuf_free_bulk(burst, n);
  }

  void Handle(net::ConstByteSpan frame, int64_t now) {
    net::ParsePacketInto(frame, parsed_);
    if (!parsed_.ok) {
      ++dropped_malformed_;
      return;
    }
    const net::ParsedPacket& p = parsed_.packet;
    if (p.l3 == net::L3Kind::kArp) {
      if (p.arp.operation != net::kArpOpRequest) return;
      auto owner = by_address_.find(p.arp.target_ip.value);
      if (owner != by_address_.end()) {
        tx_.SendArpReply(p.arp, clients_[owner->second].mac());
        ++arp_replies_;
      }
      return;
    }
    if (p.l4 != net::L4Kind::kUdp) return;
    net::ConstByteSpan payload = frame.subspan(p.udp.payload_offset, p.udp.payload_length);
    std::optional<uint32_t> index;
    bool dhcp = p.udp.source_port == kDhcpServerPort && p.udp.destination_port == kDhcpClientPort;
    if (dhcp && payload.size() >= dhcp::kOptionsOffset) {
      index = Client::IndexOf(settings_.client.mac_tag, net::MacAddress::Load(payload, 28));
    } else if (!dhcp) {
      index = Client::IndexOf(settings_.client.mac_tag, p.destination_mac);
    }
    if (!index || *index < settings_.first_client ||
        *index - settings_.first_client >= clients_.size()) {
      ++not_ours_;
      return;
    }
    uint32_t i = *index - settings_.first_client;
    Client& c = clients_[i];
    if (dhcp) {
      bool was_bound = !c.address().IsZero();
      c.OnDhcp(payload, p.source_mac, now);
      if (!was_bound && !c.address().IsZero()) by_address_[c.address().value] = i;
    } else {
      c.OnUdp(p.ipv4.source, p.udp.source_port, p.udp.destination_port, payload, now);
    }
    Rearm(i, now);
  }

  void Fire(uint32_t i, int64_t now) {
    Client& c = clients_[i];
    if (c.phase() == Phase::kOff) {
      c.Start(now);
    } else {
      c.OnTimer(now);
    }
    Rearm(i, now);
  }

  void Rearm(uint32_t i, int64_t now) {
    Client& c = clients_[i];
    if (c.finished()) {
      wheel_.Cancel(i);
      if (!handed_on_[i]) {
        handed_on_[i] = true;
        if (http_ && c.phase() == Phase::kDone) {
          http_->Enqueue(settings_.first_client + i, now);
        } else {
          Finish(i);
        }
      }
      return;
    }
    if (auto deadline = c.deadline_ns()) {
      wheel_.Schedule(i, static_cast<uint64_t>((*deadline - start_ns_ + kNsPerMs - 1) / kNsPerMs));
    }
  }

  void Finish(uint32_t i) {
    if (!done_[i]) {
      done_[i] = true;
      ++finished_;
    }
  }

  Report MakeReport() {
    std::vector<Sample> dhcp, tftp, boot;
    std::vector<uint32_t> boot_owner;  // client of each boot sample
    std::vector<std::vector<Sample>> per_file(settings_.client.files.size());
    for (uint32_t i = 0; i < clients_.size(); ++i) {
      const Client& c = clients_[i];
      const ClientResult& r = c.result();
      if (r.power_on_ns == 0) continue;  // never powered on (deadline, signal)
      Sample d{r.power_on_ns, r.dhcp_end_ns, 0, r.dhcp_retransmissions + r.naks,
               r.dhcp_end_ns != 0};
      if (!d.ok) d.failure = r.failure ? r.failure : "unfinished";
      dhcp.push_back(d);
      for (size_t f = 0; f < r.files.size(); ++f) {
        const FileResult& file = r.files[f];
        Sample s{file.start_ns, file.end_ns, file.bytes, file.retransmissions, file.ok};
        if (!s.ok) s.failure = file.failure ? file.failure : "unfinished";
        per_file[f].push_back(s);
        tftp.push_back(s);
      }
      Sample b{r.power_on_ns, r.end_ns, 0, 0, c.phase() == Phase::kDone && r.failure == nullptr};
      if (!b.ok) b.failure = r.failure ? r.failure : "unfinished";
      boot.push_back(b);
      boot_owner.push_back(i);
    }
    Report report;
    report.target = absl::GetFlag(FLAGS_port);
    report.clients = static_cast<uint32_t>(clients_.size());
    report.wall_s = static_cast<double>(end_ns_ - start_ns_) / 1e9;
    report.phases.push_back(Summarise("dhcp", dhcp, start_ns_));
    for (size_t f = 0; f < per_file.size(); ++f) {
      report.phases.push_back(
          Summarise(absl::StrCat("tftp ", settings_.client.files[f]), per_file[f], start_ns_));
    }
    if (!per_file.empty()) report.phases.push_back(Summarise("tftp", tftp, start_ns_));
    if (http_) {
      const std::vector<Sample>& http = http_->samples();
      report.phases.push_back(Summarise("http", http, start_ns_));
      // A boot with HTTP ends with its last GET, and fails with any.
      absl::flat_hash_map<uint32_t, size_t> boot_of;
      for (size_t b = 0; b < boot.size(); ++b) boot_of[boot_owner[b]] = b;
      for (size_t h = 0; h < http.size(); ++h) {
        auto found = boot_of.find(http_->owners()[h] - settings_.first_client);
        if (found == boot_of.end()) continue;
        Sample& b = boot[found->second];
        b.end_ns = std::max(b.end_ns, http[h].end_ns);
        if (!http[h].ok && b.ok) {
          b.ok = false;
          b.failure = http[h].failure;
        }
      }
    }
    report.phases.push_back(Summarise("boot", boot, start_ns_));
    report.counters = {{"frames_received", frames_received_},
                       {"frames_sent", tx_.frames_sent},
                       {"dropped_rx_loss", dropped_rx_loss_},
                       {"dropped_tx_loss", tx_.dropped_loss},
                       {"dropped_no_mbuf", tx_.dropped_no_mbuf},
                       {"dropped_tx_backlog", tx_.dropped_backlog},
                       {"malformed", dropped_malformed_},
                       {"not_ours", not_ours_},
                       {"arp_replies", arp_replies_}};
    return report;
  }

  const Settings& settings_;
  uint16_t port_;
  std::mt19937_64 random_;
  std::vector<Client> clients_;
  Transmitter tx_;
  tftp::TimerWheel wheel_;
  std::unique_ptr<HttpFetcher> http_;
  absl::flat_hash_map<uint32_t, uint32_t> by_address_;  // leased address -> client
  std::vector<bool> handed_on_ = std::vector<bool>(settings_.clients);
  std::vector<bool> done_ = std::vector<bool>(settings_.clients);
  uint32_t finished_ = 0;
  net::ParseResult parsed_;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  uint64_t frames_received_ = 0;
  uint64_t dropped_rx_loss_ = 0;
  uint64_t dropped_malformed_ = 0;
  uint64_t not_ours_ = 0;
  uint64_t arp_replies_ = 0;
};

bool WaitForLink(uint16_t port, uint32_t timeout_s) {
  int64_t deadline = NowNs() + int64_t{timeout_s} * 1'000'000'000;
  while (!g_stop) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (NowNs() > deadline) return false;
    // The memif peer connects from the EAL's interrupt thread: poll it at 10 Hz.
    usleep(100'000);
  }
  return false;
}

int Main() {
  std::optional<Settings> settings = SettingsFromFlags();
  if (!settings) return 2;
  std::string spec = absl::GetFlag(FLAGS_port);
  if (spec.empty()) {
    std::fprintf(stderr, "stormgen: --port is required\n");
    return 2;
  }
  std::string prefix = absl::GetFlag(FLAGS_file_prefix);
  if (prefix.empty()) prefix = absl::StrCat("stormgen_", getpid());
  // No hugepages (--no-huge: nothing left in hugetlbfs; --in-memory does not
  // go with it), its own runtime folder, removed at the end.
  std::vector<std::string> eal = {"stormgen",
                                  "-l",
                                  absl::StrCat(absl::GetFlag(FLAGS_lcore)),
                                  "--no-huge",
                                  "-m",
                                  absl::StrCat(absl::GetFlag(FLAGS_memory_mb)),
                                  "--no-pci",
                                  "--no-telemetry",
                                  "--file-prefix",
                                  prefix,
                                  "--vdev",
                                  spec,
                                  "--log-level",
                                  "lib.eal:error"};
  for (const std::string& extra : absl::GetFlag(FLAGS_eal_args)) eal.push_back(extra);
  std::vector<char*> argv;
  for (std::string& arg : eal) argv.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "stormgen: EAL init failed (%s)\n", rte_strerror(rte_errno));
    return 2;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  int rc = 2;
  rte_mempool* pool = rte_pktmbuf_pool_create("stormgen", kPoolSize, 256, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  absl::StatusOr<uint16_t> port = port::FindPort(port::DeviceName(spec));
  absl::Status started = port.ok() && pool != nullptr
                             ? port::StartPort(*port, {1, kDescriptors, kDescriptors, pool})
                             : absl::InternalError("no port or no mbuf pool");
  if (!started.ok()) {
    std::fprintf(stderr, "stormgen: %s\n", std::string(started.message()).c_str());
  } else if (rte_eth_promiscuous_enable(*port);
             !WaitForLink(*port, absl::GetFlag(FLAGS_link_timeout_s))) {
    std::fprintf(stderr, "stormgen: %s: link not up within %us\n", spec.c_str(),
                 absl::GetFlag(FLAGS_link_timeout_s));
  } else {
    Storm storm(*settings, *port, pool);
    Report report = storm.Run();
    std::fputs(FormatTable(report).c_str(), stdout);
    std::fflush(stdout);
    rc = 0;
    if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
      std::ofstream out(path);
      out << FormatJson(report);
      if (!out) {
        std::fprintf(stderr, "stormgen: cannot write %s\n", path.c_str());
        rc = 2;
      }
    }
    // Numbers are never judged here; a run where nobody got an address means
    // the setup is broken.
    if (rc == 0 && report.phases.front().completions == 0) rc = 1;
  }
  if (port.ok()) port::ClosePort(*port);
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path("/var/run/dpdk") / prefix, ignored);
  return rc;
}

}  // namespace
}  // namespace stampede::stormgen

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "stormgen --port=VDEV [--clients=N --spread_s=S --files=@bootfile,vmlinuz,initrd "
      "--timers=pxe|ipxe --loss_rx=F --json=FILE]  (docs/stormgen.md)");
  absl::ParseCommandLine(argc, argv);
  return stampede::stormgen::Main();
}
