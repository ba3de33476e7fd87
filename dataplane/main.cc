// stampede-dataplane: owns the boot NIC through DPDK and runs the poll-mode
// workers. Started by stampede-control (or on its own, e.g. from systemd).
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pdump.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dataplane/dhcp/endpoint.h"
#include "dataplane/dhcp/journal_writer.h"
#include "dataplane/http/server.h"
#include "dataplane/io/block_cache.h"
#include "dataplane/io/file_registry.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/policy/reader.h"
#include "dataplane/policy/service.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/kernel_detach.h"
#include "dataplane/port/kernel_gso.h"
#include "dataplane/port/log.h"
#include "dataplane/port/options.h"
#include "dataplane/port/port.h"
#include "dataplane/port/telemetry.h"
#include "dataplane/port/tftp_engine.h"
#include "dataplane/port/worker.h"

ABSL_FLAG(std::string, port, "",
          "DPDK device to serve on: a PCI address (0000:03:00.0) or a vdev spec "
          "(net_af_packet0,iface=eth1 / net_af_xdp0,iface=eth1 / net_memif0,... / net_null0)");
ABSL_FLAG(std::string, lcores, "0",
          "EAL core list; every core runs one worker (the first is the main lcore)");
ABSL_FLAG(uint32_t, memory_mb, 256, "Memory for mbuf pools and tables, in MiB");
ABSL_FLAG(std::string, huge_pages, "auto",
          "auto: hugepages when enough are free, else --no-huge; on: require them; off: never");
ABSL_FLAG(std::string, file_prefix, "stampede",
          "EAL file prefix, unique per instance (names the telemetry socket directory)");
ABSL_FLAG(std::string, mac, "", "The appliance's MAC address; the port's own when empty");
ABSL_FLAG(std::vector<std::string>, ipv4, {},
          "The appliance's IPv4 addresses with prefix, comma-separated (198.18.0.1/24)");
ABSL_FLAG(std::string, exception_iface, "stampede0",
          "Kernel TAP interface for traffic the fast path does not handle; empty disables it");
ABSL_FLAG(uint32_t, idle_sleep_us, 0,
          "After 64 polls in a row found nothing a worker sleeps 1 us, then twice as long each "
          "time it wakes to nothing, up to this many microseconds (at most 1000): its CPU is "
          "free for the kernel (the exception path's TCP, HTTP) while idle; 0: the workers "
          "busy-poll");
ABSL_FLAG(std::string, kernel_redirect, "on",
          "on: when the port is a kernel interface (net_af_packet, net_af_xdp), IPv4 TCP (but "
          "SYNs) goes between the exception TAP and it inside the kernel, both ways (tc redirect "
          "rules): no worker reads or copies it and the kernel's GSO frames stay whole; off: "
          "the workers forward it");
ABSL_FLAG(std::string, kernel_gso, "on",
          "on: when the port is a kernel interface (net_af_packet, net_af_xdp), the kernel's big "
          "TCP segments from the exception path go to it whole through an AF_PACKET socket with "
          "virtio-net headers and the kernel (or the NIC) cuts them; off: the workers cut them");
ABSL_FLAG(std::string, exception_rps, "auto",
          "auto: the kernel's receive work for the exception TAP runs on the CPUs that run no "
          "worker (Receive Packet Steering), when there are any; off: where the kernel puts it "
          "(the writing worker's CPU)");
ABSL_FLAG(uint32_t, rx_descriptors, 1024, "RX ring size per queue");
ABSL_FLAG(uint32_t, tx_descriptors, 1024, "TX ring size per queue");
ABSL_FLAG(std::vector<std::string>, eal_args, {}, "Extra EAL arguments, comma-separated");
ABSL_FLAG(std::string, lease_journal, "",
          "The lease journal; default /var/lib/stampede/<instance>/leases.journal; 'none' keeps "
          "leases in memory only (nothing survives a restart)");
ABSL_FLAG(uint32_t, tftp_cache_mb, 128,
          "The TFTP block cache shared by all workers, in MiB (hugepage memory on top of "
          "--memory_mb)");
ABSL_FLAG(uint32_t, tftp_sessions, 65536,
          "TFTP session slots per worker (the policy's limits.max_tftp_sessions applies below)");
ABSL_FLAG(uint32_t, tftp_in_flight, 0,
          "TFTP transfers each worker answers at once; a request beyond waits its turn "
          "unanswered (0: half the port's receive ring, so the ring holds the packets every "
          "running transfer can have on the way)");
ABSL_FLAG(std::string, http, "on",
          "on: serve the catalog over HTTP on the policy's http_port at the --ipv4 addresses "
          "(the kernel's TCP stack behind the exception path); off: do not");
ABSL_FLAG(std::string, http_send, "splice",
          "How the HTTP server sends file bytes: splice (file -> pipe -> socket, no copy) or "
          "read (read into a buffer, then send)");
ABSL_FLAG(uint32_t, http_chunk_kb, 0,
          "HTTP: the pipe (splice) or buffer (read) per running transfer, KiB (16..1024); "
          "0: 1024 for splice, 256 for read");
ABSL_FLAG(uint32_t, http_notsent_lowat_kb, 256,
          "HTTP: TCP_NOTSENT_LOWAT of every connection, KiB (a socket takes more bytes only "
          "when fewer than this wait unsent); 0: the kernel's default, no limit");
ABSL_FLAG(uint32_t, http_header_timeout_s, 10,
          "HTTP: seconds for a request head to arrive whole, from its first byte");
