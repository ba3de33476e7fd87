// rte_ipv4_udptcp_cksum_mbuf (the UDP checksum across a chained frame) is
// still marked experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "dataplane/port/tftp_engine.h"

#include <algorithm>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"

namespace stampede::port {
namespace {

constexpr uint32_t kIpv4HeaderBytes = 20;
constexpr uint16_t kIpv4DontFragment = 0x4000;
// Below this a DATA payload is copied: a segment costs more than the bytes.
constexpr uint32_t kMinZeroCopyBytes = 256;
// Retransmissions before a session is given up: with the RTO doubling from
// the 100 ms floor this is about 20 s of silence, longer from slower links.
constexpr uint32_t kMaxRetries = 8;
// Timer expiries and waiting sessions handled per poll, so a storm of
// timeouts cannot starve the receive path.
constexpr uint32_t kTimerBudget = 4096;
constexpr uint32_t kWaitBudget = 1024;
// A netascii session waits for its file's bytes before its first packet:
// with no timer of its own yet, it gives up after this.
constexpr uint64_t kStartDeadlineMs = 5000;
// A request waits its turn at most this long. A client still there has
// asked again meanwhile and is answered when its turn comes; past this it
// has likely given up, and an answer would hold a turn for nobody.
constexpr uint64_t kMaxQueueMs = 30000;
// Windows are capped below what RFC 7440 allows: a window is built in one
// go and must fit the worker's TX backlog.
constexpr uint32_t kMaxWindowBlocks = 1024;
// A cache block referenced by this many frames in flight gets its bytes
// copied instead: the external-buffer reference count is 16 bits.
constexpr uint16_t kMaxBlockReferences = 60000;
constexpr unsigned kReadsInFlight = 256;

void Count(std::atomic<uint64_t>& counter, uint64_t n = 1) { LcoreCounters::Add(counter, n); }

}  // namespace

absl::StatusOr<std::unique_ptr<TftpEngine>> TftpEngine::Create(const TftpEngineConfig& config,
                                                               const net::LocalAddresses& local,
                                                               TftpCounters& counters) {
  std::unique_ptr<TftpEngine> engine(new TftpEngine(config, local, counters));
  absl::StatusOr<std::unique_ptr<io::BlockReader>> reader =
      io::BlockReader::Create(*config.cache, *config.files, kReadsInFlight);
  if (!reader.ok()) return reader.status();
  engine->reader_ = *std::move(reader);
  return engine;
}

TftpEngine::TftpEngine(const TftpEngineConfig& config, const net::LocalAddresses& local,
                       TftpCounters& counters)
    : config_(config),
      local_(local),
      counters_(counters),
      slots_(config.max_sessions),
      wheel_(config.max_sessions),
      queue_(config.max_sessions),
      zero_copy_(config.ext_pool != nullptr) {
  for (uint32_t i = 0; i < config.max_sessions; ++i) slots_[i].next_free = i + 1;
  by_client_.reserve(config.max_sessions);
  waiting_.reserve(kWaitBudget);
  // RFC 2348: a block must fit the path MTU (no fragments); a block that is
  // copied (no chained frames, or netascii) must also fit one mbuf.
  uint32_t mtu_blksize =
      std::min<uint32_t>(config.mtu - kIpv4HeaderBytes - 8 - 4, tftp::kMaxBlksize);
  uint32_t room = rte_pktmbuf_data_room_size(config.pool) - RTE_PKTMBUF_HEADROOM;
  copy_max_blksize_ =
      std::min<uint32_t>(mtu_blksize, room - kTftpFrameOverhead - net::kVlanTagSize);
  max_blksize_ = zero_copy_ ? mtu_blksize : copy_max_blksize_;
}

TftpEngine::~TftpEngine() {
  for (uint32_t i = 0; i < tx_count_; ++i) rte_pktmbuf_free(tx_[i]);
}

void TftpEngine::Handle(rte_mbuf* m, const net::ParsedPacket& p, const policy::PolicyTables& policy,
                        uint64_t now_ms) {
  now_ms_ = now_ms;
  net::ConstByteSpan datagram(rte_pktmbuf_mtod(m, const std::byte*) + p.udp.payload_offset,
                              p.udp.payload_length);
  if (p.udp.destination_port == net::kTftpPort) {
    HandleRequest(p, datagram, policy, now_ms);
  } else {
    HandleSessionPacket(p, datagram, now_ms);
  }
  rte_pktmbuf_free(m);
}

uint16_t TftpEngine::NextPort() {
  uint32_t mine = (kTftpSessionPorts - config_.worker + config_.workers - 1) / config_.workers;
  next_port_ = (next_port_ + 1) % mine;
  return static_cast<uint16_t>(kTftpFirstSessionPort + config_.worker +
                               next_port_ * config_.workers);
}

void TftpEngine::HandleRequest(const net::ParsedPacket& p, net::ConstByteSpan datagram,
                               const policy::PolicyTables& policy, uint64_t now_ms) {
  Count(counters_.requests);
  tftp::ParsedRequest parsed = tftp::ParseRequest(datagram);
  if (!parsed.ok() || p.udp.source_port == 0) {
    Count(counters_.malformed);
    return;
  }
  const tftp::Request& request = parsed.request;
  uint64_t key = ClientKey(p.ipv4.source, p.udp.source_port);
  if (auto it = by_client_.find(key); it != by_client_.end()) {
    const Slot& running = slots_[it->second];
    if (!running.session || !running.session->acknowledged()) {
      // The client asked again before our first answer reached it; the
      // session's own timer resends that.
      Count(counters_.duplicate_requests);
      return;
    }
    // A request from the same port of a client mid-transfer: it gave the
    // old transfer up (a firmware that reuses its port restarted), or, when
    // every block went out, it had them all and only its last ACK has not
    // reached us yet: with several workers a new request can overtake an
    // ACK handed over from another worker.
    bool all_sent = running.session->all_sent();
    Count(all_sent ? counters_.sessions_completed : counters_.sessions_aborted);
    End(it->second, all_sent ? tftp::TransferOutcome::kCompleted : tftp::TransferOutcome::kAborted);
  }
  Endpoint e{p.source_mac,  p.has_vlan, p.vlan_tci,       p.ipv4.destination,
             p.ipv4.source, NextPort(), p.udp.source_port};
  if (request.opcode == tftp::Opcode::kWrq) {
    Count(counters_.error_access_violation);
    return Refuse(e, request.path, tftp::ErrorCode::kAccessViolation, "read-only server");
  }
  std::optional<std::string> path = tftp::NormalisePath(request.path);
  if (!path) {
    Count(counters_.error_access_violation);
    return Refuse(e, request.path, tftp::ErrorCode::kAccessViolation, "access violation");
  }
  std::optional<uint32_t> index = policy.FindFileIndex(*path);
  if (index) index = policy.ForClient(*index, p.ipv4.source.value, config_.clients);
  uint32_t file = index ? policy.file_ids[*index] : io::FileRegistry::kNoFile;
  if (file == io::FileRegistry::kNoFile) {
    Count(counters_.error_file_not_found);
    return Refuse(e, request.path, tftp::ErrorCode::kFileNotFound, "file not found");
  }
  const v1::CatalogFile& entry = policy.policy.tftp().files(static_cast<int>(*index));
  const v1::CompiledTftp& tftp = policy.policy.tftp();
  const v1::CompiledTftpClass* client_class = policy.TftpClassOf(p.ipv4.source.value);
  bool netascii = request.mode == tftp::Mode::kNetascii;
  tftp::Limits limits;
  limits.max_blksize =
      std::min(client_class ? client_class->max_blksize() : tftp.max_blksize(), max_blksize_);
  limits.max_windowsize = std::min(
      client_class ? client_class->max_windowsize() : tftp.max_windowsize(), kMaxWindowBlocks);
  // netascii sends converted bytes whose size is known only once read: one
  // block at a time and no tsize.
  if (netascii) {
    limits.max_windowsize = 1;
    limits.max_blksize = std::min(limits.max_blksize, copy_max_blksize_);
  }
  tftp::Negotiated n = tftp::Negotiate(request.options, limits);
  if (n.refuse) {
    Count(counters_.error_option_refused);
    return Refuse(e, request.path, tftp::ErrorCode::kOptionRefused, "option value out of range");
  }
  // netascii's size is known only once converted; an empty file's tsize 0
  // is refused by curl (7.88: "invalid tsize"): neither gets one (RFC 2347
  // lets a server leave out any option).
  if (netascii || entry.length() == 0) {
    n.send_tsize = false;
    n.any = n.ack_blksize || n.ack_timeout || n.ack_windowsize;
  }
  if (netascii) {
    if (entry.length() > kMaxNetasciiFile) {
      return Refuse(e, request.path, tftp::ErrorCode::kUndefined,
                    "netascii is served for files up to 64 KiB: ask in octet mode");
    }
  }
  uint32_t limit =
      std::min<uint32_t>(config_.max_sessions, policy.policy.limits().max_tftp_sessions());
  if (active_ >= limit || free_head_ >= config_.max_sessions) {
    Count(counters_.sessions_refused);
    return Refuse(e, request.path, tftp::ErrorCode::kUndefined, "too many transfers: try again");
  }
  uint32_t id = free_head_;
  Slot& s = slots_[id];
  free_head_ = s.next_free;
  ++active_;
  by_client_.emplace(key, id);
  s.endpoint = e;
  s.negotiated = n;
  s.key = key;
  s.file = file;
  s.file_offset = entry.offset();
  s.file_length = entry.length();
  s.netascii = netascii;
  s.rollover_to = client_class ? client_class->rollover_to() : tftp.rollover_to();
  s.path.assign(request.path);
  s.requested_ms = now_ms;
  s.retransmits = 0;
  s.waiting = s.retransmission = false;
  s.starting = true;
  // Behind those already waiting, or when the running ones are at the bound.
  if (config_.max_running > 0 &&
      (queue_count_ > 0 || active_ - queue_count_ > config_.max_running)) {
    s.queued = true;
    s.queued_ms = now_ms;
    queue_[(queue_head_ + queue_count_) % queue_.size()] = id;
    ++queue_count_;
    Count(counters_.sessions_queued);
    return;
  }
  Begin(id, now_ms);
}

void TftpEngine::AdmitQueued(uint64_t now_ms) {
  while (queue_count_ > 0) {
    uint32_t id = queue_[queue_head_];
    Slot& s = slots_[id];
    bool expired = now_ms - s.queued_ms >= kMaxQueueMs;
    if (!expired && active_ - queue_count_ >= config_.max_running) return;
    queue_head_ = static_cast<uint32_t>((queue_head_ + 1) % queue_.size());
    --queue_count_;
    if (!s.queued) continue;  // freed while it waited: nothing to begin
    s.queued = false;
    if (expired) {
      Count(counters_.queue_expired);
      End(id, tftp::TransferOutcome::kUnanswered);
    } else {
      Begin(id, now_ms);
    }
  }
}

void TftpEngine::Begin(uint32_t id, uint64_t now_ms) {
  Slot& s = slots_[id];
  Count(counters_.sessions_started);
  if (s.netascii) {
    BlockStatus status = PrepareNetascii(id);
    if (status == BlockStatus::kWait) {
      wheel_.Schedule(id, now_ms + kStartDeadlineMs);
      return Wait(id);
    }
    if (status == BlockStatus::kFailed)
      return Fail(id, "read error", tftp::TransferOutcome::kReadError);
  }
  Start(id, now_ms);
}

void TftpEngine::Start(uint32_t id, uint64_t now_ms) {
  Slot& s = slots_[id];
  tftp::SessionConfig sc;
  sc.blksize = s.negotiated.blksize;
  sc.windowsize = s.negotiated.windowsize;
  sc.file_size = s.file_length;
  sc.oack = s.negotiated.any;
  sc.rollover_to = s.rollover_to;
  sc.max_retries = kMaxRetries;
  if (s.negotiated.timeout_s > 0) {
    // RFC 2349: the client chose the retransmission timeout.
    sc.initial_rto_ms = sc.min_rto_ms = sc.max_rto_ms = s.negotiated.timeout_s * 1000;
  }
  s.session.emplace(sc);
  s.starting = false;
  Transmit(id, s.session->Start(now_ms), now_ms);
}

TftpEngine::BlockStatus TftpEngine::PrepareNetascii(uint32_t id) {
  Slot& s = slots_[id];
  std::byte raw[kMaxNetasciiFile];
  BlockStatus status = ReadRange(s.file, s.file_offset, static_cast<uint32_t>(s.file_length), raw);
  if (status != BlockStatus::kReady) return status;
  tftp::ToNetascii({raw, s.file_length}, s.netascii_bytes);
  s.file_length = s.netascii_bytes.size();
  return BlockStatus::kReady;
}

void TftpEngine::HandleSessionPacket(const net::ParsedPacket& p, net::ConstByteSpan datagram,
                                     uint64_t now_ms) {
  if (datagram.size() < 2) {
    Count(counters_.malformed);
    return;
  }
  auto opcode = static_cast<tftp::Opcode>(net::Load16(datagram, 0));
  auto it = by_client_.find(ClientKey(p.ipv4.source, p.udp.source_port));
  if (it == by_client_.end() || slots_[it->second].endpoint.server_port != p.udp.destination_port ||
      slots_[it->second].endpoint.server_ip != p.ipv4.destination) {
    // RFC 1350 §4: a packet for no transfer of ours gets error 5 (never an
    // error in answer to an error). Not when the client's port has a newer
    // transfer with us: this is a late packet of its previous one, and an
    // ERROR to that port could be taken for the new transfer's answer.
    if (opcode == tftp::Opcode::kError) return;
    if (it != by_client_.end()) {
      Count(counters_.error_unknown_tid);
      return;
    }
    Endpoint e{p.source_mac,       p.has_vlan,    p.vlan_tci,
               p.ipv4.destination, p.ipv4.source, p.udp.destination_port,
               p.udp.source_port};
    Count(counters_.error_unknown_tid);
    return SendError(e, tftp::ErrorCode::kUnknownTransferId, "unknown transfer ID");
  }
  uint32_t id = it->second;
  Slot& s = slots_[id];
  if (s.queued) {
    // Not answered yet, so its client cannot know this port: a guess or a
    // stray. Nothing ends a request waiting its turn but its turn.
    Count(counters_.error_unknown_tid);
    return;
  }
  if (opcode == tftp::Opcode::kError) {
    Count(counters_.sessions_aborted);
    std::optional<tftp::ErrorMessage> error = tftp::ParseError(datagram);
    return End(id, tftp::TransferOutcome::kAborted,
               error ? error->code : tftp::ErrorCode::kUndefined,
               error ? error->message : std::string_view("the client sent an ERROR"));
  }
  std::optional<uint16_t> block = tftp::ParseAck(datagram);
  if (!block) {
    // RFC 1350 §5: anything but an ACK ends a read transfer.
    Count(counters_.error_illegal_operation);
    Count(counters_.sessions_aborted);
    SendError(s.endpoint, tftp::ErrorCode::kIllegalOperation, "illegal TFTP operation");
    return End(id, tftp::TransferOutcome::kAborted, tftp::ErrorCode::kIllegalOperation,
               "illegal TFTP operation");
  }
  if (!s.session) return;  // still preparing (netascii): the client is early
  uint64_t duplicates = s.session->duplicate_acks();
  tftp::SendAction action = s.session->OnAck(*block, now_ms);
  if (s.session->duplicate_acks() != duplicates) {
    Count(counters_.duplicate_acks);
    // The session never answers one; counted so a test can prove it.
    if (!action.empty()) Count(counters_.data_on_duplicate_ack);
    return;
  }
  if (s.session->done()) {
    Count(counters_.sessions_completed);
    return End(id, tftp::TransferOutcome::kCompleted);
  }
  if (!action.empty()) {
    s.waiting = false;  // a new window replaces one waiting for the cache
    Transmit(id, action, now_ms);
  }
}

void TftpEngine::Transmit(uint32_t id, const tftp::SendAction& action, uint64_t now_ms) {
  Slot& s = slots_[id];
  if (action.oack) {
    SendOack(s);
  } else if (action.count > 0 && !SendBlocks(id, action.first, action.count)) {
    if (!slots_[id].session) return;  // failed on a read error
  }
  wheel_.Schedule(id, std::max(now_ms + 1, s.session->deadline_ms()));
}

bool TftpEngine::SendBlocks(uint32_t id, uint64_t first, uint64_t count) {
  Slot& s = slots_[id];
  Pins pins;
  for (uint64_t i = first; i < first + count; ++i) {
    rte_mbuf* m = nullptr;
    BlockStatus status = BuildData(s, i, pins, m);
    if (status != BlockStatus::kReady) {
      ReleasePins(pins);
      if (status == BlockStatus::kFailed) {
        Fail(id, "read error", tftp::TransferOutcome::kReadError);
        return false;
      }
      s.wait_first = i;
      s.wait_count = first + count - i;
      Wait(id);
      return false;
    }
    Enqueue(m);
    Count(counters_.data_sent);
    if (s.retransmission) Count(counters_.data_retransmitted);
  }
  ReleasePins(pins);
  s.waiting = false;
  return true;
}

void TftpEngine::Wait(uint32_t id) {
  Slot& s = slots_[id];
  s.waiting = true;
  if (!s.listed) {
    s.listed = true;
    waiting_.push_back(id);
  }
}

TftpEngine::BlockStatus TftpEngine::PinBlock(uint32_t file, uint64_t block, Pins& pins,
                                             uint32_t& slot) {
  uint64_t key = io::BlockCache::Key(file, block);
  for (uint32_t i = 0; i < pins.count; ++i) {
    if (pins.key[i] == key) {
      slot = pins.slot[i];
      return BlockStatus::kReady;
    }
  }
  std::optional<io::BlockCache::Pin> pin = config_.cache->Acquire(key);
  if (!pin) {
    Count(counters_.cache_busy);
    return BlockStatus::kWait;
  }
  if (pin->load && !reader_->HasRoom()) {
    config_.cache->Abandon(pin->slot);  // reads in flight are at their bound
    return BlockStatus::kWait;
  }
  if (pin->load) {
    Count(counters_.cache_misses);
    reader_->Queue(file, block, pin->slot);
    return BlockStatus::kWait;
  }
  if (pin->state != io::BlockCache::State::kReady) {
    config_.cache->Release(pin->slot);
    return pin->state == io::BlockCache::State::kFailed ? BlockStatus::kFailed : BlockStatus::kWait;
  }
  Count(counters_.cache_hits);
  if (pins.count == Pins::kMax) {
    // Windows move forward: the oldest pin is done with.
    config_.cache->Release(pins.slot[0]);
    pins.key[0] = pins.key[1];
    pins.slot[0] = pins.slot[1];
    pins.count = 1;
  }
  pins.key[pins.count] = key;
  pins.slot[pins.count] = pin->slot;
  ++pins.count;
  slot = pin->slot;
  return BlockStatus::kReady;
}

void TftpEngine::ReleasePins(Pins& pins) {
  for (uint32_t i = 0; i < pins.count; ++i) config_.cache->Release(pins.slot[i]);
  pins.count = 0;
}

TftpEngine::BlockStatus TftpEngine::ReadRange(uint32_t file, uint64_t offset, uint32_t length,
                                              std::byte* out) {
  Pins pins;
  BlockStatus status = BlockStatus::kReady;
  while (length > 0 && status == BlockStatus::kReady) {
    uint32_t slot = 0;
    status = PinBlock(file, offset / io::kCacheBlockBytes, pins, slot);
    if (status != BlockStatus::kReady) break;
    uint32_t in_block = static_cast<uint32_t>(offset % io::kCacheBlockBytes);
    uint32_t chunk = std::min(length, io::kCacheBlockBytes - in_block);
    std::memcpy(out, config_.cache->data(slot) + in_block, chunk);
    out += chunk;
    offset += chunk;
    length -= chunk;
  }
  ReleasePins(pins);
  return status;
}

TftpEngine::BlockStatus TftpEngine::BuildData(Slot& s, uint64_t index, Pins& pins, rte_mbuf*& out) {
  const tftp::Session& session = *s.session;
  uint32_t length = session.BlockLength(index);
  uint64_t offset = session.BlockOffset(index);
  rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
  if (m == nullptr) return BlockStatus::kWait;  // the timer tries again
  std::byte* frame = rte_pktmbuf_mtod(m, std::byte*);
  uint32_t headers = WriteHeaders(frame, s.endpoint, 4 + length);
  tftp::BuildDataHeader(session.WireBlock(index), {frame + headers, 4});
  uint32_t l3 = headers - kIpv4HeaderBytes - 8;
  m->data_len = static_cast<uint16_t>(headers + 4);
  m->pkt_len = headers + 4;
  if (s.netascii) {
    std::memcpy(frame + headers + 4, s.netascii_bytes.data() + offset, length);
    m->data_len = static_cast<uint16_t>(m->data_len + length);
    m->pkt_len += length;
    Finish(m, l3);
    out = m;
    return BlockStatus::kReady;
  }
  uint64_t source = s.file_offset + offset;
  rte_mbuf* tail = m;
  bool copy = !zero_copy_ || length < kMinZeroCopyBytes;
  while (length > 0) {
    uint32_t slot = 0;
    BlockStatus status = PinBlock(s.file, source / io::kCacheBlockBytes, pins, slot);
    if (status != BlockStatus::kReady) {
      rte_pktmbuf_free(m);
      return status;
    }
    uint32_t in_block = static_cast<uint32_t>(source % io::kCacheBlockBytes);
    uint32_t chunk = std::min(length, io::kCacheBlockBytes - in_block);
    if (!copy && m->nb_segs == 1 && session.BlockLength(index) <= copy_max_blksize_ &&
        rte_mbuf_ext_refcnt_read(config_.cache->shared(slot)) > kMaxBlockReferences) {
      copy = true;  // this block has nearly all the references it can count
    }
    if (copy) {
      std::memcpy(frame + m->data_len, config_.cache->data(slot) + in_block, chunk);
      m->data_len = static_cast<uint16_t>(m->data_len + chunk);
    } else {
      rte_mbuf* segment = rte_pktmbuf_alloc(config_.ext_pool);
      if (segment == nullptr) {
        rte_pktmbuf_free(m);
        return BlockStatus::kWait;
      }
      rte_mbuf_ext_shared_info* shared = config_.cache->shared(slot);
      // The frame's own reference: the block stays until the driver frees it.
      rte_mbuf_ext_refcnt_update(shared, 1);
      rte_pktmbuf_attach_extbuf(segment, config_.cache->data(slot) + in_block,
                                config_.cache->iova(slot) + in_block, static_cast<uint16_t>(chunk),
                                shared);
      segment->data_len = static_cast<uint16_t>(chunk);
      segment->pkt_len = chunk;
      tail->next = segment;
      tail = segment;
      ++m->nb_segs;
    }
    m->pkt_len += chunk;
    source += chunk;
    length -= chunk;
  }
  Count(counters_.bytes_sent, session.BlockLength(index));
  Finish(m, l3);
  out = m;
  return BlockStatus::kReady;
}

void TftpEngine::SendOack(Slot& s) {
  std::byte oack[tftp::kMaxRequestSize];
  size_t length = tftp::BuildOack(s.negotiated, s.file_length, oack);
  // No mbuf: the timer sends it again.
  if (SendSmall(s.endpoint, {oack, length})) Count(counters_.oack_sent);
}

bool TftpEngine::SendSmall(const Endpoint& e, std::span<const std::byte> payload) {
  rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
  if (m == nullptr) return false;
  std::byte* frame = rte_pktmbuf_mtod(m, std::byte*);
  uint32_t headers = WriteHeaders(frame, e, static_cast<uint32_t>(payload.size()));
  std::memcpy(frame + headers, payload.data(), payload.size());
  m->data_len = static_cast<uint16_t>(headers + payload.size());
  m->pkt_len = m->data_len;
  Finish(m, headers - kIpv4HeaderBytes - 8);
  Enqueue(m);
  return true;
}

void TftpEngine::SendError(const Endpoint& e, tftp::ErrorCode code, std::string_view message) {
  std::byte error[128];
  size_t length = tftp::BuildError(code, message.substr(0, 100), error);
  if (SendSmall(e, {error, length})) Count(counters_.errors_sent);
}

uint32_t TftpEngine::WriteHeaders(std::byte* out, const Endpoint& e, uint32_t udp_payload) {
  net::ByteSpan b(out, kTftpFrameOverhead + net::kVlanTagSize);
  e.client_mac.Store(b, 0);
  local_.mac().Store(b, 6);
  size_t offset = 12;
  if (e.has_vlan) {
    net::Store16(b, 12, net::kEtherTypeVlan);
    net::Store16(b, 14, e.vlan_tci);
    offset = 16;
  }
  net::Store16(b, offset, net::kEtherTypeIpv4);
  size_t l3 = offset + 2;
  net::ByteSpan ip = b.subspan(l3, kIpv4HeaderBytes);
  net::Store16(ip, 0, 0x4500);
  net::Store16(ip, 2, static_cast<uint16_t>(kIpv4HeaderBytes + 8 + udp_payload));
  net::Store16(ip, 4, ip_id_++);
  net::Store16(ip, 6, kIpv4DontFragment);
  net::Store16(ip, 8, static_cast<uint16_t>(net::kDefaultTtl << 8 | net::kIpProtoUdp));
  net::Store16(ip, 10, 0);
  e.server_ip.Store(ip, 12);
  e.client_ip.Store(ip, 16);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  net::ByteSpan udp = b.subspan(l3 + kIpv4HeaderBytes, 8);
  net::Store16(udp, 0, e.server_port);
  net::Store16(udp, 2, e.client_port);
  net::Store16(udp, 4, static_cast<uint16_t>(8 + udp_payload));
  net::Store16(udp, 6, 0);
  return static_cast<uint32_t>(l3 + kIpv4HeaderBytes + 8);
}

void TftpEngine::Finish(rte_mbuf* m, uint32_t l3) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3);
  // DPDK returns the checksum as it goes on the wire (no byte swap).
  auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, l3 + kIpv4HeaderBytes);
  udp->dgram_cksum =
      rte_ipv4_udptcp_cksum_mbuf(m, ip, static_cast<uint16_t>(l3 + kIpv4HeaderBytes));
  if (m->nb_segs == 1 && m->pkt_len < net::kMinFrameSize) {
    // Ethernet's minimum: padding after the IP datagram.
    std::memset(rte_pktmbuf_mtod_offset(m, std::byte*, m->data_len), 0,
                net::kMinFrameSize - m->pkt_len);
    m->data_len = net::kMinFrameSize;
    m->pkt_len = net::kMinFrameSize;
  }
}

