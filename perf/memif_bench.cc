// memif_bench: the net_memif port's own ceiling per core, next to net_null's,
// in one run. A memif server and a client cannot share a socket inside one
// DPDK process (the server's listener socket is not usable by a client of the
// same process), so the run is three processes: this one starts a reflector
// (memif server on its own lcore: rx burst straight into tx burst, then the
// net_null rows on the same lcore) and a generator (memif client on the other
// lcore: sends frames, takes them back), waits for both (bounded), prints the
// rows and removes the socket and both EAL runtime folders. Only the
// reflector's rx+tx is the ceiling; the generator's work is its own core's.
//
// Rows, one per frame size, medians over --rounds:
//   net_null rx+tx      the null PMD on the reflector's core (no copy)
//   memif rx+tx         the reflector's rx+tx on the memif server port
//                       (non-zero-copy: rx copies each frame out of the
//                       shared ring into an mbuf, tx copies it back in)
// Mpps/core counts only polls that moved packets (an empty poll waits for
// the generator, not for the port), and the reflector thread's CPU time
// rather than TSC cycles: on a loaded machine the TSC also counts the time
// another process had the core. The TSC-only rate and the share of the core
// the reflector got are printed beside it, and the pair's wall rate.
// Fails only if frames went missing or a process did not finish.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "dataplane/port/port.h"
#include "perf/bench_setup.h"

ABSL_FLAG(uint64_t, packets, 10'000'000, "Packets per row and round");
ABSL_FLAG(std::vector<std::string>, frame_sizes, std::vector<std::string>({"64", "1514"}),
          "Frame sizes, bytes (one row each)");
ABSL_FLAG(uint32_t, rounds, 3, "Rounds; rows report the median");
ABSL_FLAG(uint32_t, reflector_lcore, 1, "Core of the reflector (the measured port)");
ABSL_FLAG(uint32_t, generator_lcore, 0, "Core of the generator");
ABSL_FLAG(uint32_t, timeout_s, 300, "The whole run's bound; processes still running are killed");
ABSL_FLAG(std::string, json, "", "Also write the rows as JSON to this file");
// Internal: the two children.
ABSL_FLAG(std::string, role, "", "internal: reflector or generator");
ABSL_FLAG(std::string, dir, "", "internal: the run's folder (socket, results)");

namespace stampede::perf {
namespace {

constexpr uint16_t kEtherTypeBench = 0x88b5;  // IEEE 802 local experimental
constexpr uint8_t kRowEnd = 0xff;             // a frame with this row id ends the run
constexpr uint32_t kInFlight = 1024;          // memif's default ring (log2 10)
constexpr uint64_t kNullPackets = 4'000'000;  // per net_null row
constexpr uint32_t kLinkWaitMs = 15'000;
constexpr uint32_t kStallMs = 5'000;  // a row with no progress this long is over

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::vector<uint32_t> FrameSizes() {
  std::vector<uint32_t> sizes;
  for (const std::string& s : absl::GetFlag(FLAGS_frame_sizes)) {
    uint32_t size = 0;
    if (absl::SimpleAtoi(s, &size) && size >= 60 && size <= 1514) sizes.push_back(size);
  }
  return sizes;
}

std::string Prefix(const std::string& role) {
  return absl::StrCat("memif_bench_", role, "_", getppid());
}

bool InitEal(const std::string& role, uint32_t lcore, const std::vector<std::string>& vdevs) {
  std::vector<std::string> eal = {
      "memif_bench", "-l",           absl::StrCat(lcore), "--no-huge",     "-m",
      "256",         "--no-pci",     "--no-telemetry",    "--file-prefix", Prefix(role),
      "--log-level", "lib.eal:error"};
  for (const std::string& vdev : vdevs) {
    eal.push_back("--vdev");
    eal.push_back(vdev);
  }
  std::vector<char*> argv;
  for (std::string& arg : eal) argv.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "memif_bench %s: EAL init failed (%s)\n", role.c_str(),
                 rte_strerror(rte_errno));
    return false;
  }
  return true;
}