ABSL_FLAG(uint32_t, http_idle_timeout_s, 30,
          "HTTP: seconds a kept-alive connection may wait for its next request");
ABSL_FLAG(uint32_t, http_send_timeout_s, 60,
          "HTTP: seconds a response may make no progress before the connection is closed");
ABSL_FLAG(std::string, http_access_log, "on",
          "HTTP: on: one event=http_access line per request; off: none (counters only)");
ABSL_FLAG(std::string, instance, "default",
          "Instance name: the policy region is /dev/shm/stampede-<instance>-policy, the status "
          "region /dev/shm/stampede-<instance>-status");

namespace stampede {
namespace {

using port::Log;
using port::LogLevel;

std::atomic<bool> stop_requested{false};

// The exception TAP's rx mbufs: the kernel's frames are up to 64 KiB, and as
// chains of 2 KiB mbufs their per-mbuf work (net_tap's refill, the kernel GSO
// socket's iovecs, freeing) took a fifth of a busy worker's CPU.
constexpr uint16_t kTapMbufDataRoom = 8192 + RTE_PKTMBUF_HEADROOM;
constexpr unsigned kTapMbufCache = 32;
// Frames other workers hand to the DHCP worker: a boot storm's burst.
constexpr unsigned kDhcpRingSize = 4096;
// Leased addresses whose profile the per-client files can follow (8 MiB).
constexpr size_t kClientDirectoryEntries = size_t{1} << 20;
// Frames for a TFTP session that arrived on another worker's queue.
constexpr unsigned kTftpRingSize = 4096;
// Mbufs a worker's TFTP engine may hold: its TX backlog and a window's worth.
constexpr uint32_t kTftpMbufsPerWorker = 8192 + 4096;

// A two-way flag: true for `on_word`, false for "off", else an error.
absl::StatusOr<bool> SwitchFlag(absl::string_view name, const std::string& value,
                                absl::string_view on_word = "on") {
  if (value == on_word) return true;
  if (value == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, ": '", value, "' is not ", on_word, " or off"));
}

absl::StatusOr<port::DataplaneOptions> OptionsFromFlags() {
  port::DataplaneOptions options;
  options.port = port::WithPortDefaults(absl::GetFlag(FLAGS_port));
  options.lcores = absl::GetFlag(FLAGS_lcores);
  options.memory_mb = absl::GetFlag(FLAGS_memory_mb) + absl::GetFlag(FLAGS_tftp_cache_mb);
  std::string huge = absl::GetFlag(FLAGS_huge_pages);
  if (huge == "auto") {
    options.huge_pages = port::HugePages::kAuto;
  } else if (huge == "on") {
    options.huge_pages = port::HugePages::kOn;
  } else if (huge == "off") {
    options.huge_pages = port::HugePages::kOff;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--huge_pages: '", huge, "' is not one of auto, on, off"));
  }
  options.file_prefix = absl::GetFlag(FLAGS_file_prefix);
  if (std::string mac = absl::GetFlag(FLAGS_mac); !mac.empty()) {
    options.mac = net::MacAddress::Parse(mac);
    if (!options.mac) return absl::InvalidArgumentError(absl::StrCat("--mac: bad MAC '", mac, "'"));
  }
  for (const std::string& text : absl::GetFlag(FLAGS_ipv4)) {
    std::optional<net::Ipv4Interface> interface = net::Ipv4Interface::Parse(text);
    if (!interface) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ipv4: '", text, "' is not an address/prefix like 198.18.0.1/24"));
    }
    options.ipv4.push_back(*interface);
  }
  if (options.ipv4.size() > net::LocalAddresses::kMaxIpv4) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ipv4: at most ", net::LocalAddresses::kMaxIpv4, " addresses"));
  }
  options.exception_iface = absl::GetFlag(FLAGS_exception_iface);
  options.idle_sleep_us = absl::GetFlag(FLAGS_idle_sleep_us);
  if (options.idle_sleep_us > port::kMaxIdleSleepUs) {
    return absl::InvalidArgumentError(
        absl::StrCat("--idle_sleep_us: at most ", port::kMaxIdleSleepUs, " (1 ms)"));
  }
  absl::StatusOr<bool> redirect =
      SwitchFlag("kernel_redirect", absl::GetFlag(FLAGS_kernel_redirect));
  if (!redirect.ok()) return redirect.status();
  options.kernel_redirect = *redirect;
  absl::StatusOr<bool> kernel_gso = SwitchFlag("kernel_gso", absl::GetFlag(FLAGS_kernel_gso));
  if (!kernel_gso.ok()) return kernel_gso.status();
  options.kernel_gso = *kernel_gso;
  absl::StatusOr<bool> rps =
      SwitchFlag("exception_rps", absl::GetFlag(FLAGS_exception_rps), "auto");
  if (!rps.ok()) return rps.status();
  options.exception_rps = *rps;
  uint32_t rx = absl::GetFlag(FLAGS_rx_descriptors), tx = absl::GetFlag(FLAGS_tx_descriptors);
  if (rx == 0 || rx > 65535 || tx == 0 || tx > 65535) {
    return absl::InvalidArgumentError("--rx_descriptors/--tx_descriptors must be 1..65535");
  }
  options.rx_descriptors = static_cast<uint16_t>(rx);
  options.tx_descriptors = static_cast<uint16_t>(tx);
  options.extra_eal_args = absl::GetFlag(FLAGS_eal_args);
  return options;
}

// The CPUs the process may use, read before EAL pins the main thread.
cpu_set_t process_cpus;

