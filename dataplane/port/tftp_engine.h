// A worker's TFTP service: the sessions it owns (picked by the server port
// a session answers from), their retransmission timers on a timing wheel,
// cache misses read through the worker's io_uring, and DATA frames built
// from the shared block cache without copying the payload (an external-
// buffer segment per frame, reference counted) when the port takes chained
// mbufs. Single-threaded: only the owning worker calls it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/io/block_cache.h"
#include "dataplane/io/block_reader.h"
#include "dataplane/io/file_registry.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/packet.h"
#include "dataplane/net/responder.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/policy/tables.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/tx_backlog.h"
#include "dataplane/tftp/message.h"
#include "dataplane/tftp/session.h"
#include "dataplane/tftp/timer_wheel.h"
#include "dataplane/tftp/transfer_event.h"

struct rte_mbuf;
struct rte_mempool;

namespace stampede::port {

using net::kTftpFirstSessionPort;
using net::kTftpLastSessionPort;
inline constexpr uint32_t kTftpSessionPorts = kTftpLastSessionPort - kTftpFirstSessionPort + 1;

// Port p belongs to worker (p - kTftpFirstSessionPort) % workers.
constexpr uint16_t TftpPortOwner(uint16_t port, uint16_t workers) {
  return static_cast<uint16_t>((port - kTftpFirstSessionPort) % workers);
}

// Ethernet + IPv4 + UDP + TFTP DATA header, the bytes in front of a block.
inline constexpr uint32_t kTftpFrameOverhead = 14 + 20 + 8 + 4;
// netascii is for small text files: converted whole from one cache block.
inline constexpr uint64_t kMaxNetasciiFile = io::kCacheBlockBytes;

#define STAMPEDE_TFTP_COUNTERS(X)                                                    \
  X(requests)           /* RRQ/WRQ datagrams to port 69 */                           \
  X(duplicate_requests) /* a retransmitted RRQ of a running session */               \
  X(sessions_started)                                                                \
  X(sessions_completed) /* last block acknowledged */                                \
  X(sessions_failed)    /* retries used up or a read error */                        \
  X(sessions_aborted)   /* the client sent an ERROR */                               \
  X(sessions_refused)   /* session table full */                                     \
  X(sessions_queued)    /* requests that waited their turn, unanswered */            \
  X(queue_expired)      /* waited kMaxQueueMs: let go without an answer */           \
  X(oack_sent)                                                                       \
  X(data_sent)                                                                       \
  X(data_retransmitted)    /* DATA sent again after a timeout */                     \
  X(duplicate_acks)        /* stale or repeated ACKs, never answered */              \
  X(data_on_duplicate_ack) /* DATA sent in answer to a duplicate ACK: must stay 0 */ \
  X(bytes_sent)            /* file bytes in DATA */                                  \
  X(errors_sent)                                                                     \
  X(error_file_not_found)                                                            \
  X(error_access_violation)                                                          \
  X(error_illegal_operation)                                                         \
  X(error_option_refused)                                                            \
  X(error_unknown_tid)                                                               \
  X(malformed) /* dropped: not a TFTP request/ACK/ERROR */                           \
  X(cache_hits)                                                                      \
  X(cache_misses)                                                                    \
  X(cache_read_errors)                                                               \
  X(cache_busy) /* every way of a set pinned: the session waited */                  \
  X(tx_dropped) /* frames the TX queue and the backlog could not take */

struct alignas(64) TftpCounters {
#define STAMPEDE_TFTP_COUNTER_FIELD(name) std::atomic<uint64_t> name{0};
  STAMPEDE_TFTP_COUNTERS(STAMPEDE_TFTP_COUNTER_FIELD)
#undef STAMPEDE_TFTP_COUNTER_FIELD
  std::atomic<uint64_t> sessions_active{0};    // a gauge: running or queued
  std::atomic<uint64_t> sessions_in_queue{0};  // a gauge
};

struct TftpEngineConfig {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  uint16_t worker = 0;  // this worker's index among `workers`
  uint16_t workers = 1;
  rte_mempool* pool = nullptr;      // headers, errors, copied payloads
  rte_mempool* ext_pool = nullptr;  // zero-room mbufs for cache segments; null: copy
  io::BlockCache* cache = nullptr;
  const io::FileRegistry* files = nullptr;
  uint32_t max_sessions = 65536;  // table size; the policy's limit applies below it
  uint32_t mtu = 1500;
  // Transfers answered at once; a request beyond waits its turn unanswered,
  // so every running transfer's next packet fits the port's receive ring
  // (docs/tftp.md, "Transfers at once"). 0: no bound.
  uint32_t max_running = 0;
  LcoreCounters* lcore = nullptr;  // the worker's: tx_packets, drops
  // Leased addresses' profiles, for the files answered per client (null:
  // every client gets the catalog's file).
  const policy::ClientDirectory* clients = nullptr;
  // Where each ended request is reported (a TftpTransfer event in this
  // worker's ring of the status region); null: not reported.
  policy::StatusWriter* events = nullptr;
};

class TftpEngine {
 public:
  static absl::StatusOr<std::unique_ptr<TftpEngine>> Create(const TftpEngineConfig& config,
                                                            const net::LocalAddresses& local,
                                                            TftpCounters& counters);
  ~TftpEngine();