std::string MemifVdev(const std::string& dir, bool server) {
  return absl::StrCat("net_memif0,role=", server ? "server" : "client", ",socket=", dir,
                      "/memif.sock,socket-abstract=no");
}

bool WaitForLink(uint16_t port) {
  uint64_t deadline = NowMs() + kLinkWaitMs;
  while (!g_stop && NowMs() < deadline) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    // The peer connects from the EAL's interrupt thread: look at 100 Hz.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The reflector thread's CPU time: under load the TSC also counts the time
// the core ran someone else, the thread's CPU time does not.
uint64_t ThreadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return uint64_t(t.tv_sec) * 1'000'000'000 + uint64_t(t.tv_nsec);
}

// What the reflector saw of one row. Per-core rate: packets over the CPU
// time of the row's span scaled by the share of the span's TSC cycles spent
// in polls that moved packets (cpu_ns * cycles / span_cycles).
struct Tally {
  uint64_t packets = 0;
  uint64_t cycles = 0;  // TSC in polls that received something
  uint64_t polls = 0;   // polls that received something
  uint64_t dropped = 0;
  uint64_t span_cycles = 0;  // TSC from the row's first frame to the next row's
  uint64_t cpu_ns = 0;       // the thread's CPU time over the same span
};

class Reflection {
 public:
  explicit Reflection(uint16_t port) : port_(port) {}
  // rx burst into tx burst; frames carry their row id. False: nothing came.
  bool Poll() {
    rte_mbuf* burst[kBurst];
    uint64_t t0 = rte_rdtsc_precise();
    uint16_t n = rte_eth_rx_burst(port_, 0, burst, kBurst);
    if (n == 0) return false;
    // Read before tx: a non-zero-copy memif frees the mbufs in tx.
    uint8_t row = rte_pktmbuf_mtod(burst[0], const uint8_t*)[14];
    uint16_t sent = rte_eth_tx_burst(port_, 0, burst, n);
    if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
    uint64_t t1 = rte_rdtsc_precise();
    if (row != current_) Switch(row, t0);
    if (row == kRowEnd) return true;
    Tally& t = rows_[row];
    t.packets += n;
    t.cycles += t1 - t0;
    t.polls += 1;
    t.dropped += n - sent;
    return true;
  }
  bool ended() const { return current_ == kRowEnd; }
  const std::map<uint32_t, Tally>& rows() const { return rows_; }

 private:
  void Switch(uint32_t row, uint64_t tsc) {
    uint64_t cpu = ThreadCpuNs();
    if (current_ != kNone) {
      rows_[current_].span_cycles += tsc - start_tsc_;
      rows_[current_].cpu_ns += cpu - start_cpu_;
    }
    current_ = row;
    start_tsc_ = tsc;
    start_cpu_ = cpu;
  }
  static constexpr uint32_t kNone = UINT32_MAX;
  uint16_t port_;
  std::map<uint32_t, Tally> rows_;
  uint32_t current_ = kNone;
  uint64_t start_tsc_ = 0;
  uint64_t start_cpu_ = 0;
};

// net_null makes and eats its own packets: rx burst into tx burst, timed.
Tally NullRow(uint16_t port, uint64_t packets) {
  Tally t;
  rte_mbuf* burst[kBurst];
  uint64_t cpu0 = ThreadCpuNs(), start = rte_rdtsc_precise();
  while (t.packets < packets && !g_stop) {
    uint64_t t0 = rte_rdtsc_precise();
    uint16_t n = rte_eth_rx_burst(port, 0, burst, kBurst);
    uint16_t sent = rte_eth_tx_burst(port, 0, burst, n);
    if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
    t.cycles += rte_rdtsc_precise() - t0;
    t.packets += n;
    t.polls += 1;
  }
  t.span_cycles = rte_rdtsc_precise() - start;
  t.cpu_ns = ThreadCpuNs() - cpu0;
  return t;
}