// The process's CPUs minus the busy-polling worker lcores' (none left: empty).
cpu_set_t ServiceCpus() {
  cpu_set_t cpus = process_cpus;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH(lcore)
  CPU_CLR(static_cast<int>(rte_lcore_to_cpu_id(static_cast<int>(lcore))), &cpus);
  return cpus;
}

// Service threads (policy watcher) run on the service CPUs when there are
// any, so they never steal a worker's core.
void KeepOffWorkerCores() {
  cpu_set_t cpus = ServiceCpus();
  if (CPU_COUNT(&cpus) == 0) cpus = process_cpus;
  pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
}

// The kernel's work for what the workers write into the exception TAP (its
// TCP receive, and the sending that ACKs clock out) runs on the service
// CPUs instead of the worker's, which busy-polls and would pay for it in
// frames not forwarded (--exception_rps, docs/dataplane.md).
void SteerExceptionReceive(const std::string& tap) {
  cpu_set_t cpus = ServiceCpus();
  std::vector<int> list;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &cpus)) list.push_back(cpu);
  }
  if (list.empty()) {
    Log(LogLevel::kInfo, "event=exception_rps_off reason=\"every CPU runs a worker\"");
    return;
  }
  std::string mask = port::CpuMaskHex(list);
  absl::StatusOr<int> queues = port::SteerKernelReceive(tap, mask);
  if (!queues.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("event=exception_rps_failed error=\"", queues.status().message(), "\""));
    return;  // the path works, on the workers' CPUs
  }
  Log(LogLevel::kInfo,
      absl::StrCat("event=exception_rps iface=", tap, " cpus=", mask, " queues=", *queues));
}

// The signals net_tap asks the kernel for, one per frame the kernel queues
// on the exception TAP (their handler bumps the counter that lets the next
// rx burst read): SIGIO, or a real-time signal in DPDK 22.11. Found after the
// TAP exists: the signals that have a handler (we install none).
sigset_t tap_signals;

void FindTapSignals() {
  sigemptyset(&tap_signals);
  std::vector<int> candidates = {SIGIO};
  for (int signal = SIGRTMIN; signal <= SIGRTMAX; ++signal) candidates.push_back(signal);
  for (int signal : candidates) {
    struct sigaction action {};
    if (sigaction(signal, nullptr, &action) == 0 && action.sa_handler != SIG_DFL &&
        action.sa_handler != SIG_IGN) {
      sigaddset(&tap_signals, signal);
      Log(LogLevel::kInfo,
          absl::StrCat("event=tap_signal signal=", signal, " note=\"blocked in the workers\""));
    }
  }
}

// A process-directed signal goes to the main thread first, a worker: its
// delivery, a reschedule IPI and the handler took a quarter of a busy
// worker's CPU under HTTP load. Blocked in the workers, the kernel hands
// them to a thread on the other CPUs (EAL's, ours), the counter the same.
void RunWorkerLoop(port::Worker& worker) {
  pthread_sigmask(SIG_BLOCK, &tap_signals, nullptr);
  worker.Run(stop_requested);
}

int RunWorker(void* arg) {
  RunWorkerLoop(*static_cast<port::Worker*>(arg));
  return 0;
}

class Dataplane {
 public:
  Dataplane(port::DataplaneOptions options, std::string instance)
      : options_(std::move(options)), instance_(std::move(instance)) {}

  absl::Status Start(uint32_t workers);
  // Worker 0 on the main lcore, the others on EAL worker lcores, the policy
  // watcher on a service thread; returns when `stop_requested` is set.
  void Serve();
  // Stops ports and reports whether every mbuf came back to the pool.
  bool Shutdown();

 private:
  absl::Status StartPolicy(uint32_t workers);
  absl::Status OpenJournal();
  absl::Status StartTftp(uint32_t workers, uint32_t pool_size);
  absl::Status StartHttp(uint32_t workers);
  // Kernel GSO sockets for the workers (--kernel_gso), when the wire is a
  // kernel interface and there is an exception path (else the workers cut).
  void OpenKernelGso(uint32_t workers);
  // TCP between the TAP and the wire inside the kernel, both ways
  // (--kernel_redirect), when the wire is a kernel interface; false: the
  // workers forward it.
  bool RedirectKernelTcp();
  // The port's packet sockets stop taking what this host sends, and what the
  // kernel redirect takes from the wire (docs/dataplane.md, kernel_detach.h).
  void FilterPortSockets();
  // The port's receive losses (port::RxLoss): af_packet's ring sockets are
  // found before KernelGso opens sockets on the same interface.
  void OpenRxLoss();