  // A UDP datagram to port 69 or to one of this worker's session ports, in
  // `m` (consumed). `policy` is valid for this poll.
  void Handle(rte_mbuf* m, const net::ParsedPacket& p, const policy::PolicyTables& policy,
              uint64_t now_ms);
  // Timers, read completions, sessions waiting for blocks, the TX backlog.
  void Poll(uint64_t now_ms);
  uint32_t active() const { return active_; }

 private:
  struct Endpoint {
    net::MacAddress client_mac;
    bool has_vlan = false;
    uint16_t vlan_tci = 0;
    net::Ipv4Address server_ip;
    net::Ipv4Address client_ip;
    uint16_t server_port = 0;
    uint16_t client_port = 0;
  };
  struct Slot {
    std::optional<tftp::Session> session;
    Endpoint endpoint;
    tftp::Negotiated negotiated;
    uint64_t key = 0;
    uint32_t file = 0;  // registry id
    uint64_t file_offset = 0;
    uint64_t file_length = 0;  // bytes sent: the converted length for netascii
    bool netascii = false;
    // A window that waits for cache blocks: resumes at wait_first.
    bool waiting = false;
    bool wait_oack = false;
    uint64_t wait_first = 0;
    uint64_t wait_count = 0;
    bool retransmission = false;
    bool starting = false;  // netascii: waiting for its bytes to convert
    bool listed = false;    // in waiting_
    bool queued = false;    // in queue_: waits its turn, unanswered
    uint64_t queued_ms = 0;
    uint32_t rollover_to = 0;
    uint32_t next_free = 0;
    std::vector<std::byte> netascii_bytes;  // the converted file (small)
    // For its event: the file as asked for (the slot keeps its capacity, so
    // a reused slot does not allocate), when, windows sent again.
    std::string path;
    uint64_t requested_ms = 0;
    uint32_t retransmits = 0;
  };

  enum class BlockStatus { kReady, kWait, kFailed };
  // Cache blocks a window is being built from: pinned once, not per frame.
  struct Pins {
    static constexpr uint32_t kMax = 2;
    uint64_t key[kMax] = {};
    uint32_t slot[kMax] = {};
    uint32_t count = 0;
  };