std::string Line(const std::string& kind, uint64_t key, const Tally& t) {
  return absl::StrCat(kind, " ", key, " ", t.packets, " ", t.cycles, " ", t.polls, " ", t.dropped,
                      " ", t.span_cycles, " ", t.cpu_ns, "\n");
}

// The started port's id, or -1 (after saying why).
int StartPort(const std::string& name, rte_mempool* pool) {
  absl::StatusOr<uint16_t> id = port::FindPort(name);
  absl::Status s = id.ok() && pool != nullptr ? port::StartPort(*id, {1, 1024, 1024, pool})
                                              : absl::NotFoundError("no port or no mbuf pool");
  if (!s.ok()) {
    std::fprintf(stderr, "memif_bench: %s: %s\n", name.c_str(), std::string(s.message()).c_str());
    return -1;
  }
  return *id;
}

int Reflector(const std::string& dir) {
  std::vector<uint32_t> sizes = FrameSizes();
  std::vector<std::string> vdevs = {MemifVdev(dir, true)};
  for (size_t i = 0; i < sizes.size(); ++i) {
    vdevs.push_back(absl::StrCat("net_null", i + 1, ",size=", sizes[i]));
  }
  if (!InitEal("reflector", absl::GetFlag(FLAGS_reflector_lcore), vdevs)) return 2;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("reflector", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  int memif = StartPort("net_memif0", pool);
  std::ostringstream out;
  out << "tsc_hz " << rte_get_tsc_hz() << "\n";
  int rc = 2;
  std::vector<uint16_t> nulls;
  for (size_t i = 0; memif >= 0 && i < sizes.size(); ++i) {
    int id = StartPort(absl::StrCat("net_null", i + 1), pool);
    if (id >= 0) nulls.push_back(static_cast<uint16_t>(id));
  }
  if (memif >= 0 && nulls.size() == sizes.size()) {
    Reflection reflection(static_cast<uint16_t>(memif));
    uint64_t deadline = NowMs() + uint64_t{absl::GetFlag(FLAGS_timeout_s)} * 1000;
    uint64_t empty = 0;
    while (!reflection.ended() && !g_stop) {
      if (reflection.Poll()) {
        empty = 0;
      } else if (++empty % 65536 == 0 && NowMs() > deadline) {
        break;
      }
    }
    for (const auto& [row, t] : reflection.rows()) out << Line("row", row, t);
    // The null rows once the generator is done, on the same core.
    bool ended = reflection.ended();
    for (uint32_t round = 0; ended && round < absl::GetFlag(FLAGS_rounds); ++round) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        out << Line("null", sizes[i], NullRow(nulls[i], kNullPackets));
      }
    }
    rc = ended ? 0 : 1;
  }
  std::ofstream(dir + "/reflector.txt") << out.str();
  if (memif >= 0) port::ClosePort(static_cast<uint16_t>(memif));
  for (uint16_t id : nulls) port::ClosePort(id);
  rte_eal_cleanup();
  return rc;
}

// One row from the generator's side: `packets` frames of `size` bytes through
// the reflector and back, at most kInFlight outstanding.
struct Sent {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t wall_ns = 0;
};

