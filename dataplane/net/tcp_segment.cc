#include "dataplane/net/tcp_segment.h"

#include <array>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet.h"

namespace stampede::net {
namespace {

// Header fields, by offset from the start of their header.
constexpr size_t kIpTotalLength = 2;
constexpr size_t kIpIdentification = 4;
constexpr size_t kIpFragment = 6;
constexpr size_t kIpProtocol = 9;
constexpr size_t kIpChecksum = 10;
constexpr size_t kIpSource = 12;
constexpr size_t kTcpSequence = 4;
constexpr size_t kTcpDataOffset = 12;
constexpr size_t kTcpFlags = 13;
constexpr size_t kTcpChecksum = 16;

// One's-complement addition of two partial sums (end-around carry).
uint32_t AddSums(uint32_t a, uint32_t b) {
  uint64_t total = uint64_t{a} + b;
  return static_cast<uint32_t>((total & 0xffffffffu) + (total >> 32));
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// RFC 9293 §3.1: source, destination, zero, protocol, TCP length.
uint32_t TcpPseudoHeaderSum(ConstByteSpan ip_header, size_t tcp_length) {
  std::array<std::byte, 12> pseudo{};
  ByteSpan p(pseudo);
  CopyBytes(p, 0, ip_header.subspan(kIpSource, 8));
  Store8(p, 9, kIpProtoTcp);
  Store16(p, 10, static_cast<uint16_t>(tcp_length));
  return ChecksumPartial(p);
}

// Stores a 16-bit `value` at `offset` of a TCP header (any alignment) and
// updates its checksum for the one or two 16-bit words that changed (RFC 1624).
void StoreAdjustingChecksum(ByteSpan tcp, size_t offset, uint16_t value) {
  size_t first = offset & ~size_t{1};
  size_t last = (offset + 1) & ~size_t{1};
  uint16_t old_first = Load16(tcp, first);
  uint16_t old_last = Load16(tcp, last);
  Store16(tcp, offset, value);
  uint16_t checksum = ChecksumAdjust(Load16(tcp, kTcpChecksum), old_first, Load16(tcp, first));
  if (last != first) checksum = ChecksumAdjust(checksum, old_last, Load16(tcp, last));
  Store16(tcp, kTcpChecksum, checksum);
}

// The SYN's MSS option, or why there is none to rewrite.
MssOption SynMss(ConstByteSpan headers, const FrameHeaders& frame) {
  if (frame.kind != FrameKind::kTcp || (frame.tcp_flags & kTcpSyn) == 0) {
    return {MssResult::kNotSyn, 0, 0};
  }
  return FindMssOption(headers.subspan(frame.l4_offset(), frame.tcp_header_length));
}

}  // namespace

FrameHeaders ParseFrameHeaders(ConstByteSpan headers, size_t frame_length) {
  FrameHeaders frame;
  if (headers.size() > frame_length) headers = headers.first(frame_length);
  if (headers.size() < kEthernetHeaderSize) return frame;
  size_t l3 = kEthernetHeaderSize;
  uint16_t ether_type = Load16(headers, 12);
  if (ether_type == kEtherTypeVlan) {
    if (headers.size() < l3 + kVlanTagSize) return frame;
    ether_type = Load16(headers, 16);
    l3 += kVlanTagSize;
  }
  frame.l3_offset = l3;
  if (ether_type != kEtherTypeIpv4) return frame;
  frame.kind = FrameKind::kMalformed;
  if (headers.size() < l3 + kIpv4MinHeaderSize) return frame;
  uint8_t version_ihl = Load8(headers, l3);
  size_t ip_header_length = static_cast<size_t>(version_ihl & 0x0fu) * 4;
  if (version_ihl >> 4 != 4 || ip_header_length < kIpv4MinHeaderSize ||
      headers.size() < l3 + ip_header_length) {
    return frame;
  }
  size_t total_length = Load16(headers, l3 + kIpTotalLength);
  if (total_length < ip_header_length || l3 + total_length > frame_length) return frame;
  frame.ip_header_length = ip_header_length;
  frame.ip_total_length = total_length;
  frame.ip_fragment = Load16(headers, l3 + kIpFragment);
  frame.ip_protocol = Load8(headers, l3 + kIpProtocol);
  frame.kind = FrameKind::kIpv4;
  bool fragment = (frame.ip_fragment & (kIpv4MoreFragments | kIpv4FragmentOffsetMask)) != 0;
  if (frame.ip_protocol != kIpProtoTcp || fragment) return frame;

  frame.kind = FrameKind::kMalformed;
  size_t l4 = l3 + ip_header_length;
  if (total_length < ip_header_length + kTcpMinHeaderSize ||
      headers.size() < l4 + kTcpMinHeaderSize) {
    return frame;
  }
  size_t tcp_header_length = static_cast<size_t>(Load8(headers, l4 + kTcpDataOffset) >> 4) * 4;
  if (tcp_header_length < kTcpMinHeaderSize ||
      total_length < ip_header_length + tcp_header_length ||
      headers.size() < l4 + tcp_header_length) {
    return frame;
  }
  frame.tcp_header_length = tcp_header_length;
  frame.tcp_flags = Load8(headers, l4 + kTcpFlags);
  frame.tcp_sequence = Load32(headers, l4 + kTcpSequence);
  frame.kind = FrameKind::kTcp;
  return frame;
}

MssOption FindMssOption(ConstByteSpan tcp_header) {
  MssOption found;
  size_t end = tcp_header.size();
  size_t i = kTcpMinHeaderSize;
  while (i < end) {
    uint8_t kind = Load8(tcp_header, i);
    if (kind == kTcpOptionEnd) break;
    if (kind == kTcpOptionNop) {
      ++i;
      continue;
    }
    if (i + 2 > end) return {MssResult::kMalformed, 0, 0};
    size_t length = Load8(tcp_header, i + 1);
    if (length < 2 || i + length > end) return {MssResult::kMalformed, 0, 0};
    if (kind == kTcpOptionMss) {
      if (length != kTcpOptionMssLength || found.result != MssResult::kNoOption) {
        return {MssResult::kMalformed, 0, 0};
      }
      found = {MssResult::kUnchanged, i + 2, Load16(tcp_header, i + 2)};
    }
    i += length;
  }
  return found;
}

MssResult RaiseMss(ByteSpan headers, const FrameHeaders& frame, uint16_t wire_mss,
                   uint16_t tap_mss) {
  MssOption mss = SynMss(headers, frame);
  if (mss.result != MssResult::kUnchanged) return mss.result;
  if (mss.value < wire_mss || mss.value >= tap_mss) return MssResult::kUnchanged;
  StoreAdjustingChecksum(headers.subspan(frame.l4_offset(), frame.tcp_header_length),
                         mss.value_offset, tap_mss);
  return MssResult::kRewritten;
}

MssResult ClampMss(ByteSpan headers, const FrameHeaders& frame, uint16_t wire_mss) {
  MssOption mss = SynMss(headers, frame);
  if (mss.result != MssResult::kUnchanged) return mss.result;
  if (mss.value <= wire_mss) return MssResult::kUnchanged;
  StoreAdjustingChecksum(headers.subspan(frame.l4_offset(), frame.tcp_header_length),
                         mss.value_offset, wire_mss);
  return MssResult::kRewritten;
}

SegmentVerdict PlanSegments(const FrameHeaders& frame, uint32_t mtu, SegmentPlan& plan) {
  if (frame.ip_total_length <= mtu) return SegmentVerdict::kFits;
  // A SYN's data, a RST's and urgent data are not what a bulk sender cuts;
  // the kernel never sends them this big.
  if (frame.kind != FrameKind::kTcp || (frame.tcp_flags & (kTcpSyn | kTcpRst | kTcpUrg)) != 0) {
    return SegmentVerdict::kUnsupported;
  }
  size_t header_length = frame.ip_header_length + frame.tcp_header_length;
  if (mtu <= header_length) return SegmentVerdict::kUnsupported;
  plan.max_payload = mtu - header_length;
  plan.count = (frame.payload_length() + plan.max_payload - 1) / plan.max_payload;
  if (plan.count > kMaxSegmentsPerFrame) return SegmentVerdict::kUnsupported;
  return SegmentVerdict::kSegment;
}

size_t SegmentPayloadOffset(const SegmentPlan& plan, size_t index) {
  return index * plan.max_payload;
}

size_t SegmentPayloadLength(const FrameHeaders& frame, const SegmentPlan& plan, size_t index) {
  size_t offset = SegmentPayloadOffset(plan, index);
  size_t total = frame.payload_length();
  if (offset >= total) return 0;
  return total - offset < plan.max_payload ? total - offset : plan.max_payload;
}

void WriteSegmentHeaders(ConstByteSpan headers, const FrameHeaders& frame, const SegmentPlan& plan,
                         size_t index, uint32_t payload_sum, ByteSpan out) {
  if (out.data() != headers.data()) CopyBytes(out, 0, headers.first(frame.payload_offset()));
  size_t payload_length = SegmentPayloadLength(frame, plan, index);
  size_t tcp_length = frame.tcp_header_length + payload_length;

  ByteSpan ip = out.subspan(frame.l3_offset, frame.ip_header_length);
  Store16(ip, kIpTotalLength, static_cast<uint16_t>(frame.ip_header_length + tcp_length));
  Store16(ip, kIpIdentification, static_cast<uint16_t>(Load16(ip, kIpIdentification) + index));
  Store16(ip, kIpChecksum, 0);
  Store16(ip, kIpChecksum, ChecksumFinish(ChecksumPartial(ip)));

  ByteSpan tcp = out.subspan(frame.l4_offset(), frame.tcp_header_length);
  Store32(tcp, kTcpSequence,
          static_cast<uint32_t>(frame.tcp_sequence + SegmentPayloadOffset(plan, index)));
  uint8_t flags = frame.tcp_flags;
  if (index + 1 < plan.count) flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
  if (index > 0) flags &= static_cast<uint8_t>(~kTcpCwr);
  Store8(tcp, kTcpFlags, flags);
  Store16(tcp, kTcpChecksum, 0);
  // The payload follows a header of whole 32-bit words: its sum adds as is.
  uint32_t sum = AddSums(TcpPseudoHeaderSum(ip, tcp_length), ChecksumPartial(tcp));
  Store16(tcp, kTcpChecksum, ChecksumFinish(AddSums(sum, payload_sum)));
}

uint32_t ChecksumPartialAt(ConstByteSpan bytes, size_t position, uint32_t sum) {
  uint16_t part = Fold(ChecksumPartial(bytes));
  if (position & 1) part = static_cast<uint16_t>((part >> 8) | (part << 8));
  return AddSums(sum, part);
}

size_t BuildSegment(ConstByteSpan frame, const FrameHeaders& headers, const SegmentPlan& plan,
                    size_t index, ByteSpan out) {
  size_t length = SegmentPayloadLength(headers, plan, index);
  ConstByteSpan payload =
      frame.subspan(headers.payload_offset() + SegmentPayloadOffset(plan, index), length);
  CopyBytes(out, headers.payload_offset(), payload);
  WriteSegmentHeaders(frame, headers, plan, index, ChecksumPartial(payload), out);
  return headers.payload_offset() + length;
}

KernelGsoHeader PrepareKernelGso(ByteSpan headers, const FrameHeaders& frame,
                                 const SegmentPlan& plan) {
  ByteSpan ip = headers.subspan(frame.l3_offset, frame.ip_header_length);
  Store16(ip, kIpChecksum, 0);
  Store16(ip, kIpChecksum, ChecksumFinish(ChecksumPartial(ip)));
  ByteSpan tcp = headers.subspan(frame.l4_offset(), frame.tcp_header_length);
  size_t tcp_length = frame.ip_total_length - frame.ip_header_length;
  Store16(tcp, kTcpChecksum, Fold(TcpPseudoHeaderSum(ip, tcp_length)));
  KernelGsoHeader header;
  header.flags = kVirtioNeedsChecksum;
  header.gso_type = kVirtioGsoTcpv4;
  // RFC 3168 §6.1.2: CWR goes on the first segment only; the flag tells the
  // device the frame carries it (Linux clears it after the first anyway).
  if ((frame.tcp_flags & kTcpCwr) != 0) header.gso_type |= kVirtioGsoEcn;
  header.header_length = static_cast<uint16_t>(frame.payload_offset());
  header.segment_size = static_cast<uint16_t>(plan.max_payload);
  header.checksum_start = static_cast<uint16_t>(frame.l4_offset());
  header.checksum_offset = static_cast<uint16_t>(kTcpChecksum);
  return header;
}

}  // namespace stampede::net