  port::DataplaneOptions options_;
  std::string instance_;
  net::LocalAddresses local_;
  rte_mempool* pool_ = nullptr;
  // net_af_xdp builds its UMEM on the rx pool and keeps the fill ring's mbufs
  // past close (DPDK 22.11), so it gets a pool of its own and the shared pool's
  // accounting stays exact.
  rte_mempool* umem_pool_ = nullptr;
  // The exception TAP's rx buffers (kTapMbufDataRoom).
  rte_mempool* tap_pool_ = nullptr;
  uint16_t port_id_ = 0;
  std::optional<uint16_t> tap_id_;
  std::optional<std::string> detached_iface_;
  // Our addresses, when the kernel redirect takes peers' TCP to them from the
  // wire (RedirectKernelTcp); empty: it does not.
  std::vector<uint32_t> redirected_to_;
  std::optional<policy::StatusWriter> status_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<policy::PolicyService> policy_;
  // DHCP runs on worker 0; the others hand DHCP frames over through the ring.
  std::unique_ptr<dhcp::Endpoint> dhcp_;
  // What each leased address boots: the DHCP worker writes, TFTP workers
  // and the HTTP thread answer per-client files from it.
  policy::ClientDirectory clients_{kClientDirectoryEntries};
  std::unique_ptr<dhcp::JournalWriter> journal_;
  rte_ring* dhcp_ring_ = nullptr;
  // TFTP: files and the block cache are shared; engines and rings per worker.
  io::FileRegistry files_;
  std::byte* cache_memory_ = nullptr;
  std::unique_ptr<io::BlockCache> cache_;
  rte_mempool* ext_pool_ = nullptr;
  std::vector<port::TftpCounters> tftp_counters_;
  std::vector<std::unique_ptr<port::TftpEngine>> tftp_;
  std::vector<rte_ring*> tftp_rings_;
  std::vector<std::unique_ptr<port::Worker>> workers_;
  // One per worker when big kernel TCP frames go to the wire's interface whole.
  std::vector<std::unique_ptr<port::KernelGso>> kernel_gso_;
  std::unique_ptr<port::RxLoss> rx_loss_;
  // HTTP: a thread of its own, reading the policy through the last qsbr slot;
  // its counters and events are in the status region.
  std::unique_ptr<http::HttpServer> http_;
};

absl::Status Dataplane::Start(uint32_t workers) {
  absl::StatusOr<uint16_t> port_id = port::FindPort(
      port::IsPciAddress(options_.port) ? options_.port : port::DeviceName(options_.port));
  if (!port_id.ok()) return port_id.status();
  port_id_ = *port_id;
  if (std::optional<std::string> iface = port::KernelInterfaceOf(options_.port)) {
    if (absl::Status status = port::DetachKernelStack(*iface); !status.ok()) return status;
    detached_iface_ = iface;
  }
  net::MacAddress mac = options_.mac.value_or(port::PortMac(port_id_));
  if (absl::Status status = port::UseMac(port_id_, mac); !status.ok()) return status;
  local_ = net::LocalAddresses(mac);
  for (const net::Ipv4Interface& interface : options_.ipv4) local_.AddIpv4(interface);

  uint32_t ports = options_.exception_iface.empty() ? 1 : 2;
  uint32_t pool_size =
      port::MbufPoolSize(workers, ports, options_.rx_descriptors, options_.tx_descriptors) +
      workers * (kTftpMbufsPerWorker + port::kTxBacklog);
  pool_ = rte_pktmbuf_pool_create("stampede_mbufs", pool_size, port::kMbufCacheSize, 0,
                                  RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot allocate ", pool_size, " mbufs: raise --memory_mb (now ", options_.memory_mb, ")"));
  }
  port::QueueConfig queues{static_cast<uint16_t>(workers), options_.rx_descriptors,
                           options_.tx_descriptors, pool_};
  port::QueueConfig port_queues = queues;
  if (options_.port.starts_with("net_af_xdp")) {
    umem_pool_ = rte_pktmbuf_pool_create(
        "stampede_umem", port::MbufPoolSize(workers, 1, options_.rx_descriptors, 0),
        port::kMbufCacheSize, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (umem_pool_ == nullptr) {
      return absl::ResourceExhaustedError(
          "cannot allocate the af_xdp UMEM pool: raise --memory_mb");
    }
    port_queues.pool = umem_pool_;
  }
  if (absl::Status status = port::StartPort(port_id_, port_queues); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("port ", options_.port, ": ", status.message()));
  }
  if (!options_.exception_iface.empty()) {
    absl::StatusOr<uint16_t> tap = port::CreateTap(options_.exception_iface, mac);
    if (!tap.ok()) return tap.status();
    tap_id_ = *tap;
    // Frames the TAP hands the wire port whole may wait in its tx ring.
    uint32_t tap_mbufs = workers * (port::kTapRxDescriptors + options_.tx_descriptors +
                                    2 * port::kBurstSize + kTapMbufCache) +
                         kTapMbufCache;
    tap_pool_ = rte_pktmbuf_pool_create("stampede_tap", tap_mbufs, kTapMbufCache, 0,
                                        kTapMbufDataRoom, rte_socket_id());
    if (tap_pool_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate ", tap_mbufs,
                       " exception-path mbufs: raise --memory_mb (now ", options_.memory_mb, ")"));
    }
    port::QueueConfig tap_queues = queues;
    tap_queues.pool = tap_pool_;
    if (absl::Status status = port::StartPort(*tap_id_, tap_queues); !status.ok()) return status;
    FindTapSignals();
    absl::Status status = port::AssignKernelAddresses(options_.exception_iface, options_.ipv4);
    if (!status.ok()) return status;
    if (options_.exception_rps && options_.idle_sleep_us != 0) {
      // A worker that sleeps when idle has time for the kernel's work, and
      // its own CPU saves the IPI (docs/dataplane.md).
      Log(LogLevel::kInfo, "event=exception_rps_off reason=\"the workers sleep when idle\"");
    } else if (options_.exception_rps) {
      SteerExceptionReceive(options_.exception_iface);
    }
  }
  bool kernel_redirect = RedirectKernelTcp();
  // Right after the redirect, before any worker polls or the HTTP server
  // listens: no peer's TCP reaches the kernel twice.
  if (detached_iface_) FilterPortSockets();
  OpenRxLoss();

  if (absl::Status status = StartPolicy(workers); !status.ok()) return status;
  std::span<port::LcoreCounters> counters = status_->counters();
  dhcp_ = std::make_unique<dhcp::Endpoint>(local_);
  dhcp_->server().set_client_directory(&clients_);
  dhcp_->server().UseCounters(status_->dhcp_counters());  // control reads them there
  if (absl::Status status = OpenJournal(); !status.ok()) return status;
  if (workers > 1) {
    dhcp_ring_ = rte_ring_create("stampede_dhcp", kDhcpRingSize, rte_socket_id(), RING_F_SC_DEQ);
    if (dhcp_ring_ == nullptr) {
      return absl::ResourceExhaustedError("cannot create the DHCP handoff ring: raise --memory_mb");
    }
  }
  if (absl::Status status = StartTftp(workers, pool_size); !status.ok()) return status;
  if (absl::Status status = StartHttp(workers); !status.ok()) return status;
  OpenKernelGso(workers);
  for (uint32_t i = 0; i < workers; ++i) {
    port::WorkerConfig config;
    config.port_id = port_id_;
    config.queue_id = static_cast<uint16_t>(i);
    config.tap_port_id = tap_id_;
    config.kernel_gso = kernel_gso_.empty() ? nullptr : kernel_gso_[i].get();
    config.kernel_redirect = kernel_redirect;
    config.idle_sleep_us = options_.idle_sleep_us;
    config.pool = pool_;
    config.announce = i == 0;
    config.policy = &policy_->current();
    config.qsbr = qsbr_;
    config.dhcp = i == 0 ? dhcp_.get() : nullptr;
    config.dhcp_ring = dhcp_ring_;
    config.journal = i == 0 ? journal_.get() : nullptr;
    config.events = i == 0 ? &*status_ : nullptr;
    config.tftp = tftp_[i].get();
    config.tftp_rings = tftp_rings_.data();
    config.workers = static_cast<uint16_t>(workers);
    config.rx_loss = i == 0 ? rx_loss_.get() : nullptr;
    workers_.push_back(std::make_unique<port::Worker>(config, local_, counters[i]));
  }
  port::RegisterDhcpTelemetry(dhcp_->server().counters());
  std::vector<std::string> addresses;
  for (const net::Ipv4Interface& interface : options_.ipv4)
    addresses.push_back(interface.ToString());
  port::RegisterTelemetry(counters, {options_.port, mac.ToString(), absl::StrJoin(addresses, ","),
                                     options_.exception_iface, workers, pool_size});
  Log(LogLevel::kInfo,
      absl::StrCat(
          "event=ready port=", options_.port, " mac=", mac.ToString(),
          " ipv4=", absl::StrJoin(addresses, ","), " workers=", workers,
          " exception_iface=", options_.exception_iface.empty() ? "none" : options_.exception_iface,
          " mbufs=", pool_size, " telemetry=/stampede/stats"));
  return absl::OkStatus();
}