Sent Generate(uint16_t port, rte_mempool* pool, uint8_t row, uint32_t size, uint64_t packets) {
  Sent s;
  rte_mbuf* burst[kBurst];
  auto start = std::chrono::steady_clock::now();
  uint64_t last_progress = NowMs();
  while (s.received < packets && !g_stop) {
    if (s.sent < packets && s.sent - s.received + kBurst <= kInFlight &&
        rte_pktmbuf_alloc_bulk(pool, burst, kBurst) == 0) {
      uint16_t n = static_cast<uint16_t>(std::min<uint64_t>(kBurst, packets - s.sent));
      for (uint16_t i = 0; i < n; ++i) {
        auto* f = rte_pktmbuf_mtod(burst[i], uint8_t*);
        rte_pktmbuf_append(burst[i], static_cast<uint16_t>(size));
        std::memset(f, 0xff, 6);                            // broadcast
        std::memcpy(f + 6, "\x02\x00\x5e\x10\x00\x09", 6);  // ours
        f[12] = kEtherTypeBench >> 8;
        f[13] = kEtherTypeBench & 0xff;
        f[14] = row;
      }
      rte_pktmbuf_free_bulk(burst + n, kBurst - n);
      uint16_t queued = rte_eth_tx_burst(port, 0, burst, n);
      if (queued < n) rte_pktmbuf_free_bulk(burst + queued, n - queued);
      s.sent += queued;
    }
    uint16_t back = rte_eth_rx_burst(port, 0, burst, kBurst);
    if (back > 0) {
      // A straggler of an earlier row is not this row's.
      for (uint16_t i = 0; i < back; ++i) {
        s.received += rte_pktmbuf_mtod(burst[i], uint8_t*)[14] == row;
      }
      rte_pktmbuf_free_bulk(burst, back);
      last_progress = NowMs();
    } else if (s.sent == packets || s.sent - s.received + kBurst > kInFlight) {
      // Nothing comes back: frames were lost (the run then fails).
      if (NowMs() - last_progress > kStallMs) break;
    }
  }
  s.wall_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  return s;
}