void TftpEngine::Enqueue(rte_mbuf* m) {
  tx_[tx_count_++] = m;
  if (tx_count_ == kTxBatch) Flush();
}

void TftpEngine::Flush() {
  // What waited in the backlog goes first, in order.
  uint32_t dropped =
      backlog_.Send(config_.port_id, config_.queue_id, tx_.data(), tx_count_, config_.lcore);
  if (dropped > 0) Count(counters_.tx_dropped, dropped);
  tx_count_ = 0;
}

void TftpEngine::Expire(uint32_t id, uint64_t now_ms) {
  Slot& s = slots_[id];
  if (!s.session) {
    // Its bytes never came.
    if (s.starting) Fail(id, "timed out", tftp::TransferOutcome::kReadError);
    return;
  }
  std::optional<tftp::SendAction> action = s.session->OnTimeout(now_ms);
  if (!action) return Fail(id, "timed out", tftp::TransferOutcome::kTimedOut);
  s.waiting = false;
  s.retransmission = true;
  ++s.retransmits;
  Transmit(id, *action, now_ms);
  if (s.session) s.retransmission = false;
}

void TftpEngine::Fail(uint32_t id, std::string_view message, tftp::TransferOutcome outcome) {
  SendError(slots_[id].endpoint, tftp::ErrorCode::kUndefined, message);
  Count(counters_.sessions_failed);
  End(id, outcome, tftp::ErrorCode::kUndefined, message);
}

