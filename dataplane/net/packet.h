// Parsing of received frames: Ethernet (+ one 802.1Q tag), ARP, IPv4, UDP,
// ICMP, IPv6 and ICMPv6 headers, validated and located by offset in the
// frame. Never reads past the end of the span; a malformed frame yields a
// DropReason.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/drop_reason.h"

namespace stampede::net {

// IEEE 802.3 / 802.1Q.
inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kVlanTagSize = 4;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;
// RFC 826 for Ethernet/IPv4: 8 fixed bytes + 2 * (6 + 4).
inline constexpr size_t kArpIpv4Size = 28;
inline constexpr uint16_t kArpHardwareEthernet = 1;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;
// RFC 791 §3.1.
inline constexpr size_t kIpv4MinHeaderSize = 20;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint16_t kIpv4MoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;
// RFC 768.
inline constexpr size_t kUdpHeaderSize = 8;
// RFC 792: type, code, checksum, rest-of-header.
inline constexpr size_t kIcmpHeaderSize = 8;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;
// RFC 8200 §3: the fixed header; extension headers follow it.
inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
// RFC 4443 §2.1: type, code, checksum.
inline constexpr size_t kIcmpv6HeaderSize = 4;

enum class L3Kind : uint8_t { kArp, kIpv4, kIpv6, kOther };
enum class L4Kind : uint8_t { kNone, kUdp, kIcmp, kIcmpv6, kOther };

struct ArpFields {
  uint16_t operation = 0;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;
};

struct Ipv4Fields {
  Ipv4Address source;
  Ipv4Address destination;
  uint8_t protocol = 0;
  uint8_t ttl = 0;
  uint8_t header_length = 0;  // bytes, options included
  uint16_t total_length = 0;  // from the header; the frame may carry padding beyond it
};

struct Ipv6Fields {
  Ipv6Address source;
  Ipv6Address destination;
  uint8_t next_header = 0;  // of the fixed header: extension headers are not followed
  uint8_t hop_limit = 0;
  uint16_t payload_length = 0;  // from the header; the frame may carry padding beyond it
};

struct UdpFields {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  size_t payload_offset = 0;  // from the start of the frame
  size_t payload_length = 0;
};

// ICMP, or ICMPv6 when l4 is kIcmpv6.
struct IcmpFields {
  uint8_t type = 0;
  uint8_t code = 0;
};

// Where each header starts in the frame and what it says. Offsets are from the
// first byte of the Ethernet header.
struct ParsedPacket {
  MacAddress destination_mac;
  MacAddress source_mac;
  bool has_vlan = false;
  uint16_t vlan_tci = 0;
  uint16_t ether_type = 0;  // after the VLAN tag, if any
  size_t l3_offset = 0;
  L3Kind l3 = L3Kind::kOther;
  L4Kind l4 = L4Kind::kNone;
  size_t l4_offset = 0;
  size_t l4_length = 0;  // by the IPv4 total length or the IPv6 payload length
  ArpFields arp;
  Ipv4Fields ipv4;
  Ipv6Fields ipv6;
  UdpFields udp;
  IcmpFields icmp;
};

struct ParseResult {
  bool ok = false;
  DropReason drop = DropReason::kEthernetTruncated;  // meaningful when !ok
  ParsedPacket packet;
};

// Parses and validates one frame. Checks: lengths at every layer, the IPv4
// version, header length, total length and header checksum, fragments (dropped:
// nothing we serve needs them), UDP length and checksum (when non-zero), the
// ICMP checksum; the IPv6 version and payload length, the ICMPv6 checksum
// (RFC 4443 §2.3). Ether types other than ARP/IPv4/IPv6, IPv4 protocols other
// than UDP/ICMP and IPv6 next headers other than ICMPv6 are returned as kOther
// for the exception path, not dropped.
ParseResult ParsePacket(ConstByteSpan frame);
// The same into an existing result (a worker's own, kept for later stages).
void ParsePacketInto(ConstByteSpan frame, ParseResult& result);

// The partial sum of the RFC 768 IPv4 pseudo-header: its 16-bit words added
// as numbers (RFC 1071 §2(B)), six of them, so no carry leaves 32 bits; the
// checksum's fold wraps the rest. No header is built: this runs per packet.
inline uint32_t UdpPseudoHeaderSum(Ipv4Address source, Ipv4Address destination,
                                   uint16_t udp_length) {
  return (source.value >> 16) + (source.value & 0xffff) + (destination.value >> 16) +
         (destination.value & 0xffff) + kIpProtoUdp + udp_length;
}

// The UDP checksum over the IPv4 pseudo-header (RFC 768) of a UDP datagram
// whose header (checksum field included) and payload are `datagram`.
uint16_t UdpChecksum(Ipv4Address source, Ipv4Address destination, ConstByteSpan datagram);

// The partial sum of the RFC 8200 §8.1 pseudo-header of an upper-layer
// message of `length` bytes, to chain into ChecksumPartial.
uint32_t Ipv6PseudoHeaderSum(const Ipv6Address& source, const Ipv6Address& destination,
                             uint32_t length, uint8_t next_header);

}  // namespace stampede::net