int Generator(const std::string& dir) {
  if (!InitEal("generator", absl::GetFlag(FLAGS_generator_lcore), {MemifVdev(dir, false)})) {
    return 2;
  }
  rte_mempool* pool =
      rte_pktmbuf_pool_create("generator", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  int id = StartPort("net_memif0", pool);
  uint16_t memif = static_cast<uint16_t>(id);
  std::ostringstream out;
  int rc = 2;
  if (id >= 0 && WaitForLink(memif)) {
    rc = 0;
    std::vector<uint32_t> sizes = FrameSizes();
    uint64_t packets = absl::GetFlag(FLAGS_packets);
    // Row 0 warms both sides up and is not reported.
    Generate(memif, pool, 0, sizes.empty() ? 64 : sizes[0], std::min<uint64_t>(packets, 200'000));
    uint8_t row = 1;
    for (uint32_t round = 0; round < absl::GetFlag(FLAGS_rounds) && !g_stop; ++round) {
      for (uint32_t size : sizes) {
        Sent s = Generate(memif, pool, row, size, packets);
        out << "row " << int{row} << " " << size << " " << s.sent << " " << s.received << " "
            << s.wall_ns << "\n";
        if (s.received < packets) rc = 1;
        ++row;
      }
    }
    // The end marker, sent until it goes out.
    rte_mbuf* end = rte_pktmbuf_alloc(pool);
    if (end != nullptr) {
      auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(end, 60));
      std::memset(f, 0, 60);
      f[14] = kRowEnd;
      uint64_t deadline = NowMs() + kStallMs;
      bool sent = false;
      while (!(sent = rte_eth_tx_burst(memif, 0, &end, 1) == 1) && NowMs() < deadline) {
      }
      if (!sent) rte_pktmbuf_free(end);
    }
    // Let the reflector see it before the link goes down.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } else {
    std::fprintf(stderr, "memif_bench generator: no memif link within %u ms\n", kLinkWaitMs);
  }
  std::ofstream(dir + "/generator.txt") << out.str();
  if (id >= 0) port::ClosePort(memif);
  rte_eal_cleanup();
  return rc;
}

// ---------------------------------------------------------------- orchestrator

pid_t Spawn(const std::string& role, const std::string& dir) {
  std::vector<std::string> args = {
      "/proc/self/exe",
      absl::StrCat("--role=", role),
      absl::StrCat("--dir=", dir),
      absl::StrCat("--packets=", absl::GetFlag(FLAGS_packets)),
      absl::StrCat("--frame_sizes=", absl::StrJoin(absl::GetFlag(FLAGS_frame_sizes), ",")),
      absl::StrCat("--rounds=", absl::GetFlag(FLAGS_rounds)),
      absl::StrCat("--reflector_lcore=", absl::GetFlag(FLAGS_reflector_lcore)),
      absl::StrCat("--generator_lcore=", absl::GetFlag(FLAGS_generator_lcore)),
      absl::StrCat("--timeout_s=", absl::GetFlag(FLAGS_timeout_s))};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // A child never outlives the run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` until `deadline_ms`; kills it after. Its exit code, or -1.
int Reap(pid_t pid, uint64_t deadline_ms) {
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (NowMs() > deadline_ms || g_stop) {
      kill(pid, SIGTERM);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool WaitForFile(const std::string& path, uint32_t ms) {
  uint64_t deadline = NowMs() + ms;
  while (NowMs() < deadline && !g_stop) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<std::vector<std::string>> ReadLines(const std::string& path) {
  std::vector<std::vector<std::string>> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return lines;
}

uint64_t U64(const std::string& s) {
  uint64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Row {
  std::string name;
  uint32_t size = 0;
  std::vector<double> mpps, cycles, wall_mpps, burst, tsc_mpps, cpu_share;
  // A reflector line: kind key packets cycles polls dropped span_cycles cpu_ns.
  void Add(const std::vector<std::string>& f, double hz) {
    double packets = double(U64(f[2])), cycles_ = double(U64(f[3])), polls = double(U64(f[4]));
    double span = double(U64(f[6])), cpu_s = double(U64(f[7])) / 1e9;
    if (packets == 0 || cycles_ == 0 || span == 0 || hz == 0) return;
    double busy_cpu_s = cpu_s * cycles_ / span;
    if (busy_cpu_s > 0) {
      mpps.push_back(packets / busy_cpu_s / 1e6);
      cycles.push_back(busy_cpu_s * hz / packets);
    }
    tsc_mpps.push_back(packets * hz / cycles_ / 1e6);
    cpu_share.push_back(cpu_s / (span / hz));
    burst.push_back(packets / std::max(polls, 1.0));
  }
};

int Orchestrate() {
  char pattern[] = "/tmp/memif_bench.XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::perror("memif_bench: mkdtemp");
    return 2;
  }
  std::string dir = pattern;
  uint64_t deadline = NowMs() + uint64_t{absl::GetFlag(FLAGS_timeout_s)} * 1000;
  pid_t reflector = Spawn("reflector", dir);
  // The client needs the server's socket to connect to.
  bool listening = reflector > 0 && WaitForFile(dir + "/memif.sock", 30'000);
  pid_t generator = listening ? Spawn("generator", dir) : -1;
  int generator_rc = generator > 0 ? Reap(generator, deadline) : -1;
  // Without a generator's end marker the reflector would wait to its deadline.
  if (generator_rc != 0 && reflector > 0) kill(reflector, SIGTERM);
  int reflector_rc = reflector > 0 ? Reap(reflector, deadline + 5'000) : -1;
  auto reflected = ReadLines(dir + "/reflector.txt");
  auto generated = ReadLines(dir + "/generator.txt");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  for (const char* role : {"reflector", "generator"}) {
    std::filesystem::remove_all(
        std::filesystem::path("/var/run/dpdk") / absl::StrCat("memif_bench_", role, "_", getpid()),
        ignored);
  }

  double hz = 0;
  std::map<uint32_t, Row> null_rows, memif_rows;
  std::map<uint64_t, std::vector<std::string>> reflected_rows;
  for (const auto& f : reflected) {
    if (f.size() == 2 && f[0] == "tsc_hz") hz = double(U64(f[1]));
    if (f.size() == 8 && f[0] == "null") {
      uint32_t size = static_cast<uint32_t>(U64(f[1]));
      Row& r = null_rows[size];
      r.size = size;
      r.name = absl::StrCat("net_null rx+tx, ", size, " B");
      r.Add(f, hz);
    }
    if (f.size() == 8 && f[0] == "row") reflected_rows[U64(f[1])] = f;
  }
  bool complete = generator_rc == 0 && reflector_rc == 0;
  uint64_t lost = 0;
  for (const auto& g : generated) {
    if (g.size() != 6 || g[0] != "row") continue;
    uint32_t size = static_cast<uint32_t>(U64(g[2]));
    uint64_t sent = U64(g[3]), received = U64(g[4]), wall_ns = U64(g[5]);
    lost += sent - received;
    Row& r = memif_rows[size];
    r.size = size;
    r.name = absl::StrCat("memif rx+tx, ", size, " B");
    if (wall_ns > 0) r.wall_mpps.push_back(double(received) * 1e3 / double(wall_ns));
    auto it = reflected_rows.find(U64(g[1]));
    if (it != reflected_rows.end()) r.Add(it->second, hz);
  }
  complete = complete && lost == 0 && !memif_rows.empty();

  std::printf(
      "\nmemif_bench: reflector on core %u, generator on core %u, %lu packets per row, "
      "median of %u rounds, TSC %.2f GHz\n",
      absl::GetFlag(FLAGS_reflector_lcore), absl::GetFlag(FLAGS_generator_lcore),
      static_cast<unsigned long>(absl::GetFlag(FLAGS_packets)), absl::GetFlag(FLAGS_rounds),
      hz / 1e9);
  std::printf("%-24s %10s %11s %8s %7s %10s %10s %10s\n", "row", "Mpps/core", "cycles/pkt",
              "vs null", "burst", "pair Mpps", "TSC Mpps", "CPU share");
  std::string json = "{\"unit\":\"Mpps per core\",\"results\":[";
  bool first = true;
  for (auto* rows : {&null_rows, &memif_rows}) {
    for (const auto& [size, r] : *rows) {
      double mpps = Median(r.mpps);
      double null_mpps = null_rows.count(size) ? Median(null_rows[size].mpps) : 0;
      double ratio = null_mpps > 0 ? mpps / null_mpps : 0;
      double wall = Median(r.wall_mpps);
      std::printf("%-24s %10.2f %11.1f %7.2fx %7.1f %10s %10.2f %9.0f%%\n", r.name.c_str(), mpps,
                  Median(r.cycles), ratio, Median(r.burst),
                  r.wall_mpps.empty() ? "-" : absl::StrFormat("%.2f", wall).c_str(),
                  Median(r.tsc_mpps), Median(r.cpu_share) * 100);
      json += absl::StrFormat(
          "%s{\"name\":\"%s\",\"port\":\"%s\",\"frame_bytes\":%u,\"mpps\":%.3f,"
          "\"cycles_per_packet\":%.2f,\"burst\":%.2f,\"ratio_to_null\":%.3f,\"pair_mpps\":%.3f,"
          "\"tsc_mpps\":%.3f,\"cpu_share\":%.3f,\"rounds\":%u}",
          first ? "" : ",", r.name, rows == &null_rows ? "net_null" : "net_memif", size, mpps,
          Median(r.cycles), Median(r.burst), ratio, wall, Median(r.tsc_mpps), Median(r.cpu_share),
          r.mpps.size());
      first = false;
    }
  }
  json += "]}";
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) std::ofstream(path) << json;
  if (!complete) {
    std::fprintf(stderr,
                 "memif_bench: incomplete (generator exit %d, reflector exit %d, %lu frames "
                 "lost)\n",
                 generator_rc, reflector_rc, static_cast<unsigned long>(lost));
    return 1;
  }
  return 0;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  std::string role = absl::GetFlag(FLAGS_role);
  if (FrameSizes().empty()) {
    std::fprintf(stderr, "memif_bench: --frame_sizes: sizes from 60 to 1514\n");
    return 2;
  }
  if (role == "reflector") return Reflector(absl::GetFlag(FLAGS_dir));
  if (role == "generator") return Generator(absl::GetFlag(FLAGS_dir));
  return Orchestrate();
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) { return stampede::perf::Main(argc, argv); }
