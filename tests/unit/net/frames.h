// Builders of valid sample frames for the protocol-core tests.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/packet.h"

namespace stampede::net::testing {

inline const MacAddress kOurMac = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}};
inline const MacAddress kPeerMac = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}};
inline const Ipv4Address kOurIp = {0xc6120001};   // 198.18.0.1
inline const Ipv4Address kPeerIp = {0xc6120002};  // 198.18.0.2

using Frame = std::vector<std::byte>;

struct FrameSpec {
  MacAddress destination_mac = kOurMac;
  MacAddress source_mac = kPeerMac;
  bool vlan = false;
  uint16_t vlan_tci = 0x0064;
};

inline Frame EthernetHeader(const FrameSpec& spec, uint16_t ether_type) {
  Frame frame(spec.vlan ? 18 : 14);
  ByteSpan f(frame);
  spec.destination_mac.Store(f, 0);
  spec.source_mac.Store(f, 6);
  if (spec.vlan) {
    Store16(f, 12, kEtherTypeVlan);
    Store16(f, 14, spec.vlan_tci);
    Store16(f, 16, ether_type);
  } else {
    Store16(f, 12, ether_type);
  }
  return frame;
}

inline void Append(Frame& frame, const Frame& more) {
  frame.insert(frame.end(), more.begin(), more.end());
}

inline Frame Arp(uint16_t operation, Ipv4Address target_ip = kOurIp, FrameSpec spec = {},
                 MacAddress target_mac = {}) {
  if (operation == kArpOpRequest) spec.destination_mac = MacAddress::Broadcast();
  Frame frame = EthernetHeader(spec, kEtherTypeArp);
  Frame arp(kArpIpv4Size);
  ByteSpan a(arp);
  Store16(a, 0, kArpHardwareEthernet);
  Store16(a, 2, kEtherTypeIpv4);
  Store8(a, 4, 6);
  Store8(a, 5, 4);
  Store16(a, 6, operation);
  spec.source_mac.Store(a, 8);
  kPeerIp.Store(a, 14);
  target_mac.Store(a, 18);
  target_ip.Store(a, 24);
  Append(frame, arp);
  return frame;
}

struct Ipv4Spec {
  Ipv4Address source = kPeerIp;
  Ipv4Address destination = kOurIp;
  uint8_t protocol = kIpProtoUdp;
  size_t options_length = 0;  // multiple of 4
  uint16_t fragment = 0;      // flags + offset word
};

inline Frame Ipv4(const Ipv4Spec& ip_spec, const Frame& l4, FrameSpec spec = {}) {
  Frame frame = EthernetHeader(spec, kEtherTypeIpv4);
  size_t header_length = kIpv4MinHeaderSize + ip_spec.options_length;
  Frame ip(header_length);
  ByteSpan h(ip);
  Store8(h, 0, static_cast<uint8_t>(0x40 | (header_length / 4)));
  Store16(h, 2, static_cast<uint16_t>(header_length + l4.size()));
  Store16(h, 4, 0x1234);
  Store16(h, 6, ip_spec.fragment);
  Store8(h, 8, 64);
  Store8(h, 9, ip_spec.protocol);
  ip_spec.source.Store(h, 12);
  ip_spec.destination.Store(h, 16);
  for (size_t i = kIpv4MinHeaderSize; i < header_length; ++i) Store8(h, i, 1);  // NOP options
  Store16(h, 10, ChecksumFinish(ChecksumPartial(h)));
  Append(frame, ip);
  Append(frame, l4);
  return frame;
}

inline Frame UdpDatagram(uint16_t source_port, uint16_t destination_port, size_t payload_length,
                         bool with_checksum = true, Ipv4Address source = kPeerIp,
                         Ipv4Address destination = kOurIp) {
  Frame udp(kUdpHeaderSize + payload_length);
  ByteSpan u(udp);
  Store16(u, 0, source_port);
  Store16(u, 2, destination_port);
  Store16(u, 4, static_cast<uint16_t>(udp.size()));
  for (size_t i = 0; i < payload_length; ++i) Store8(u, kUdpHeaderSize + i, uint8_t(i * 7));
  if (with_checksum) Store16(u, 6, UdpChecksum(source, destination, u));
  return udp;
}

inline Frame Udp(size_t payload_length = 32, bool with_checksum = true, FrameSpec spec = {}) {
  return Ipv4({}, UdpDatagram(40000, 9, payload_length, with_checksum), spec);
}

