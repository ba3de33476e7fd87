// tftp_bench: TFTP read transfers through the real worker and TFTP engine
// (sessions, timing wheel, block cache, io_uring, frame building with UDP
// checksums) on one core over a net_ring port pair, with a generator of ours
// playing the clients (no kernel in the way). The file is read from disk
// once and then served from the warm block cache.
//
// Rows, in one run:
//   zero-copy   DATA frames chain a header to the cached block (extbuf)
//   copy        the block copied into each frame (ports without chains)
//   ceiling     the same number of full-size frames just received and
//               sent back by the worker core (the net_ring port's own cost):
//               the peer the TFTP rows are a fraction of
//   50k sessions  that many sessions alive at once on the worker, then all
//               finished: sessions per CPU second and the peak reached
//   1 KB files, with and without events: --small transfers of a 1,000-byte
//               file, 64 at a time, in turn --rounds times (medians): with
//               events, each ended transfer is reported as a TftpTransfer
//               event into the worker's ring of a status region (drained
//               between polls, outside the timed part): the events' cost
// Reported per core: payload Gbit/s per second of worker CPU (cycles spent
// in the worker's poll loop). Fails only when transfers did not complete.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "control/config/compile.h"
#include "dataplane/io/block_cache.h"
#include "dataplane/io/file_registry.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/port/port.h"
#include "dataplane/port/tftp_engine.h"
#include "dataplane/port/worker.h"
#include "perf/bench_setup.h"

