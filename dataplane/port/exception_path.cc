#include "dataplane/port/exception_path.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "absl/strings/str_cat.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/icmp_error.h"
#include "dataplane/port/kernel_gso.h"
#include "dataplane/port/log.h"
#include "dataplane/port/port.h"

namespace stampede::port {
namespace {

using net::FrameHeaders;
using net::FrameKind;
using net::SegmentPlan;

// The smallest MTU every IPv4 host takes (RFC 791 §3.1).
constexpr uint32_t kMinWireMtu = 576;

net::ByteSpan FirstSegment(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, std::byte*), rte_pktmbuf_data_len(m)};
}

uint16_t MssFor(uint32_t mtu) {
  return static_cast<uint16_t>(std::min<uint32_t>(mtu - net::kTcpIpv4Overhead, 0xffff));
}

// Asks the port to sum a segment's IPv4 header and TCP checksum: the TCP
// checksum field holds the pseudo-header's sum, as DPDK's offloads want it.
void RequestChecksums(rte_mbuf* m, const FrameHeaders& frame, uint64_t flags) {
  m->l2_len = frame.l3_offset;
  m->l3_len = frame.ip_header_length;
  m->l4_len = frame.tcp_header_length;
  m->ol_flags |= flags | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, frame.l3_offset);
  auto* tcp = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, frame.l4_offset());
  ip->hdr_checksum = 0;
  tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
}

}  // namespace

bool ChainCursor::Settle() {
  while (segment != nullptr && offset >= segment->data_len) {
    offset -= segment->data_len;
    segment = segment->next;
    // The next header is read a segment's worth of work from now.
    if (segment != nullptr && segment->next != nullptr) rte_prefetch0(segment->next);
  }
  return segment != nullptr;
}

uint32_t ChainCursor::Take(size_t wanted) const {
  return static_cast<uint32_t>(std::min<size_t>(wanted, segment->data_len - offset));
}

net::ConstByteSpan ChainCursor::Bytes(uint32_t length) const {
  return {rte_pktmbuf_mtod_offset(segment, const std::byte*, offset), length};
}

IndirectSupply::IndirectSupply(rte_mempool* pool, size_t wanted)
    : count_(static_cast<uint16_t>(std::min(wanted, mbufs_.size()))) {
  if (count_ > 0 && rte_pktmbuf_alloc_bulk(pool, mbufs_.data(), count_) != 0) {
    count_ = 0;
    ok_ = false;
  }
}

IndirectSupply::~IndirectSupply() {
  if (used_ < count_) rte_pktmbuf_free_bulk(mbufs_.data() + used_, count_ - used_);
}

rte_mbuf* IndirectSupply::Take() { return used_ < count_ ? mbufs_[used_++] : nullptr; }

