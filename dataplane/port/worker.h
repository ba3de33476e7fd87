// The per-lcore poll loop: rx burst -> classify/answer -> tx burst, plus the
// exception path in both directions. Everything a worker touches on the hot path
// is in its own Worker object.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "dataplane/dhcp/leases.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/neighbour_table.h"
#include "dataplane/net/responder.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/exception_path.h"
#include "dataplane/port/tx_backlog.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

namespace stampede::dhcp {
struct Decision;
class Endpoint;
class JournalWriter;
}  // namespace stampede::dhcp
namespace stampede::policy {
class StatusWriter;
}  // namespace stampede::policy

namespace stampede::policy {
struct PolicyTables;
}

namespace stampede::port {

class KernelGso;
class RxLoss;
class TftpEngine;

// DPDK's customary burst (l2fwd, l3fwd): big enough to amortise the PMD call.
inline constexpr uint16_t kBurstSize = 32;
inline constexpr uint32_t kMbufCacheSize = 256;
// How long a learnt neighbour is trusted (Linux's base_reachable_time is 30 s;
// we only use entries to address replies to hosts that just talked to us).
inline constexpr uint64_t kNeighbourMaxAgeSeconds = 300;

struct WorkerConfig {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  std::optional<uint16_t> tap_port_id;  // exception path; none drops what it would carry
  rte_mempool* pool = nullptr;          // for frames the worker originates
  bool announce = false;                // sends gratuitous ARPs on its first poll
  // The current policy (null before the first) and the RCU state the worker
  // reports quiescence to (thread id = queue_id); both optional (benchmarks).
  const std::atomic<const policy::PolicyTables*>* policy = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  // DHCP runs on one worker (the single writer of the lease table): that one
  // has `dhcp`; the others hand DHCP frames over through `dhcp_ring`
  // (multi-producer, single-consumer).
  dhcp::Endpoint* dhcp = nullptr;
  rte_ring* dhcp_ring = nullptr;
  // The lease journal (DHCP worker only); none: ACKs leave at once, nothing
  // is durable.
  dhcp::JournalWriter* journal = nullptr;
  // Where the DHCP worker reports lease events (its own ring).
  policy::StatusWriter* events = nullptr;
  // This worker's TFTP sessions; frames for another worker's session port
  // go to that worker's ring (tftp_rings[owner], multi-producer).
  TftpEngine* tftp = nullptr;
  rte_ring* const* tftp_rings = nullptr;
  uint16_t workers = 1;
  // The wire's kernel interface for big TCP frames from the exception path
  // (net_af_packet / net_af_xdp ports); none: the worker cuts them.
  KernelGso* kernel_gso = nullptr;
  // TCP goes between the TAP and the wire inside the kernel
  // (--kernel_redirect): peers' MSS is clamped to the wire's, not raised.
  bool kernel_redirect = false;
  // After kIdlePollsBeforeSleep polls that moved nothing, the worker sleeps,
  // 1 us first, doubling up to this (--idle_sleep_us, NextIdleSleepUs);
  // 0: it polls without pause.
  uint32_t idle_sleep_us = 0;
  // Read once a second by the one worker that has it, counted as drops
  // (rx_ring_full): frames the port's receive rings had no room for.
  RxLoss* rx_loss = nullptr;
};

// How often the worker with WorkerConfig::rx_loss reads it.
inline constexpr uint64_t kRxLossPeriodMs = 1000;

// Polls in a row that find nothing before an idle worker sleeps: a few
// microseconds of polling, so a burst's stragglers never wait for a sleep.
inline constexpr uint32_t kIdlePollsBeforeSleep = 64;

// ACKs waiting for their lease records to be durable: a boot storm's worth.
inline constexpr size_t kPendingAcks = 8192;
// Frames for the port that its TX queue had no room for (DHCP replies, ARP,
// ICMP, the kernel's frames): they go first on the next poll, in order, and
// only what does not fit here is dropped (tx_queue_full). A TFTP storm can
// fill a TX queue with DATA; a reply waits a poll instead of being lost.
inline constexpr uint32_t kTxBacklog = 1024;

class Worker {
 public:
  Worker(const WorkerConfig& config, const net::LocalAddresses& local, LcoreCounters& counters);
  // Frees ACKs still held for the journal (the clients will ask again); the
  // TX backlog frees its own.
  ~Worker();

