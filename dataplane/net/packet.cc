#include "dataplane/net/packet.h"

#include "dataplane/net/checksum.h"

namespace stampede::net {
namespace {

bool ParseArp(ConstByteSpan frame, ParsedPacket& p, DropReason& drop) {
  ConstByteSpan arp = frame.subspan(p.l3_offset);
  if (arp.size() < kArpIpv4Size) {
    drop = DropReason::kArpTruncated;
    return false;
  }
  // RFC 826: hardware type, protocol type, their address lengths.
  if (Load16(arp, 0) != kArpHardwareEthernet || Load16(arp, 2) != kEtherTypeIpv4 ||
      Load8(arp, 4) != 6 || Load8(arp, 5) != 4) {
    drop = DropReason::kArpMalformed;
    return false;
  }
  p.arp.operation = Load16(arp, 6);
  if (p.arp.operation != kArpOpRequest && p.arp.operation != kArpOpReply) {
    drop = DropReason::kArpMalformed;
    return false;
  }
  p.arp.sender_mac = MacAddress::Load(arp, 8);
  p.arp.sender_ip = Ipv4Address::Load(arp, 14);
  p.arp.target_mac = MacAddress::Load(arp, 18);
  p.arp.target_ip = Ipv4Address::Load(arp, 24);
  p.l3 = L3Kind::kArp;
  return true;
}

bool ParseUdp(ConstByteSpan frame, ParsedPacket& p, DropReason& drop) {
  ConstByteSpan l4 = frame.subspan(p.l4_offset, p.l4_length);
  if (l4.size() < kUdpHeaderSize) {
    drop = DropReason::kUdpTruncated;
    return false;
  }
  uint16_t udp_length = Load16(l4, 4);
  if (udp_length < kUdpHeaderSize || udp_length > l4.size()) {
    drop = DropReason::kUdpBadLength;
    return false;
  }
  ConstByteSpan datagram = l4.first(udp_length);
  // A zero checksum means the sender did not compute one (RFC 768).
  if (Load16(datagram, 6) != 0 &&
      ChecksumFinish(ChecksumPartial(
          datagram, UdpPseudoHeaderSum(p.ipv4.source, p.ipv4.destination, udp_length))) != 0) {
    drop = DropReason::kUdpBadChecksum;
    return false;
  }
  p.udp.source_port = Load16(datagram, 0);
  p.udp.destination_port = Load16(datagram, 2);
  p.udp.payload_offset = p.l4_offset + kUdpHeaderSize;
  p.udp.payload_length = udp_length - kUdpHeaderSize;
  p.l4 = L4Kind::kUdp;
  return true;
}

// ICMP (RFC 792) and ICMPv6 (RFC 4443) differ here only in the header's
// size, the pseudo-header in the checksum (none for ICMP) and the names.
struct IcmpVersion {
  L4Kind kind;
  size_t header_size;
  DropReason truncated;
  DropReason bad_checksum;
};
constexpr IcmpVersion kIcmpVersion4{L4Kind::kIcmp, kIcmpHeaderSize, DropReason::kIcmpTruncated,
                                    DropReason::kIcmpBadChecksum};
constexpr IcmpVersion kIcmpVersion6{L4Kind::kIcmpv6, kIcmpv6HeaderSize,
                                    DropReason::kIcmpv6Truncated, DropReason::kIcmpv6BadChecksum};

bool ParseIcmp(ConstByteSpan frame, ParsedPacket& p, DropReason& drop, const IcmpVersion& version,
               uint32_t pseudo_header_sum) {
  ConstByteSpan icmp = frame.subspan(p.l4_offset, p.l4_length);
  if (icmp.size() < version.header_size) {
    drop = version.truncated;
    return false;
  }
  if (ChecksumFinish(ChecksumPartial(icmp, pseudo_header_sum)) != 0) {
    drop = version.bad_checksum;
    return false;
  }
  p.icmp.type = Load8(icmp, 0);
  p.icmp.code = Load8(icmp, 1);
  p.l4 = version.kind;
  return true;
}

bool ParseIpv4(ConstByteSpan frame, ParsedPacket& p, DropReason& drop) {
  ConstByteSpan ip = frame.subspan(p.l3_offset);
  if (ip.size() < kIpv4MinHeaderSize) {
    drop = DropReason::kIpv4Truncated;
    return false;
  }
  uint8_t version_ihl = Load8(ip, 0);
  if ((version_ihl >> 4) != 4) {
    drop = DropReason::kIpv4BadVersion;
    return false;
  }
  size_t header_length = static_cast<size_t>(version_ihl & 0x0f) * 4;
  if (header_length < kIpv4MinHeaderSize) {
    drop = DropReason::kIpv4BadHeaderLength;
    return false;
  }
  if (header_length > ip.size()) {
    drop = DropReason::kIpv4Truncated;
    return false;
  }
  uint16_t total_length = Load16(ip, 2);
  if (total_length < header_length || total_length > ip.size()) {
    drop = DropReason::kIpv4BadTotalLength;
    return false;
  }
  if (!ChecksumValid(ip.first(header_length))) {
    drop = DropReason::kIpv4BadChecksum;
    return false;
  }
  uint16_t fragment = Load16(ip, 6);
  if ((fragment & (kIpv4MoreFragments | kIpv4FragmentOffsetMask)) != 0) {
    drop = DropReason::kIpv4Fragment;
    return false;
  }
  p.ipv4.header_length = static_cast<uint8_t>(header_length);
  p.ipv4.total_length = total_length;
  p.ipv4.ttl = Load8(ip, 8);
  p.ipv4.protocol = Load8(ip, 9);
  p.ipv4.source = Ipv4Address::Load(ip, 12);
  p.ipv4.destination = Ipv4Address::Load(ip, 16);
  p.l3 = L3Kind::kIpv4;
  p.l4_offset = p.l3_offset + header_length;
  p.l4_length = total_length - header_length;
  switch (p.ipv4.protocol) {
    case kIpProtoUdp:
      return ParseUdp(frame, p, drop);
    case kIpProtoIcmp:
      return ParseIcmp(frame, p, drop, kIcmpVersion4, 0);
    default:
      p.l4 = L4Kind::kOther;
      return true;
  }
}

bool ParseIpv6(ConstByteSpan frame, ParsedPacket& p, DropReason& drop) {
  ConstByteSpan ip = frame.subspan(p.l3_offset);
  if (ip.size() < kIpv6HeaderSize) {
    drop = DropReason::kIpv6Truncated;
    return false;
  }
  if ((Load8(ip, 0) >> 4) != 6) {
    drop = DropReason::kIpv6BadVersion;
    return false;
  }
  uint16_t payload_length = Load16(ip, 4);
  if (payload_length > ip.size() - kIpv6HeaderSize) {
    drop = DropReason::kIpv6BadPayloadLength;
    return false;
  }
  p.ipv6.payload_length = payload_length;
  p.ipv6.next_header = Load8(ip, 6);
  p.ipv6.hop_limit = Load8(ip, 7);
  p.ipv6.source = Ipv6Address::Load(ip, 8);
  p.ipv6.destination = Ipv6Address::Load(ip, 24);
  p.l3 = L3Kind::kIpv6;
  p.l4_offset = p.l3_offset + kIpv6HeaderSize;
  p.l4_length = payload_length;
  if (p.ipv6.next_header == kIpProtoIcmpv6) {
    return ParseIcmp(
        frame, p, drop, kIcmpVersion6,
        Ipv6PseudoHeaderSum(p.ipv6.source, p.ipv6.destination, payload_length, kIpProtoIcmpv6));
  }
  p.l4 = L4Kind::kOther;
  return true;
}

}  // namespace

uint32_t Ipv6PseudoHeaderSum(const Ipv6Address& source, const Ipv6Address& destination,
                             uint32_t length, uint8_t next_header) {
  uint32_t sum = 0;
  for (size_t i = 0; i < source.octets.size(); i += 2) {
    sum += uint32_t{source.octets[i]} << 8 | source.octets[i + 1];
    sum += uint32_t{destination.octets[i]} << 8 | destination.octets[i + 1];
  }
  return sum + (length >> 16) + (length & 0xffff) + next_header;
}

uint16_t UdpChecksum(Ipv4Address source, Ipv4Address destination, ConstByteSpan datagram) {
  uint16_t sum = ChecksumFinish(ChecksumPartial(
      datagram, UdpPseudoHeaderSum(source, destination, static_cast<uint16_t>(datagram.size()))));
  // RFC 768: a computed zero is sent as all ones.
  return sum == 0 ? 0xffff : sum;
}

namespace {

// Fills `p`; on failure sets `drop`. Kept apart from ParsePacket so that one
// named result is returned on every path (NRVO: no copy of ParsedPacket).
bool ParseFrame(ConstByteSpan frame, ParsedPacket& p, DropReason& drop) {
  if (frame.size() < kEthernetHeaderSize) {
    drop = DropReason::kEthernetTruncated;
    return false;
  }
  p.destination_mac = MacAddress::Load(frame, 0);
  p.source_mac = MacAddress::Load(frame, 6);
  p.ether_type = Load16(frame, 12);
  p.l3_offset = kEthernetHeaderSize;
  if (p.ether_type == kEtherTypeVlan || p.ether_type == kEtherTypeQinQ) {
    if (frame.size() < kEthernetHeaderSize + kVlanTagSize) {
      drop = DropReason::kVlanTruncated;
      return false;
    }
    p.has_vlan = true;
    p.vlan_tci = Load16(frame, 14);
    p.ether_type = Load16(frame, 16);
    p.l3_offset += kVlanTagSize;
    if (p.ether_type == kEtherTypeVlan || p.ether_type == kEtherTypeQinQ) {
      drop = DropReason::kVlanStacked;
      return false;
    }
  }
  switch (p.ether_type) {
    case kEtherTypeArp:
      return ParseArp(frame, p, drop);
    case kEtherTypeIpv4:
      return ParseIpv4(frame, p, drop);
    case kEtherTypeIpv6:
      return ParseIpv6(frame, p, drop);
    default:
      p.l3 = L3Kind::kOther;
      return true;
  }
}

}  // namespace

ParseResult ParsePacket(ConstByteSpan frame) {
  ParseResult result;
  ParsePacketInto(frame, result);
  return result;
}

void ParsePacketInto(ConstByteSpan frame, ParseResult& result) {
  result.packet = ParsedPacket{};  // nothing of the previous frame stays
  result.ok = ParseFrame(frame, result.packet, result.drop);
}

}  // namespace stampede::net
