// TCP segmentation for the exception path: the kernel behind the TAP is told
// the wire takes segments as big as the TAP's MTU (the MSS option of every SYN
// is rewritten both ways), and its big segments are cut here to the wire's
// MTU. Plain byte logic (no DPDK): the port layer walks the mbufs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/net/bytes.h"

namespace stampede::net {

// RFC 9293 §3.1: the fixed header; the data offset counts 32-bit words (5..15).
inline constexpr size_t kTcpMinHeaderSize = 20;
inline constexpr size_t kTcpMaxHeaderSize = 60;
// RFC 9293 §3.1 control bits (RFC 3168 for ECE and CWR).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;
// RFC 9293 §3.2: option kinds; the MSS option is kind, length 4, 16-bit value.
inline constexpr uint8_t kTcpOptionEnd = 0;
inline constexpr uint8_t kTcpOptionNop = 1;
inline constexpr uint8_t kTcpOptionMss = 2;
inline constexpr uint8_t kTcpOptionMssLength = 4;
// RFC 9293 §3.7.1 (RFC 879): MSS = MTU - the fixed IPv4 and TCP headers.
inline constexpr uint32_t kTcpIpv4Overhead = 40;
// RFC 791 §3.1: Don't Fragment in the flags/fragment-offset word.
inline constexpr uint16_t kIpv4DontFragment = 0x4000;
// RFC 791 §3.1: the total length is 16 bits.
inline constexpr size_t kIpv4MaxTotalLength = 65535;
// Segments one frame may become: a 64 KiB datagram over the smallest MTU the
// port layer admits (576, RFC 791) with maximal IPv4 and TCP headers.
inline constexpr size_t kMaxSegmentsPerFrame = 160;

enum class FrameKind : uint8_t {
  kOther,      // not IPv4 (IPv6, ARP, ...)
  kIpv4,       // IPv4, not TCP (or a fragment of anything)
  kTcp,        // IPv4 + TCP, headers complete
  kMalformed,  // IPv4 whose headers contradict each other or the frame
};

// Where the headers of an Ethernet (+ one 802.1Q tag) / IPv4 (/ TCP) frame
// are, and what the segmentation needs of them. Offsets from the frame start.
struct FrameHeaders {
  FrameKind kind = FrameKind::kOther;
  size_t l3_offset = 0;  // set for every Ethernet frame (0 for a runt)
  size_t ip_header_length = 0;
  size_t ip_total_length = 0;
  uint16_t ip_fragment = 0;  // flags and fragment offset, as on the wire
  uint8_t ip_protocol = 0;
  size_t tcp_header_length = 0;  // kTcp only, options included
  uint8_t tcp_flags = 0;
  uint32_t tcp_sequence = 0;