bool Dataplane::RedirectKernelTcp() {
  if (!options_.kernel_redirect || !tap_id_ || !detached_iface_) return false;
  for (const net::Ipv4Interface& interface : options_.ipv4) {
    redirected_to_.push_back(interface.address.value);
  }
  absl::Status status =
      port::RedirectKernelTcp(options_.exception_iface, *detached_iface_, redirected_to_);
  if (!status.ok()) {
    // The workers forward it instead: slower, the same bytes.
    redirected_to_.clear();
    Log(LogLevel::kWarning,
        absl::StrCat("event=kernel_redirect_unavailable error=\"", status.message(), "\""));
    return false;
  }
  Log(LogLevel::kInfo, absl::StrCat("event=kernel_redirect tap=", options_.exception_iface,
                                    " wire=", *detached_iface_));
  return true;
}

void Dataplane::FilterPortSockets() {
  absl::StatusOr<int> sockets = port::FilterPortSockets(*detached_iface_, redirected_to_);
  if (!sockets.ok() && !redirected_to_.empty()) {
    // The workers would forward the peers' TCP the kernel already has: the
    // wire's half of the redirect goes, and the sockets refuse only our own.
    port::RemoveKernelRedirect(*detached_iface_);
    redirected_to_.clear();
    Log(LogLevel::kWarning, "event=kernel_redirect_in_removed reason=\"socket filter failed\"");
    sockets = port::FilterPortSockets(*detached_iface_);
  }
  if (!sockets.ok()) {
    // A failure costs copies, nothing else.
    Log(LogLevel::kWarning,
        absl::StrCat("event=port_filter_failed error=\"", sockets.status().message(), "\""));
    return;
  }
  Log(LogLevel::kInfo,
      absl::StrCat("event=port_filter iface=", *detached_iface_, " sockets=", *sockets,
                   " kernel_tcp_in=", redirected_to_.empty() ? "no" : "yes"));
}

void Dataplane::OpenRxLoss() {
  std::vector<int> ring_sockets;
  if (absl::StartsWith(options_.port, "net_af_packet") && detached_iface_) {
    absl::StatusOr<std::vector<int>> sockets = port::PacketSocketsOf(*detached_iface_);
    if (sockets.ok()) {
      ring_sockets = *std::move(sockets);
    } else {
      Log(LogLevel::kWarning,
          absl::StrCat("event=rx_loss_uncounted error=\"", sockets.status().message(), "\""));
    }
  }
  rx_loss_ = std::make_unique<port::RxLoss>(port_id_, std::move(ring_sockets));
}