ExceptionPathConfig ExceptionPathFor(uint16_t port_id, uint16_t tap_port_id, uint16_t queue_id,
                                     rte_mempool* pool, bool kernel_gso, bool kernel_redirect) {
  ExceptionPathConfig config;
  config.port_id = port_id;
  config.tap_port_id = tap_port_id;
  config.queue_id = queue_id;
  config.pool = pool;
  config.wire_mtu = PortMtu(port_id);
  config.tap_mtu = KernelMtu(tap_port_id);
  uint64_t offloads = PortTxOffloads(port_id);
  bool chains = (offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  // A NIC DMAs the segments' payload from the kernel's frame. A software
  // port copies every frame anyway, and one contiguous copy of ours plus its
  // own beats its walking a chain of indirect mbufs (measured on af_packet:
  // 12% more throughput, docs/dataplane.md).
  config.zero_copy = chains && PortIsNic(port_id);
  config.tso_offload = chains && (offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
  rte_eth_dev_info info{};
  config.tso_max_mbufs =
      rte_eth_dev_info_get(port_id, &info) == 0 ? info.tx_desc_lim.nb_seg_max : 0;
  constexpr uint64_t kChecksums = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  config.checksum_offload = (offloads & kChecksums) == kChecksums;
  config.kernel_redirect = kernel_redirect;
  if (kernel_gso) {
    config.kernel_gso = true;
    config.tso_offload = true;
    config.tso_max_mbufs = KernelGso::kMaxMbufsPerFrame;
  }
  return config;
}

ExceptionPath::ExceptionPath(const ExceptionPathConfig& config, LcoreCounters& counters)
    : config_(config), counters_(counters) {
  active_ = config_.pool != nullptr && config_.wire_mtu >= kMinWireMtu &&
            config_.tap_mtu > config_.wire_mtu;
  if (!active_) return;
  wire_mss_ = MssFor(config_.wire_mtu);
  tap_mss_ = MssFor(config_.tap_mtu);
  uint32_t room = rte_pktmbuf_data_room_size(config_.pool) - RTE_PKTMBUF_HEADROOM;
  if (!config_.zero_copy && room < config_.wire_mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN) {
    Log(LogLevel::kWarning, absl::StrCat("event=exception_segments_too_big wire_mtu=",
                                         config_.wire_mtu, " mbuf_room=", room,
                                         " note=\"the port sends no chains: big kernel TCP "
                                         "segments are dropped (segment_no_mbufs)\""));
  }
}

void ExceptionPath::CountClamp(net::MssResult result) {
  if (result == net::MssResult::kRewritten) LcoreCounters::Add(counters_.mss_clamped, 1);
  if (result == net::MssResult::kMalformed) LcoreCounters::Add(counters_.mss_malformed, 1);
}

void ExceptionPath::Drop(rte_mbuf* m, net::DropReason reason) {
  counters_.Drop(reason);
  rte_pktmbuf_free(m);
}

void ExceptionPath::FromWire(rte_mbuf* const* frames, uint16_t count) {
  if (!active_) return;
  for (uint16_t i = 0; i < count; ++i) {
    net::ByteSpan head = FirstSegment(frames[i]);
    FrameHeaders frame = net::ParseFrameHeaders(head, frames[i]->pkt_len);
    if (frame.kind != FrameKind::kTcp || (frame.tcp_flags & net::kTcpSyn) == 0) continue;
    if (config_.kernel_redirect) {
      CountClamp(net::ClampMss(head, frame, wire_mss_));
      continue;
    }
    switch (net::RaiseMss(head, frame, wire_mss_, tap_mss_)) {
      case net::MssResult::kRewritten:
        LcoreCounters::Add(counters_.mss_raised, 1);
        break;
      case net::MssResult::kMalformed:
        LcoreCounters::Add(counters_.mss_malformed, 1);
        break;
      default:
        break;
    }
  }
}

uint16_t ExceptionPath::ToWire(rte_mbuf* m, rte_mbuf** out) {
  out[0] = m;
  if (!active_) return 1;
  net::ByteSpan head = FirstSegment(m);
  FrameHeaders frame = net::ParseFrameHeaders(head, m->pkt_len);
  bool ip = frame.kind == FrameKind::kIpv4 || frame.kind == FrameKind::kTcp;
  if (m->pkt_len <= frame.l3_offset + config_.wire_mtu ||
      (ip && frame.ip_total_length <= config_.wire_mtu)) {
    if (frame.kind == FrameKind::kTcp && (frame.tcp_flags & net::kTcpSyn) != 0) {
      CountClamp(net::ClampMss(head, frame, wire_mss_));
    }
    return 1;
  }
  switch (frame.kind) {
    case FrameKind::kTcp:
      return Segment(m, frame, out);
    case FrameKind::kIpv4:
      if (frame.dont_fragment()) {
        AnswerFragmentationNeeded(m, frame);
        Drop(m, net::DropReason::kExceptionDontFragment);
        return 0;
      }
      return Fragment(m, frame, out);
    case FrameKind::kOther:
    case FrameKind::kMalformed:
      break;
  }
  Drop(m, net::DropReason::kExceptionTooBig);
  return 0;
}

uint16_t ExceptionPath::Segment(rte_mbuf* m, const FrameHeaders& frame, rte_mbuf** out) {
  SegmentPlan plan;
  switch (net::PlanSegments(frame, config_.wire_mtu, plan)) {
    case net::SegmentVerdict::kFits:
      out[0] = m;
      return 1;
    case net::SegmentVerdict::kUnsupported:
      Drop(m, net::DropReason::kSegmentUnsupported);
      return 0;
    case net::SegmentVerdict::kSegment:
      break;
  }
  uint16_t count = 1;
  if (config_.tso_offload && Offload(m, frame, plan)) {
    out[0] = m;
  } else if (Cut(m, frame, plan, out)) {
    rte_pktmbuf_free(m);  // indirect segments keep the buffers they point into
    count = static_cast<uint16_t>(plan.count);
  } else {
    Drop(m, net::DropReason::kSegmentNoMbufs);
    return 0;
  }
  LcoreCounters::Add(counters_.tso_frames, 1);
  LcoreCounters::Add(counters_.tso_segments, plan.count);
  return count;
}

bool ExceptionPath::Offload(rte_mbuf* m, const FrameHeaders& frame, const SegmentPlan& plan) {
  // Padding after the datagram would be cut as payload.
  if (m->nb_segs > config_.tso_max_mbufs || m->pkt_len != frame.frame_length()) return false;
  if (config_.kernel_gso) return PrependGsoHeader(m, frame, plan);
  uint64_t flags = m->ol_flags;
  m->tso_segsz = static_cast<uint16_t>(plan.max_payload);
  RequestChecksums(m, frame, RTE_MBUF_F_TX_TCP_SEG);
  if (rte_eth_tx_prepare(config_.port_id, config_.queue_id, &m, 1) == 1) return true;
  // Too many segments for the NIC, say: cut in software instead (which
  // writes every header and checksum afresh).
  m->ol_flags = flags;
  m->tso_segsz = 0;
  return false;
}

bool ExceptionPath::PrependGsoHeader(rte_mbuf* m, const FrameHeaders& frame,
                                     const SegmentPlan& plan) {
  if (rte_pktmbuf_headroom(m) < sizeof(net::KernelGsoHeader)) return false;
  net::KernelGsoHeader header = net::PrepareKernelGso(FirstSegment(m), frame, plan);
  char* data = rte_pktmbuf_prepend(m, sizeof(header));
  std::memcpy(data, &header, sizeof(header));
  m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
  m->tso_segsz = static_cast<uint16_t>(plan.max_payload);
  return true;
}

bool ExceptionPath::Cut(rte_mbuf* m, const FrameHeaders& frame, const SegmentPlan& plan,
                        rte_mbuf** out) {
  const uint16_t count = static_cast<uint16_t>(plan.count);
  if (rte_pktmbuf_alloc_bulk(config_.pool, out, count) != 0) return false;
  // Zero copy: one indirect mbuf per piece, a piece being a segment's payload
  // within one of the frame's mbufs (each boundary between them splits one).
  IndirectSupply pieces(config_.pool, config_.zero_copy ? count + m->nb_segs : 0);
  ChainCursor cursor{m, static_cast<uint32_t>(frame.payload_offset())};
  bool ok = pieces.ok();
  for (uint16_t i = 0; ok && i < count; ++i) {
    ok = FillSegment(out[i], FirstSegment(m), frame, plan, i, cursor, pieces);
  }
  if (!ok) rte_pktmbuf_free_bulk(out, count);
  return ok;
}

bool ExceptionPath::FillSegment(rte_mbuf* s, net::ConstByteSpan headers, const FrameHeaders& frame,
                                const SegmentPlan& plan, size_t index, ChainCursor& cursor,
                                IndirectSupply& pieces) {
  const size_t header_length = frame.payload_offset();
  const size_t length = net::SegmentPayloadLength(frame, plan, index);
  const bool sum = !config_.checksum_offload;
  char* data = rte_pktmbuf_append(
      s, static_cast<uint16_t>(header_length + (config_.zero_copy ? 0 : length)));
  if (data == nullptr) return false;  // no chains, and the wire's MTU is bigger than an mbuf
  uint32_t payload_sum = 0;
  rte_mbuf* tail = s;
  size_t done = 0;
  while (done < length && cursor.Settle()) {
    uint32_t take = cursor.Take(length - done);
    net::ConstByteSpan piece = cursor.Bytes(take);
    if (config_.zero_copy) {
      rte_mbuf* indirect = pieces.Take();
      if (indirect == nullptr) return false;
      rte_pktmbuf_attach(indirect, cursor.segment);
      indirect->data_off = static_cast<uint16_t>(cursor.segment->data_off + cursor.offset);
      indirect->data_len = static_cast<uint16_t>(take);
      indirect->pkt_len = take;
      tail->next = indirect;
      tail = indirect;
      s->nb_segs++;
      s->pkt_len += take;
    } else {
      std::memcpy(data + header_length + done, piece.data(), take);
    }
    if (sum) payload_sum = net::ChecksumPartialAt(piece, done, payload_sum);
    done += take;
    cursor.offset += take;
  }
  if (done < length) return false;  // the chain is shorter than its headers say
  net::WriteSegmentHeaders(headers, frame, plan, index, payload_sum,
                           {reinterpret_cast<std::byte*>(data), header_length});
  if (!sum) RequestChecksums(s, frame, RTE_MBUF_F_TX_TCP_CKSUM);
  return true;
}

uint16_t ExceptionPath::Fragment(rte_mbuf* m, const FrameHeaders& frame, rte_mbuf** out) {
  // rte_ipv4_fragment_packet takes the datagram from its IPv4 header on.
  std::array<std::byte, RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN> l2;
  const size_t l2_length = frame.l3_offset;
  std::memcpy(l2.data(), rte_pktmbuf_mtod(m, const void*), l2_length);
  uint32_t padding = m->pkt_len - static_cast<uint32_t>(frame.frame_length());
  if ((padding > 0 && rte_pktmbuf_trim(m, static_cast<uint16_t>(padding)) != 0) ||
      rte_pktmbuf_adj(m, static_cast<uint16_t>(l2_length)) == nullptr) {
    Drop(m, net::DropReason::kFragmentFailed);
    return 0;
  }
  int32_t count =
      rte_ipv4_fragment_packet(m, out, net::kMaxSegmentsPerFrame,
                               static_cast<uint16_t>(config_.wire_mtu), config_.pool, config_.pool);
  rte_pktmbuf_free(m);  // the fragments' indirect mbufs keep its buffers
  if (count <= 0) {
    counters_.Drop(count == -ENOMEM ? net::DropReason::kSegmentNoMbufs
                                    : net::DropReason::kFragmentFailed);
    return 0;
  }
  for (int32_t i = 0; i < count; ++i) {
    char* data = rte_pktmbuf_prepend(out[i], static_cast<uint16_t>(l2_length));
    if (data == nullptr) {
      rte_pktmbuf_free_bulk(out, static_cast<unsigned>(count));
      counters_.Drop(net::DropReason::kFragmentFailed);
      return 0;
    }
    std::memcpy(data, l2.data(), l2_length);
    // The library copies the header with its checksum zeroed.
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(data + l2_length);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  LcoreCounters::Add(counters_.ipv4_fragmented, 1);
  LcoreCounters::Add(counters_.ipv4_fragments, static_cast<uint64_t>(count));
  return static_cast<uint16_t>(count);
}

void ExceptionPath::AnswerFragmentationNeeded(rte_mbuf* m, const FrameHeaders& frame) {
  rte_mbuf* answer = rte_pktmbuf_alloc(config_.pool);
  if (answer == nullptr) return;
  char* data = rte_pktmbuf_append(answer, net::kFragmentationNeededMaxSize);
  size_t length = data == nullptr
                      ? 0
                      : net::BuildFragmentationNeeded(
                            FirstSegment(m), frame, static_cast<uint16_t>(config_.wire_mtu),
                            {reinterpret_cast<std::byte*>(data), net::kFragmentationNeededMaxSize});
  if (length == 0) {
    rte_pktmbuf_free(answer);
    return;
  }
  rte_pktmbuf_trim(answer, static_cast<uint16_t>(net::kFragmentationNeededMaxSize - length));
  if (rte_eth_tx_burst(config_.tap_port_id, config_.queue_id, &answer, 1) == 1) {
    LcoreCounters::Add(counters_.frag_needed, 1);
  } else {
    counters_.Drop(net::DropReason::kExceptionQueueFull);
    rte_pktmbuf_free(answer);
  }
}

}  // namespace stampede::port