  size_t l4_offset() const { return l3_offset + ip_header_length; }
  size_t payload_offset() const { return l4_offset() + tcp_header_length; }
  size_t payload_length() const { return ip_total_length - ip_header_length - tcp_header_length; }
  // The frame without any Ethernet padding after the datagram.
  size_t frame_length() const { return l3_offset + ip_total_length; }
  bool dont_fragment() const { return (ip_fragment & kIpv4DontFragment) != 0; }
};

// Locates the headers of a frame of `frame_length` bytes whose first bytes
// (all of its headers, contiguous) are `headers`. Checks the IPv4 version and
// lengths and the TCP data offset; not checksums (the kernel made them). A
// TCP header cut off by the end of `headers` is kMalformed.
FrameHeaders ParseFrameHeaders(ConstByteSpan headers, size_t frame_length);

enum class MssResult : uint8_t {
  kNotSyn,     // nothing to do
  kNoOption,   // a SYN without an MSS option
  kUnchanged,  // the option is there and needs no change
  kRewritten,  // the option and the TCP checksum were rewritten
  kMalformed,  // the options do not parse: the frame is left as it was
};

// Where a SYN's MSS option value is (offset from the TCP header's start).
struct MssOption {
  MssResult result = MssResult::kNoOption;  // kUnchanged when found
  size_t value_offset = 0;
  uint16_t value = 0;
};

// Walks the options of `tcp_header` (RFC 9293 §3.2), never past its end: an
// option running past it, a length under 2, an MSS option whose length is not
// 4 or a second MSS option is kMalformed.
MssOption FindMssOption(ConstByteSpan tcp_header);

// A SYN from the wire to the kernel: when the peer takes segments of at least
// `wire_mss`, tell the kernel it takes `tap_mss` (the exception path cuts
// them). A peer that asks for less keeps its value: the kernel then never
// sends more than the wire carries and nothing needs cutting.
MssResult RaiseMss(ByteSpan headers, const FrameHeaders& frame, uint16_t wire_mss,
                   uint16_t tap_mss);
// A SYN from the kernel to the wire: at most `wire_mss` (MSS clamping).
MssResult ClampMss(ByteSpan headers, const FrameHeaders& frame, uint16_t wire_mss);

// How a TCP frame is cut: every segment but the last carries `max_payload`.
struct SegmentPlan {
  size_t max_payload = 0;
  size_t count = 0;
};

enum class SegmentVerdict : uint8_t {
  kFits,         // the datagram fits the MTU as it is
  kSegment,      // cut it by the plan
  kUnsupported,  // SYN, RST or URG, or more than kMaxSegmentsPerFrame segments
};

// Plans cutting a kTcp frame to datagrams of at most `mtu` bytes.
SegmentVerdict PlanSegments(const FrameHeaders& frame, uint32_t mtu, SegmentPlan& plan);

// Payload bytes of segment `index`, and where they start in the original
// payload.
size_t SegmentPayloadOffset(const SegmentPlan& plan, size_t index);
size_t SegmentPayloadLength(const FrameHeaders& frame, const SegmentPlan& plan, size_t index);

// Writes the headers of segment `index` (frame.payload_offset() bytes, from the
// Ethernet header to the TCP options) into `out`: the original `headers` with
// the IPv4 total length, identification (the original's + index, as Linux's
// GSO does) and header checksum, and the TCP sequence number, flags (FIN and
// PSH on the last segment only, CWR on the first only) and checksum set.
// `payload_sum` is the ChecksumPartial of the segment's payload bytes.
void WriteSegmentHeaders(ConstByteSpan headers, const FrameHeaders& frame, const SegmentPlan& plan,
                         size_t index, uint32_t payload_sum, ByteSpan out);

// ChecksumPartial of `bytes` that lie at byte `position` of the summed data,
// added to `sum`: a run starting at an odd position has its bytes' roles
// swapped (RFC 1071 §2(B)), so a payload scattered over buffers of any lengths
// sums the same as in one piece.
uint32_t ChecksumPartialAt(ConstByteSpan bytes, size_t position, uint32_t sum);

// Segment `index` of a contiguous `frame`, headers and payload, into `out`
// (at least frame.payload_offset() + max_payload bytes); returns its length.
size_t BuildSegment(ConstByteSpan frame, const FrameHeaders& headers, const SegmentPlan& plan,
                    size_t index, ByteSpan out);

// What a kernel interface needs to cut a TCP frame itself: the virtio-net
// header (virtio 1.x §5.1.6, without num_buffers; Linux's virtio_net_hdr,
// whose header C++ cannot include), which an AF_PACKET socket with
// PACKET_VNET_HDR takes before each frame: the segment size, where the
// headers end and where the TCP checksum is, for the kernel's GSO (or the
// NIC's TSO) to fill in per segment. Fields in host byte order (Linux reads
// them little-endian where the host is).
struct KernelGsoHeader {
  uint8_t flags = 0;     // kVirtioNeedsChecksum
  uint8_t gso_type = 0;  // kVirtioGsoTcpv4, | kVirtioGsoEcn when CWR is set
  uint16_t header_length = 0;
  uint16_t segment_size = 0;
  uint16_t checksum_start = 0;
  uint16_t checksum_offset = 0;
};
static_assert(sizeof(KernelGsoHeader) == 10, "the virtio-net header's layout");
inline constexpr uint8_t kVirtioNeedsChecksum = 1;
inline constexpr uint8_t kVirtioGsoTcpv4 = 1;
inline constexpr uint8_t kVirtioGsoEcn = 0x80;

// Prepares a kTcp frame whose plan says kSegment for the kernel to cut into
// segments of `plan.max_payload` bytes: sets the IPv4 header checksum and
// puts the pseudo-header's sum (over the whole TCP length, not complemented)
// in the TCP checksum field, the convention of a frame whose checksum is
// left to the device (Linux's CHECKSUM_PARTIAL), and returns the header.
KernelGsoHeader PrepareKernelGso(ByteSpan headers, const FrameHeaders& frame,
                                 const SegmentPlan& plan);

}  // namespace stampede::net