void Dataplane::OpenKernelGso(uint32_t workers) {
  if (!options_.kernel_gso || !tap_id_ || !detached_iface_) return;
  for (uint32_t i = 0; i < workers; ++i) {
    absl::StatusOr<std::unique_ptr<port::KernelGso>> gso = port::KernelGso::Open(*detached_iface_);
    if (!gso.ok()) {
      // The workers cut instead: slower over a veth, the same bytes.
      Log(LogLevel::kWarning,
          absl::StrCat("event=kernel_gso_unavailable error=\"", gso.status().message(), "\""));
      kernel_gso_.clear();
      return;
    }
    kernel_gso_.push_back(*std::move(gso));
  }
  Log(LogLevel::kInfo, absl::StrCat("event=kernel_gso iface=", *detached_iface_));
}

absl::Status Dataplane::StartPolicy(uint32_t workers) {
  absl::StatusOr<policy::StatusWriter> status =
      policy::StatusWriter::Create(policy::StatusRegionPath(instance_), workers);
  if (!status.ok()) return status.status();
  status_.emplace(*std::move(status));
  // One slot per worker (worker i is thread i), and the HTTP thread's last.
  size_t size = rte_rcu_qsbr_get_memsize(workers + 1);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("stampede_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, workers + 1) != 0) {
    return absl::ResourceExhaustedError("cannot set up the policy RCU state: raise --memory_mb");
  }
  policy_ = std::make_unique<policy::PolicyService>(policy::RegionPath(instance_), *status_, qsbr_);
  policy::RegisterPolicyTelemetry(status_->header());
  return absl::OkStatus();
}

absl::Status Dataplane::StartTftp(uint32_t workers, uint32_t pool_size) {
  size_t cache_bytes = size_t{absl::GetFlag(FLAGS_tftp_cache_mb)} * 1024 * 1024;
  cache_memory_ = static_cast<std::byte*>(
      rte_malloc_socket("stampede_tftp_cache", cache_bytes, io::kCacheBlockBytes, rte_socket_id()));
  if (cache_memory_ == nullptr && cache_bytes > 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the ", cache_bytes >> 20, " MiB TFTP block cache"));
  }
  // A failed read answers its sessions for a second before it is tried
  // again (a bad sector is not hammered by every waiting session).
  cache_ = std::make_unique<io::BlockCache>(
      cache_memory_, cache_bytes, [](const void* p) -> uint64_t { return rte_mem_virt2iova(p); },
      rte_get_tsc_hz());
  // Chained frames point the NIC at cache blocks: only with their addresses.
  bool zero_copy = port::PortTakesChains(port_id_) && cache_->has_iova();
  if (zero_copy) {
    // Zero-room mbufs that point into the cache: one per DATA frame in flight.
    ext_pool_ = rte_pktmbuf_pool_create("stampede_ext", pool_size, port::kMbufCacheSize, 0, 0,
                                        rte_socket_id());
    if (ext_pool_ == nullptr) {
      return absl::ResourceExhaustedError(
          "cannot allocate the TFTP segment pool: raise --memory_mb");
    }
  }
  tftp_counters_ = std::vector<port::TftpCounters>(workers);
  uint32_t mtu = port::PortMtu(port_id_);
  uint32_t rx_frames = port::RxQueueFrames(port_id_, options_.port, options_.rx_descriptors);
  uint32_t in_flight = absl::GetFlag(FLAGS_tftp_in_flight);
  // A running transfer has up to two packets on the way to us: its ACK, and
  // its ACK of a window sent again while the first waited in the ring.
  if (in_flight == 0) in_flight = std::max(1u, rx_frames / 2);
  for (uint32_t i = 0; i < workers; ++i) {
    port::TftpEngineConfig config;
    config.port_id = port_id_;
    config.queue_id = static_cast<uint16_t>(i);
    config.worker = static_cast<uint16_t>(i);
    config.workers = static_cast<uint16_t>(workers);
    config.pool = pool_;
    config.ext_pool = ext_pool_;
    config.cache = cache_.get();
    config.files = &files_;
    config.max_sessions = absl::GetFlag(FLAGS_tftp_sessions);
    config.mtu = mtu;
    config.max_running = in_flight;
    config.lcore = &status_->counters()[i];
    config.clients = &clients_;
    config.events = &*status_;
    absl::StatusOr<std::unique_ptr<port::TftpEngine>> engine =
        port::TftpEngine::Create(config, local_, tftp_counters_[i]);
    if (!engine.ok()) {
      return absl::Status(engine.status().code(),
                          absl::StrCat("TFTP worker ", i, ": ", engine.status().message()));
    }
    tftp_.push_back(*std::move(engine));
    if (workers > 1) {
      rte_ring* ring = rte_ring_create(absl::StrCat("stampede_tftp", i).c_str(), kTftpRingSize,
                                       rte_socket_id(), RING_F_SC_DEQ);
      if (ring == nullptr) {
        return absl::ResourceExhaustedError("cannot create a TFTP handoff ring: raise --memory_mb");
      }
      tftp_rings_.push_back(ring);
    }
  }
  // Each policy's catalog files are opened (or found open) before workers
  // see the policy; a file that changed since it was catalogued is not
  // served until control catalogues it again.
  policy_->SetPrepare([this](policy::PolicyTables& tables) {
    const auto& catalog = tables.policy.tftp().files();
    tables.file_ids.assign(static_cast<size_t>(catalog.size()), io::FileRegistry::kNoFile);
    size_t unavailable = 0;
    std::string first_problem;
    for (int i = 0; i < catalog.size(); ++i) {
      std::string why;
      tables.file_ids[static_cast<size_t>(i)] = files_.Open(catalog[i], why);
      if (tables.file_ids[static_cast<size_t>(i)] == io::FileRegistry::kNoFile &&
          unavailable++ == 0) {
        first_problem = why;
      }
    }
    Log(unavailable > 0 ? LogLevel::kWarning : LogLevel::kInfo,
        absl::StrCat("event=tftp_catalog generation=", tables.generation, " files=", catalog.size(),
                     " unavailable=", unavailable, " open_files=", files_.count(),
                     unavailable > 0 ? absl::StrCat(" first_problem=\"", first_problem, "\"")
                                     : std::string()));
  });
  port::RegisterTftpTelemetry(tftp_counters_, cache_->bytes(), zero_copy);
  Log(LogLevel::kInfo, absl::StrCat("event=tftp_ready cache_mb=", cache_->bytes() >> 20,
                                    " sessions_per_worker=", absl::GetFlag(FLAGS_tftp_sessions),
                                    " in_flight_per_worker=", in_flight, " rx_ring=", rx_frames,
                                    " zero_copy=", zero_copy ? "yes" : "no", " mtu=", mtu));
  return absl::OkStatus();
}