void TftpEngine::Refuse(const Endpoint& e, std::string_view path, tftp::ErrorCode code,
                        std::string_view message) {
  SendError(e, code, message);
  tftp::TransferReport r;
  r.client_address = e.client_ip.value;
  r.client_port = e.client_port;
  r.file = path;
  r.outcome = tftp::TransferOutcome::kRefused;
  r.error_code = static_cast<uint16_t>(code);
  r.detail = message;
  Report(r);
}

void TftpEngine::End(uint32_t id, tftp::TransferOutcome outcome, tftp::ErrorCode code,
                     std::string_view detail) {
  const Slot& s = slots_[id];
  tftp::TransferReport r;
  r.client_address = s.endpoint.client_ip.value;
  r.client_port = s.endpoint.client_port;
  r.file = s.path;
  r.outcome = outcome;
  if (outcome != tftp::TransferOutcome::kCompleted && outcome != tftp::TransferOutcome::kUnanswered)
    r.error_code = static_cast<uint16_t>(code);
  r.detail = detail;
  r.size = s.file_length;
  if (outcome == tftp::TransferOutcome::kCompleted) {
    r.bytes = s.file_length;
  } else if (s.session) {
    r.bytes = std::min(s.session->acked() * s.negotiated.blksize, s.file_length);
  }
  r.duration_us = (now_ms_ - std::min(now_ms_, s.requested_ms)) * 1000;
  r.block_size = s.negotiated.blksize;
  r.window_size = s.negotiated.windowsize;
  r.retransmits = s.retransmits;
  Report(r);
  Free(id);
}