  // One iteration of the loop; returns how many frames it moved.
  uint32_t PollOnce();
  // Polls until `stop` is set; online in the RCU state while it runs.
  void Run(const std::atomic<bool>& stop);

 private:
  // Run with config_.idle_sleep_us set.
  void RunWithIdleSleep(const std::atomic<bool>& stop);
  void Announce();
  // Up to kPortBurstsPerPoll bursts from the port, while they come full.
  uint32_t PollPort();
  uint16_t PollPortBurst();
  void CountAnswer(net::Answer answer);
  void PrefetchDhcp(rte_mbuf* const* frames, uint16_t count);
  uint32_t PollKernel();
  // The kernel's frames cut to the wire's MTU, a budget of them per poll.
  uint32_t PollKernelSegmenting();
  // The DHCP worker: frames other workers handed over, and lease expiry.
  uint32_t PollDhcp();
  // TFTP frames other workers handed over, then the engine's timers and I/O.
  uint32_t PollTftp();
  // A TFTP frame: handled here or handed to the session port's owner.
  void RouteTftp(rte_mbuf* m, const net::ParsedPacket& p);
  enum class DhcpOutcome { kSend, kHeld, kDone };
  // Answers one DHCP frame in place. kSend: `m` is a reply to send now;
  // kHeld: an ACK kept until its journal batch is durable; kDone: nothing
  // to send (the caller frees `m`).
  DhcpOutcome HandleDhcp(rte_mbuf* m, const net::ParsedPacket& p);
  // Sends the held ACKs whose batch is durable, drops those whose batch failed.
  void ReleaseAcks();
  // An ACK carrying a one-shot next boot did not leave: the next one carries it.
  void ForgetNextBoot(uint64_t host);
  uint64_t NowUnixMs() const;
  // Sends `count` frames, frees and counts what the queue refused; to the
  // port, behind the TX backlog, which takes what the queue refuses.
  void Send(uint16_t port_id, rte_mbuf** frames, uint16_t count, net::DropReason when_full);
  // Sends the exception path's frames to the wire in order: those marked
  // for TSO through the kernel GSO socket, the others through the port.
  void SendToWire(rte_mbuf** frames, uint16_t count);

  WorkerConfig config_;
  const net::LocalAddresses& local_;
  LcoreCounters& counters_;
  net::NeighbourTable neighbours_;
  net::Responder responder_;
  std::optional<ExceptionPath> exception_;  // with a TAP
  bool announced_ = false;
  // The policy this burst runs with: loaded once per poll, valid until the
  // next quiescent report.
  const policy::PolicyTables* policy_ = nullptr;
  uint64_t reserved_for_ = UINT64_MAX;  // the policy generation the lease table was sized for
  uint64_t next_rx_loss_ms_ = 0;
  net::ParseResult handoff_parse_;
  uint64_t tsc_per_ms_ = 1;
  uint64_t tsc_base_ = 0;
  uint64_t unix_base_ms_ = 0;
  uint64_t now_ms_ = 0;  // wall-clock ms at the start of this poll
  // A lease change waiting for its journal batch: the ACK to send (null for
  // a release or decline) and what to report once durable.
  struct HeldAck {
    rte_mbuf* m;
    uint64_t batch;
    dhcp::LeaseChange change;
    uint32_t address;
    uint64_t expires_unix_ms;
    dhcp::ClientKey client;
    uint64_t next_boot_host;  // the one-shot next boot it carries (0: none)
    uint32_t boot_profile;    // for the event (dhcp::Decision)
    uint32_t client_arch;
  };
  // Reports a durable lease change to the control plane (its own event ring).
  void ReportLease(const HeldAck& change);
  // A proxyDHCP step (a ProxyBoot event), when the decision has one.
  void ReportProxy(const dhcp::Decision& d);
  std::array<HeldAck, kPendingAcks> held_{};
  TxBacklog tx_backlog_{kTxBacklog};
  uint64_t last_exhausted_event_ms_ = 0;
  size_t held_head_ = 0;  // oldest
  size_t held_count_ = 0;
};

}  // namespace stampede::port