inline Frame IcmpMessage(uint8_t type, size_t payload_length = 56) {
  Frame icmp(kIcmpHeaderSize + payload_length);
  ByteSpan c(icmp);
  Store8(c, 0, type);
  Store16(c, 4, 0x4242);
  Store16(c, 6, 7);
  for (size_t i = 0; i < payload_length; ++i) Store8(c, kIcmpHeaderSize + i, uint8_t(i));
  Store16(c, 2, ChecksumFinish(ChecksumPartial(c)));
  return icmp;
}

inline Frame IcmpEcho(Ipv4Address destination = kOurIp, FrameSpec spec = {}) {
  Ipv4Spec ip;
  ip.protocol = kIpProtoIcmp;
  ip.destination = destination;
  return Ipv4(ip, IcmpMessage(kIcmpEchoRequest), spec);
}

inline Frame Tcp() {
  Ipv4Spec ip;
  ip.protocol = kIpProtoTcp;
  return Ipv4(ip, Frame(20, std::byte{0}));
}

// RFC 4291 §2.7.1: every router on the link, and its Ethernet group.
inline const Ipv6Address kAllRouters = Ipv6Address::AllRouters();
inline const MacAddress kAllRoutersMac = {{0x33, 0x33, 0, 0, 0, 0x02}};
inline const Ipv6Address kPeerLinkLocal = Ipv6Address::LinkLocal(kPeerMac);
// RFC 8200 §4.7: nothing follows the header.
inline constexpr uint8_t kNoNextHeader = 59;

struct Ipv6Spec {
  Ipv6Address source = kPeerLinkLocal;
  Ipv6Address destination = kAllRouters;
  uint8_t next_header = kIpProtoIcmpv6;
  uint8_t hop_limit = 255;
};

// Recomputes the ICMPv6 checksum of the IPv6 packet at `l3_offset` from the
// frame's own header fields, so a mutation meets the check it means to.
inline void SealIcmpv6(Frame& frame, size_t l3_offset = 14) {
  ByteSpan f(frame);
  ByteSpan icmp = f.subspan(l3_offset + kIpv6HeaderSize, Load16(f, l3_offset + 4));
  Store16(icmp, 2, 0);
  uint32_t pseudo =
      Ipv6PseudoHeaderSum(Ipv6Address::Load(f, l3_offset + 8), Ipv6Address::Load(f, l3_offset + 24),
                          static_cast<uint32_t>(icmp.size()), kIpProtoIcmpv6);
  Store16(icmp, 2, ChecksumFinish(ChecksumPartial(icmp, pseudo)));
}

inline Frame Ipv6(const Ipv6Spec& ip_spec, const Frame& payload, FrameSpec spec = {}) {
  Frame frame = EthernetHeader(spec, kEtherTypeIpv6);
  Frame ip(kIpv6HeaderSize);
  ByteSpan h(ip);
  Store32(h, 0, 0x60000000);
  Store16(h, 4, static_cast<uint16_t>(payload.size()));
  Store8(h, 6, ip_spec.next_header);
  Store8(h, 7, ip_spec.hop_limit);
  ip_spec.source.Store(h, 8);
  ip_spec.destination.Store(h, 24);
  Append(frame, ip);
  Append(frame, payload);
  if (ip_spec.next_header == kIpProtoIcmpv6 && payload.size() >= kIcmpv6HeaderSize) {
    SealIcmpv6(frame, spec.vlan ? 18 : 14);
  }
  return frame;
}

inline Frame Ipv6() { return Ipv6({.next_header = kNoNextHeader}, {}); }

// An RFC 4861 §4.1 router solicitation as iPXE and Linux send it: to all
// routers, with the source link-layer address option unless from ::.
inline Frame RouterSolicitation(Ipv6Spec ip = {},
                                FrameSpec spec = {.destination_mac = kAllRoutersMac}) {
  bool with_address = !ip.source.IsUnspecified();
  Frame rs(8 + (with_address ? 8 : 0));
  ByteSpan r(rs);
  Store8(r, 0, 133);
  if (with_address) {
    Store8(r, 8, 1);
    Store8(r, 9, 1);
    spec.source_mac.Store(r, 10);
  }
  return Ipv6(ip, rs, spec);
}

}  // namespace stampede::net::testing