void TftpEngine::Report(tftp::TransferReport r) {
  if (config_.events == nullptr) return;
  r.time_ns = now_ms_ * 1'000'000;
  std::byte event[tftp::kMaxTftpTransferEventBytes];
  size_t n = tftp::EncodeTftpTransferEvent(r, event);
  config_.events->PushTftp({event, n}, config_.worker);  // a full ring counts, never waits
}

void TftpEngine::Free(uint32_t id) {
  Slot& s = slots_[id];
  wheel_.Cancel(id);
  by_client_.erase(s.key);
  s.session.reset();
  s.waiting = false;
  s.starting = false;
  s.queued = false;
  if (!s.netascii_bytes.empty()) std::vector<std::byte>().swap(s.netascii_bytes);
  s.next_free = free_head_;
  free_head_ = id;
  --active_;
}

void TftpEngine::RetryWaiting(uint64_t now_ms) {
  // The first kWaitBudget live entries are tried; those that still wait go
  // behind the ones not tried this time, so every session gets its turn.
  untried_.clear();
  still_waiting_.clear();
  uint32_t tried = 0;
  for (uint32_t id : waiting_) {
    Slot& s = slots_[id];
    if (!s.waiting) {
      s.listed = false;
      continue;
    }
    if (tried == kWaitBudget) {
      untried_.push_back(id);
      continue;
    }
    ++tried;
    // Still listed while retried: a Wait() on the way does not add it twice.
    if (s.starting) {
      BlockStatus status = PrepareNetascii(id);
      if (status == BlockStatus::kReady) {
        s.waiting = false;
        s.listed = false;
        Start(id, now_ms);
      } else if (status == BlockStatus::kFailed) {
        s.listed = false;
        Fail(id, "read error", tftp::TransferOutcome::kReadError);
      } else {
        still_waiting_.push_back(id);
      }
      continue;
    }
    if (SendBlocks(id, s.wait_first, s.wait_count)) {
      s.listed = false;
      // Sent late: its timer and round-trip clock start now, not when the
      // window was due.
      s.session->Restamp(now_ms);
      wheel_.Schedule(id, std::max(now_ms + 1, s.session->deadline_ms()));
    } else if (s.waiting) {
      still_waiting_.push_back(id);
    } else {
      s.listed = false;  // failed and freed
    }
  }
  waiting_.swap(untried_);
  waiting_.insert(waiting_.end(), still_waiting_.begin(), still_waiting_.end());
}

void TftpEngine::Poll(uint64_t now_ms) {
  now_ms_ = now_ms;
  uint32_t reaped = reader_->Reap();
  if (reaped > 0) {
    Count(counters_.cache_read_errors, reader_->read_errors() - read_errors_seen_);
    read_errors_seen_ = reader_->read_errors();
  }
  wheel_.Advance(now_ms, kTimerBudget, [&](uint32_t id) { Expire(id, now_ms); });
  if (queue_count_ > 0) AdmitQueued(now_ms);
  uint64_t completions = config_.cache->completions();
  if (!waiting_.empty() && (completions != completions_seen_ || now_ms != last_retry_ms_)) {
    completions_seen_ = completions;
    last_retry_ms_ = now_ms;
    RetryWaiting(now_ms);
  }
  reader_->Submit();
  Flush();
  counters_.sessions_active.store(active_, std::memory_order_relaxed);
  counters_.sessions_in_queue.store(queue_count_, std::memory_order_relaxed);
}

}  // namespace stampede::port