absl::Status Dataplane::StartHttp(uint32_t workers) {
  absl::StatusOr<bool> on = SwitchFlag("http", absl::GetFlag(FLAGS_http));
  if (!on.ok()) return on.status();
  if (!*on) {
    port::RegisterHttpTelemetry(nullptr, "off");
    Log(LogLevel::kInfo, "event=http_off reason=\"--http=off\"");
    return absl::OkStatus();
  }
  http::HttpServerConfig config;
  for (const net::Ipv4Interface& interface : options_.ipv4) {
    config.addresses.push_back(interface.address.value);
  }
  config.policy = &policy_->current();
  config.qsbr = qsbr_;
  config.qsbr_thread = workers;
  config.files = &files_;
  config.clients = &clients_;
  std::string send = absl::GetFlag(FLAGS_http_send);
  if (send == "splice") {
    config.mode = http::BodyMode::kSplice;
  } else if (send == "read") {
    config.mode = http::BodyMode::kRead;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--http_send: '", send, "' is not splice or read"));
  }
  uint32_t chunk_kb = absl::GetFlag(FLAGS_http_chunk_kb);
  if (chunk_kb != 0 && (chunk_kb < 16 || chunk_kb > 1024)) {
    return absl::InvalidArgumentError("--http_chunk_kb must be 0 (by --http_send) or 16..1024");
  }
  config.chunk_bytes = chunk_kb * 1024;
  uint32_t lowat_kb = absl::GetFlag(FLAGS_http_notsent_lowat_kb);
  if (lowat_kb > 65536) {
    return absl::InvalidArgumentError("--http_notsent_lowat_kb must be 0 (off) or up to 65536");
  }
  config.notsent_lowat_bytes = lowat_kb * 1024;
  config.header_timeout_ms = absl::GetFlag(FLAGS_http_header_timeout_s) * 1000;
  config.idle_timeout_ms = absl::GetFlag(FLAGS_http_idle_timeout_s) * 1000;
  config.send_timeout_ms = absl::GetFlag(FLAGS_http_send_timeout_s) * 1000;
  absl::StatusOr<bool> access_log =
      SwitchFlag("http_access_log", absl::GetFlag(FLAGS_http_access_log));
  if (!access_log.ok()) return access_log.status();
  config.access_log = *access_log;
  config.events = &*status_;
  http::HttpCounters& counters = status_->http_counters();
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
      http::HttpServer::Create(std::move(config), counters);
  if (!server.ok()) return server.status();
  http_ = *std::move(server);
  port::RegisterHttpTelemetry(&counters, send);
  return absl::OkStatus();
}

absl::Status Dataplane::OpenJournal() {
  std::string path = absl::GetFlag(FLAGS_lease_journal);
  if (path == "none") {
    Log(LogLevel::kWarning,
        "event=lease_journal_off detail=\"leases are kept in memory only: a restart forgets "
        "them\"");
    return absl::OkStatus();
  }
  if (path.empty()) path = absl::StrCat("/var/lib/stampede/", instance_, "/leases.journal");
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now_ms =
      static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
  dhcp::JournalOpenStats stats;
  absl::StatusOr<std::unique_ptr<dhcp::JournalWriter>> journal = dhcp::JournalWriter::Open(
      path, now_ms, dhcp_->server().leases(), stats, &dhcp_->server().next_boot_used());
  if (!journal.ok()) {
    return absl::Status(journal.status().code(),
                        absl::StrCat("lease journal: ", journal.status().message()));
  }
  journal_ = *std::move(journal);
  Log(stats.tail_skipped_bytes > 0 || stats.moved_aside ? LogLevel::kWarning : LogLevel::kInfo,
      absl::StrCat("event=leases_restored journal=", path, " records=", stats.records_replayed,
                   " leases=", stats.leases_restored, " next_boots_used=", stats.next_boots_used,
                   " tail_skipped_bytes=", stats.tail_skipped_bytes,
                   stats.tail_reason.empty() ? "" : " tail_reason=\"", stats.tail_reason,
                   stats.tail_reason.empty() ? "" : "\"",
                   stats.moved_aside ? " moved_aside=.corrupt" : ""));
  return absl::OkStatus();
}

void Dataplane::Serve() {
  std::thread service([this] {
    KeepOffWorkerCores();
    policy_->Run(stop_requested);
  });
  std::thread http;
  if (http_) {
    http = std::thread([this] {
      KeepOffWorkerCores();
      pthread_setname_np(pthread_self(), "stampede-http");
      http_->Run(stop_requested);
    });
  }
  // Worker 0 runs on the main lcore, the others on the EAL worker lcores.
  size_t next = 1;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    if (next == workers_.size()) break;
    rte_eal_remote_launch(RunWorker, workers_[next++].get(), lcore);
  }
  RunWorkerLoop(*workers_[0]);
  rte_eal_mp_wait_lcore();
  service.join();
  if (http.joinable()) http.join();
}