  TftpEngine(const TftpEngineConfig& config, const net::LocalAddresses& local,
             TftpCounters& counters);
  static uint64_t ClientKey(net::Ipv4Address ip, uint16_t port) {
    return uint64_t{ip.value} << 16 | port;
  }
  void HandleRequest(const net::ParsedPacket& p, net::ConstByteSpan datagram,
                     const policy::PolicyTables& policy, uint64_t now_ms);
  void HandleSessionPacket(const net::ParsedPacket& p, net::ConstByteSpan datagram,
                           uint64_t now_ms);
  uint16_t NextPort();
  // Answers a request whose slot is filled: prepares netascii, then Start.
  void Begin(uint32_t id, uint64_t now_ms);
  // Begins queued requests, oldest first, while running ones are under
  // max_running; lets go of those that waited kMaxQueueMs.
  void AdmitQueued(uint64_t now_ms);
  // Creates the session's state machine and sends its first packet.
  void Start(uint32_t id, uint64_t now_ms);
  void Transmit(uint32_t id, const tftp::SendAction& action, uint64_t now_ms);
  // Sends blocks first..first+count-1; false when one is not cached yet
  // (the session then waits from that block) or the session failed.
  bool SendBlocks(uint32_t id, uint64_t first, uint64_t count);
  void Wait(uint32_t id);
  // Pins cache block `block` of `file` into `pins` (reused when already
  // there); kWait while it is read (a read is queued on a miss).
  BlockStatus PinBlock(uint32_t file, uint64_t block, Pins& pins, uint32_t& slot);
  void ReleasePins(Pins& pins);
  // Copies `length` bytes at `offset` of `file` out of the cache.
  BlockStatus ReadRange(uint32_t file, uint64_t offset, uint32_t length, std::byte* out);
  BlockStatus BuildData(Slot& s, uint64_t index, Pins& pins, rte_mbuf*& out);
  // netascii: converts the (small) file once its bytes are cached.
  BlockStatus PrepareNetascii(uint32_t id);
  void SendOack(Slot& s);
  void SendError(const Endpoint& e, tftp::ErrorCode code, std::string_view message);
  // A frame of headers and `payload` (an OACK, an ERROR); false: no mbuf.
  bool SendSmall(const Endpoint& e, std::span<const std::byte> payload);
  // Writes Ethernet/IPv4/UDP headers for `udp_payload` bytes; returns their size.
  uint32_t WriteHeaders(std::byte* out, const Endpoint& e, uint32_t udp_payload);
  // UDP checksum over every segment, and Ethernet padding.
  void Finish(rte_mbuf* m, uint32_t l3_offset);
  void Enqueue(rte_mbuf* m);
  void Flush();
  void Expire(uint32_t id, uint64_t now_ms);
  // Answers a request with an ERROR and reports it refused.
  void Refuse(const Endpoint& e, std::string_view path, tftp::ErrorCode code,
              std::string_view message);
  // Reports how a transfer ended, then frees its slot.
  void End(uint32_t id, tftp::TransferOutcome outcome,
           tftp::ErrorCode code = tftp::ErrorCode::kUndefined, std::string_view detail = {});
  // Stamps it with now and pushes it into this worker's ring.
  void Report(tftp::TransferReport report);
  void Free(uint32_t id);
  // Sends an ERROR with `message`, counts the failure and ends the transfer.
  void Fail(uint32_t id, std::string_view message, tftp::TransferOutcome outcome);
  void RetryWaiting(uint64_t now_ms);

  TftpEngineConfig config_;
  const net::LocalAddresses& local_;
  TftpCounters& counters_;
  std::unique_ptr<io::BlockReader> reader_;
  std::vector<Slot> slots_;
  uint32_t free_head_ = 0;
  uint32_t active_ = 0;
  absl::flat_hash_map<uint64_t, uint32_t> by_client_;
  tftp::TimerWheel wheel_;
  std::vector<uint32_t> waiting_;
  std::vector<uint32_t> untried_, still_waiting_;  // RetryWaiting's scratch
  // Requests waiting their turn, oldest first: a ring of max_sessions ids.
  std::vector<uint32_t> queue_;
  uint32_t queue_head_ = 0;
  uint32_t queue_count_ = 0;
  uint64_t now_ms_ = 0;  // the last Handle's or Poll's
  uint64_t completions_seen_ = 0;
  uint64_t last_retry_ms_ = 0;
  uint64_t read_errors_seen_ = 0;
  uint32_t next_port_ = 0;
  uint16_t ip_id_ = 0;
  uint32_t max_blksize_;
  uint32_t copy_max_blksize_;
  bool zero_copy_;
  // Frames the TX queue did not take yet, sent first on the next poll.
  static constexpr uint32_t kBacklog = 8192;
  TxBacklog backlog_{kBacklog};
  static constexpr uint32_t kTxBatch = 32;
  std::array<rte_mbuf*, kTxBatch> tx_{};
  uint32_t tx_count_ = 0;
};

}  // namespace stampede::port