ABSL_FLAG(uint32_t, sessions, 64, "Concurrent transfers in the throughput rows");
ABSL_FLAG(uint32_t, transfers, 256, "Transfers in each throughput row");
ABSL_FLAG(uint32_t, file_mb, 8, "Size of the file the throughput rows fetch, MiB");
ABSL_FLAG(uint32_t, blksize, 1468, "blksize the clients ask for");
ABSL_FLAG(uint32_t, windowsize, 16, "windowsize the clients ask for");
ABSL_FLAG(uint32_t, many, 50'000, "Sessions alive at once in the last row");
ABSL_FLAG(uint32_t, small, 20'000, "Transfers of a 1,000-byte file in the events rows");
ABSL_FLAG(uint32_t, rounds, 3, "Rounds of the events rows (medians)");

namespace stampede::perf {
namespace {

using net::ByteSpan;

constexpr uint16_t kFirstClientPort = 10'000;
constexpr uint32_t kClientsPerAddress = 50'000;
constexpr uint32_t kClientBase = 0xc6120100;  // 198.18.1.0

net::Ipv4Address ClientIp(uint32_t i) { return {kClientBase + i / kClientsPerAddress}; }
uint16_t ClientPort(uint32_t i) {
  return static_cast<uint16_t>(kFirstClientPort + i % kClientsPerAddress);
}
net::MacAddress ClientMac() { return {{0x02, 0x01, 0, 0, 0, 1}}; }

// Ethernet/IPv4/UDP from client `i` to `port` carrying `payload`.
void BuildDatagram(rte_mbuf* m, uint32_t i, uint16_t port, net::ConstByteSpan payload) {
  size_t length = 42 + payload.size();
  auto* data = reinterpret_cast<std::byte*>(rte_pktmbuf_append(m, static_cast<uint16_t>(length)));
  ByteSpan f(data, length);
  kApplianceMac.Store(f, 0);
  ClientMac().Store(f, 6);
  net::Store16(f, 12, net::kEtherTypeIpv4);
  ByteSpan ip = f.subspan(14, 20);
  std::memset(ip.data(), 0, 20);
  net::Store8(ip, 0, 0x45);
  net::Store16(ip, 2, static_cast<uint16_t>(28 + payload.size()));
  net::Store8(ip, 8, 64);
  net::Store8(ip, 9, 17);
  ClientIp(i).Store(ip, 12);
  kApplianceIp.Store(ip, 16);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  ByteSpan udp = f.subspan(34);
  net::Store16(udp, 0, ClientPort(i));
  net::Store16(udp, 2, port);
  net::Store16(udp, 4, static_cast<uint16_t>(8 + payload.size()));
  net::Store16(udp, 6, 0);  // no checksum (RFC 768)
  std::memcpy(data + 42, payload.data(), payload.size());
}

std::vector<std::byte> Rrq(const std::string& name, uint32_t blksize, uint32_t windowsize) {
  std::string body = std::string("\0\1", 2) + name + '\0' + "octet" + '\0';
  if (blksize) body += "blksize" + std::string(1, '\0') + std::to_string(blksize) + '\0';
  if (windowsize) body += "windowsize" + std::string(1, '\0') + std::to_string(windowsize) + '\0';
  std::vector<std::byte> out(body.size());
  std::memcpy(out.data(), body.data(), body.size());
  return out;
}

std::array<std::byte, 4> Ack(uint16_t block) {
  return {std::byte{0}, std::byte{4}, std::byte(block >> 8), std::byte(block & 0xff)};
}

struct Client {
  uint16_t server_port = 0;
  uint64_t blocks = 0;  // DATA blocks received in order
  bool done = false;
  bool pending_ack = false;   // the last-row clients hold their first ACK
  bool pending_last = false;  // and it acknowledges the last block
  uint16_t ack_block = 0;
};

struct Bench {
  RingPair pair;
  const policy::PolicyTables* tables;
  io::BlockCache* cache;
  io::FileRegistry* files;
  rte_mempool* ext_pool;
};

struct Row {
  std::string name;
  uint64_t bytes = 0;
  uint64_t transfers = 0;
  uint64_t cycles = 0;
  uint64_t frames = 0;
  uint32_t peak_sessions = 0;
  uint64_t events = 0;  // TFTP transfer events read back
  bool complete = false;
  double Gbps() const { return cycles ? bytes * 8.0 * rte_get_tsc_hz() / cycles / 1e9 : 0; }
  double PerCpuSecond(uint64_t n) const {
    return cycles ? double(n) * rte_get_tsc_hz() / cycles : 0;
  }
};

// Runs `total` transfers of `file`, `concurrent` at a time; with
// `hold_acks` every client's first ACK waits until all are alive; with
// `status` the engine reports its transfers there (worker 0's ring), read
// back between polls.
Row RunTransfers(const Bench& b, const std::string& name, const std::string& file, uint32_t total,
                 uint32_t concurrent, bool zero_copy, bool hold_acks,
                 LocalStatus* status = nullptr) {
  Row row{name};
  net::LocalAddresses local(kApplianceMac);
  local.AddIpv4({kApplianceIp, 15});
  port::TftpCounters tftp_counters;
  port::LcoreCounters counters;
  port::TftpEngineConfig tc;
  tc.port_id = b.pair.worker_port;
  tc.pool = b.pair.pool;
  tc.ext_pool = zero_copy ? b.ext_pool : nullptr;
  tc.cache = b.cache;
  tc.files = b.files;
  tc.max_sessions = std::max<uint32_t>(concurrent, 1024);
  tc.lcore = &counters;
  tc.events = status != nullptr ? &*status->writer : nullptr;
  auto engine = port::TftpEngine::Create(tc, local, tftp_counters);
  if (!engine.ok()) {
    std::fprintf(stderr, "tftp_bench: %s\n", std::string(engine.status().message()).c_str());
    return row;
  }
  std::atomic<const policy::PolicyTables*> current{b.tables};
  port::WorkerConfig config;
  config.port_id = b.pair.worker_port;
  config.pool = b.pair.pool;
  config.policy = &current;
  config.tftp = engine->get();
  port::Worker worker(config, local, counters);
  // One worker poll, timed; control's side drains the events after it.
  auto poll = [&]() {
    uint64_t t0 = rte_rdtsc_precise();
    uint32_t moved = worker.PollOnce();
    row.cycles += rte_rdtsc_precise() - t0;
    if (status != nullptr) {
      row.events += status->reader->PopTftpEvents(policy::kEventSlots, 0).size();
    }
    return moved;
  };

  uint32_t blksize = absl::GetFlag(FLAGS_blksize), window = absl::GetFlag(FLAGS_windowsize);
  if (hold_acks) window = 0;
  std::vector<std::byte> rrq = Rrq(file, blksize, window);
  uint32_t effective_window = window ? window : 1;
  uint32_t block_bytes = blksize ? blksize : 512;
  std::vector<Client> clients(total);
  uint32_t next = 0, active = 0, finished = 0;
  uint64_t idle = 0;
  rte_mbuf* burst[kBurst];
  rte_mbuf* out[kBurst];
  bool released = !hold_acks;
  uint32_t release_next = hold_acks ? 0 : total;
  uint64_t start = rte_rdtsc();
  while (finished < total && idle < 50'000'000) {
    uint16_t out_count = 0;
    if (next < total && active < concurrent &&
        rte_pktmbuf_alloc_bulk(b.pair.pool, burst, kBurst) == 0) {
      uint16_t n =
          static_cast<uint16_t>(std::min<uint32_t>({kBurst, total - next, concurrent - active}));
      for (uint16_t i = 0; i < n; ++i) BuildDatagram(burst[i], next + i, net::kTftpPort, rrq);
      rte_pktmbuf_free_bulk(burst + n, kBurst - n);
      uint16_t sent = rte_eth_tx_burst(b.pair.generator_port, 0, burst, n);
      if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
      next += sent;
      active += sent;
    }
    uint32_t moved = poll();
    row.peak_sessions = std::max(row.peak_sessions, (*engine)->active());
    if (!released && next == total && row.peak_sessions == total) {
      released = true;
      if (getenv("TFTP_BENCH_DEBUG")) {
        std::fprintf(stderr, "tftp_bench: all %u alive after %.3f s\n", total,
                     double(rte_rdtsc() - start) / rte_get_tsc_hz());
      }
    }
    if (released && release_next < total) {
      // The held ACKs go a burst at a time, the answers read in between: all
      // at once, the DATA in answer would overflow the generator's ring.
      uint32_t end = std::min<uint32_t>(total, release_next + kBurst);
      uint32_t i = release_next;
      for (; i < end; ++i) {
        if (!clients[i].pending_ack) continue;
        rte_mbuf* m = rte_pktmbuf_alloc(b.pair.pool);
        if (m == nullptr) break;
        clients[i].pending_ack = false;
        // An ACK of the OACK: the DATA comes back and is acknowledged below.
        if (clients[i].pending_last) {
          clients[i].done = true;
          --active;
          ++finished;
          ++row.transfers;
        }
        BuildDatagram(m, i, clients[i].server_port, Ack(clients[i].ack_block));
        while (rte_eth_tx_burst(b.pair.generator_port, 0, &m, 1) == 0) poll();
      }
      release_next = i;
    }
    uint16_t back = rte_eth_rx_burst(b.pair.generator_port, 0, burst, kBurst);
    idle = (moved == 0 && back == 0) ? idle + 1 : 0;
    for (uint16_t k = 0; k < back; ++k) {
      rte_mbuf* m = burst[k];
      ++row.frames;
      const std::byte* f = rte_pktmbuf_mtod(m, const std::byte*);
      net::ConstByteSpan head(f, 46);
      uint32_t ip = net::Load32(head, 30);
      uint16_t server_port = net::Load16(head, 34);
      uint16_t client_port = net::Load16(head, 36);
      uint16_t opcode = net::Load16(head, 42);
      uint16_t block = net::Load16(head, 44);
      uint32_t i = (ip - kClientBase) * kClientsPerAddress + (client_port - kFirstClientPort);
      uint32_t payload = m->pkt_len - 46;
      rte_pktmbuf_free(m);
      if (i >= total || clients[i].done) continue;
      Client& c = clients[i];
      if (opcode == 5 && server_port != c.server_port) continue;
      c.server_port = server_port;
      bool ack = false, last = false;
      if (opcode == 6) {  // OACK
        ack = true;
        block = 0;
      } else if (opcode == 3 && block == static_cast<uint16_t>(c.blocks + 1)) {
        ++c.blocks;
        row.bytes += payload;
        last = payload < block_bytes;
        ack = last || c.blocks % effective_window == 0;
      } else if (opcode == 5) {
        c.done = true;
        --active;
        ++finished;
        continue;
      }
      if (!ack) continue;
      if (!released) {
        c.pending_ack = true;
        c.pending_last = last;
        c.ack_block = block;
        continue;
      }
      rte_mbuf* a = rte_pktmbuf_alloc(b.pair.pool);
      if (a == nullptr) continue;
      BuildDatagram(a, i, server_port, Ack(block));
      out[out_count++] = a;
      if (last) {
        c.done = true;
        --active;
        ++finished;
        ++row.transfers;
      }
    }
    uint16_t sent = rte_eth_tx_burst(b.pair.generator_port, 0, out, out_count);
    if (sent < out_count) rte_pktmbuf_free_bulk(out + sent, out_count - sent);
  }
  // Frames still in flight (a last ACK) must not reach the next row.
  for (int quiet = 0; quiet < 1000;) {
    uint16_t back = rte_eth_rx_burst(b.pair.generator_port, 0, burst, kBurst);
    rte_pktmbuf_free_bulk(burst, back);
    quiet = poll() == 0 && back == 0 ? quiet + 1 : 0;
  }
  row.complete = row.transfers == total;
  if (!row.complete || getenv("TFTP_BENCH_DEBUG")) {
    std::fprintf(stderr,
                 "tftp_bench: %s: %lu/%u transfers, data_sent=%lu retransmitted=%lu "
                 "duplicate_acks=%lu errors=%lu tx_dropped=%lu cache_busy=%lu tid=%lu failed=%lu "
                 "refused=%lu dupreq=%lu completed=%lu events=%lu\n",
                 name.c_str(), row.transfers, total, tftp_counters.data_sent.load(),
                 tftp_counters.data_retransmitted.load(), tftp_counters.duplicate_acks.load(),
                 tftp_counters.errors_sent.load(), tftp_counters.tx_dropped.load(),
                 tftp_counters.cache_busy.load(), tftp_counters.error_unknown_tid.load(),
                 tftp_counters.sessions_failed.load(), tftp_counters.sessions_refused.load(),
                 tftp_counters.duplicate_requests.load(), tftp_counters.sessions_completed.load(),
                 row.events);
  }
  return row;
}

// The port's own cost for the same frames: the worker core receives
// full-size frames and sends them straight back.
Row RunCeiling(const Bench& b, uint64_t frames, uint32_t frame_bytes) {
  Row row{"ceiling (rx+tx only)"};
  rte_mbuf* burst[kBurst];
  uint64_t sent_total = 0;
  while (row.frames < frames) {
    if (sent_total < frames && rte_pktmbuf_alloc_bulk(b.pair.pool, burst, kBurst) == 0) {
      for (rte_mbuf* m : burst) rte_pktmbuf_append(m, static_cast<uint16_t>(frame_bytes));
      uint16_t n = rte_eth_tx_burst(b.pair.generator_port, 0, burst, kBurst);
      if (n < kBurst) rte_pktmbuf_free_bulk(burst + n, kBurst - n);
      sent_total += n;
    }
    uint64_t t0 = rte_rdtsc_precise();
    rte_mbuf* rx[kBurst];
    uint16_t got = rte_eth_rx_burst(b.pair.worker_port, 0, rx, kBurst);
    uint16_t tx = rte_eth_tx_burst(b.pair.worker_port, 0, rx, got);
    if (tx < got) rte_pktmbuf_free_bulk(rx + tx, got - tx);
    row.cycles += rte_rdtsc_precise() - t0;
    uint16_t back = rte_eth_rx_burst(b.pair.generator_port, 0, rx, kBurst);
    row.frames += back;
    row.bytes += uint64_t{back} * (frame_bytes - 46);
    rte_pktmbuf_free_bulk(rx, back);
  }
  row.complete = true;
  return row;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!InitBenchEal("tftp_bench")) return 1;
  std::optional<RingPair> pair = MakeRingPair("tftp_bench", 4096);
  if (!pair) return 1;
  std::string root = absl::StrCat("/var/tmp/tftp_bench_", getpid());
  std::filesystem::create_directories(root);
  {
    std::mt19937_64 rng(1);
    std::vector<uint64_t> words(size_t{absl::GetFlag(FLAGS_file_mb)} * 1024 * 1024 / 8);
    for (uint64_t& w : words) w = rng();
    std::ofstream(root + "/big.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(words.data()), std::streamsize(words.size() * 8));
    std::ofstream(root + "/small.bin", std::ios::binary) << std::string(1000, 's');
  }
  std::string yaml =
      absl::StrCat("dataplane: {port: net_null0, ipv4: [198.18.0.1/15]}\ntftp: {root: ", root,
                   ", max_windowsize: 64}\nlimits: {max_tftp_sessions: 100000}\n");
  auto loaded = config::ParseConfig(yaml, "bench.yaml", config::Format::kYaml);
  auto policy =
      loaded.ok() ? config::Compile(*loaded) : absl::StatusOr<v1::BootPolicy>(loaded.status());
  if (!policy.ok()) {
    std::fprintf(stderr, "tftp_bench: %s\n", std::string(policy.status().message()).c_str());
    return 1;
  }
  std::string bytes = policy->SerializeAsString();
  auto tables =
      policy::BuildTables({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, 1);
  if (!tables.ok()) return 1;
  io::FileRegistry files;
  for (const v1::CatalogFile& f : (*tables)->policy.tftp().files()) {
    std::string why;
    (*tables)->file_ids.push_back(files.Open(f, why));
  }
  size_t cache_bytes = 64u << 20;
  auto* memory =
      static_cast<std::byte*>(rte_malloc("tftp_bench_cache", cache_bytes, io::kCacheBlockBytes));
  if (memory == nullptr) return 1;
  io::BlockCache cache(memory, cache_bytes,
                       [](const void* p) -> uint64_t { return rte_mem_virt2iova(p); });
  rte_mempool* ext_pool =
      rte_pktmbuf_pool_create("bench_ext", 16383, port::kMbufCacheSize, 0, 0, 0);
  Bench b{*pair, tables->get(), &cache, &files, ext_pool};

  uint32_t sessions = absl::GetFlag(FLAGS_sessions), transfers = absl::GetFlag(FLAGS_transfers);
  uint32_t many = absl::GetFlag(FLAGS_many);
  // A first pass warms the cache (it reads the file through io_uring).
  RunTransfers(b, "warm-up", "big.bin", 1, 1, true, false);
  std::vector<Row> rows;
  rows.push_back(RunTransfers(b, "zero-copy", "big.bin", transfers, sessions, true, false));
  rows.push_back(RunTransfers(b, "copy", "big.bin", transfers, sessions, false, false));
  rows.push_back(RunCeiling(b, rows[0].frames, 46 + absl::GetFlag(FLAGS_blksize)));
  Row all =
      RunTransfers(b, absl::StrCat(many, " sessions at once"), "small.bin", many, many, true, true);
  std::unique_ptr<LocalStatus> status = MakeLocalStatus(1);
  if (status == nullptr) return 1;
  uint32_t small = absl::GetFlag(FLAGS_small), rounds = std::max(1u, absl::GetFlag(FLAGS_rounds));
  std::vector<double> quiet_rates, reported_rates;
  uint64_t events = 0;
  bool small_complete = true;
  for (uint32_t round = 0; round < rounds; ++round) {
    Row quiet = RunTransfers(b, "1 KB files", "small.bin", small, sessions, true, false);
    Row reported = RunTransfers(b, "1 KB files, events", "small.bin", small, sessions, true, false,
                                status.get());
    quiet_rates.push_back(quiet.PerCpuSecond(quiet.transfers));
    reported_rates.push_back(reported.PerCpuSecond(reported.transfers));
    events += reported.events;
    small_complete = small_complete && quiet.complete && reported.complete;
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  uint64_t dropped = status->reader->Snapshot().tftp_events_dropped;

  std::printf(
      "\ntftp_bench: one core, %u transfers of %u MiB, %u at a time, blksize %u, windowsize %u\n",
      transfers, absl::GetFlag(FLAGS_file_mb), sessions, absl::GetFlag(FLAGS_blksize),
      absl::GetFlag(FLAGS_windowsize));
  std::printf("%-22s %12s %12s %14s %12s\n", "row", "Gbit/s/core", "Mpps/core", "cycles/frame",
              "vs ceiling");
  double ceiling = rows[2].Gbps();
  bool complete = all.complete;
  for (const Row& r : rows) {
    std::printf("%-22s %12.2f %12.2f %14.0f %11.2fx\n", r.name.c_str(), r.Gbps(),
                r.PerCpuSecond(r.frames) / 1e6, r.frames ? double(r.cycles) / r.frames : 0.0,
                ceiling > 0 ? r.Gbps() / ceiling : 0.0);
    complete = complete && r.complete;
  }
  std::printf("%-22s %u alive at once (peak), %.0f sessions/s/core (RRQ to last ACK)\n",
              all.name.c_str(), all.peak_sessions, all.PerCpuSecond(all.transfers));
  double quiet_rate = median(quiet_rates), reported_rate = median(reported_rates);
  std::printf("1 KB files, %u at a time, %u rounds (medians):\n", sessions, rounds);
  std::printf("  %-20s %.0f transfers/s/core\n", "no events", quiet_rate);
  std::printf("  %-20s %.0f transfers/s/core, %.2fx; %lu events read, %lu dropped\n",
              "TftpTransfer events", reported_rate, quiet_rate > 0 ? reported_rate / quiet_rate : 0,
              events, dropped);
  complete = complete && small_complete && events + dropped == uint64_t{small} * rounds;
  for (uint16_t id : {pair->worker_port, pair->generator_port}) port::ClosePort(id);
  std::filesystem::remove_all(root);
  rte_eal_cleanup();
  if (!complete) {
    std::fprintf(stderr, "tftp_bench: some transfers did not complete\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) { return stampede::perf::Main(argc, argv); }