bool Dataplane::Shutdown() {
  if (tap_id_) port::ClosePort(*tap_id_);
  port::ClosePort(port_id_);
  if (detached_iface_) {
    if (!redirected_to_.empty()) port::RemoveKernelRedirect(*detached_iface_);
    port::ReattachKernelStack(*detached_iface_);
  }
  workers_.clear();
  port::ForgetHttpCounters();
  http_.reset();
  // Engines hold frames in their backlogs; rings hold frames handed over.
  port::ForgetTftpCounters();
  tftp_.clear();
  for (rte_ring* ring : tftp_rings_) {
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(ring);
  }
  tftp_rings_.clear();
  journal_.reset();  // waits for a batch in flight
  if (dhcp_ring_ != nullptr) {
    // Frames handed over after worker 0 stopped go back to the pool.
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(dhcp_ring_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(dhcp_ring_);
    dhcp_ring_ = nullptr;
  }
  // Every worker is offline now: no grace period to wait for.
  if (policy_) policy_->ReleaseAll();
  policy_.reset();
  rte_free(qsbr_);
  qsbr_ = nullptr;
  if (status_) status_->Remove();
  if (pool_ == nullptr) return true;
  unsigned available = rte_mempool_avail_count(pool_);
  bool all_back = available == pool_->size;
  std::string umem;
  if (umem_pool_ != nullptr) {
    umem = absl::StrCat(" umem_held_by_driver=",
                        umem_pool_->size - rte_mempool_avail_count(umem_pool_));
    rte_mempool_free(umem_pool_);
  }
  if (tap_pool_ != nullptr) {
    unsigned back = rte_mempool_avail_count(tap_pool_);
    all_back = all_back && back == tap_pool_->size;
    umem += absl::StrCat(" tap_mbufs_returned=", back, "/", tap_pool_->size);
    rte_mempool_free(tap_pool_);
  }
  std::string segments;
  if (ext_pool_ != nullptr) {
    unsigned back = rte_mempool_avail_count(ext_pool_);
    all_back = all_back && back == ext_pool_->size;
    segments = absl::StrCat(" segments_returned=", back, "/", ext_pool_->size);
    rte_mempool_free(ext_pool_);
  }
  cache_.reset();
  rte_free(cache_memory_);
  Log(all_back ? LogLevel::kInfo : LogLevel::kError,
      absl::StrCat("event=stopped mbufs_returned=", available, "/", pool_->size, umem, segments));
  rte_mempool_free(pool_);
  return all_back;
}

// SIGINT/SIGTERM are blocked in every thread (EAL's included) and taken here,
// on the CPUs without a worker.
std::thread StartSignalWaiter(sigset_t signals) {
  return std::thread([signals] {
    KeepOffWorkerCores();
    int signal = 0;
    sigwait(&signals, &signal);
    Log(LogLevel::kInfo, absl::StrCat("event=stopping signal=", strsignal(signal)));
    stop_requested.store(true);
  });
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage("stampede-dataplane --port=SPEC --ipv4=ADDR/PREFIX [flags]");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<port::DataplaneOptions> options = OptionsFromFlags();
  absl::StatusOr<std::vector<std::string>> eal_args =
      options.ok() ? port::BuildEalArgs(*options, port::ReadHostFacts())
                   : absl::StatusOr<std::vector<std::string>>(options.status());
  if (!eal_args.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("event=bad_options error=\"", eal_args.status().message(), "\""));
    return 2;
  }
  uint32_t workers = *port::CountWorkers(options->lcores);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client gone mid-response is an error return, not a signal (splice to a
  // socket has no MSG_NOSIGNAL).
  signal(SIGPIPE, SIG_IGN);

  sched_getaffinity(0, sizeof(process_cpus), &process_cpus);
  // Every catalogued file stays open (and has an io_uring fixed-file slot):
  // take all the descriptors the hard limit allows.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::vector<char*> eal_argv;
  for (std::string& arg : *eal_args) eal_argv.push_back(arg.data());
  Log(LogLevel::kInfo, absl::StrCat("event=eal_init args=\"", absl::StrJoin(*eal_args, " "), "\""));
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    Log(LogLevel::kError,
        absl::StrCat("event=eal_init_failed error=\"", rte_strerror(rte_errno), "\""));
    return 1;
  }
  rte_pdump_init();
  std::thread signal_waiter = StartSignalWaiter(signals);

  int exit_code = 0;
  {
    Dataplane dataplane(*std::move(options), absl::GetFlag(FLAGS_instance));
    absl::Status status = dataplane.Start(workers);
    if (status.ok()) {
      dataplane.Serve();
    } else {
      Log(LogLevel::kError, absl::StrCat("event=start_failed error=\"", status.message(), "\""));
      exit_code = 1;
      // Wake the waiter so the process can exit.
      pthread_kill(signal_waiter.native_handle(), SIGTERM);
    }
    if (!dataplane.Shutdown() && exit_code == 0) exit_code = 3;
  }
  signal_waiter.join();
  rte_pdump_uninit();
  rte_eal_cleanup();
  return exit_code;
}

}  // namespace
}  // namespace stampede

int main(int argc, char** argv) { return stampede::Main(argc, argv); }
