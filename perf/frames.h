// The addresses of a one-core benchmark's appliance and client, and frames
// the client sends: for the benchmarks and the worker's tests on a net_ring
// pair. Header-only: nothing to link.
#pragma once

#include <cstddef>
#include <vector>

#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/packet.h"

namespace stampede::perf {

inline const net::MacAddress kApplianceMac = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}};
inline const net::Ipv4Address kApplianceIp = {0xc6120001};  // 198.18.0.1
inline const net::MacAddress kClientMac = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}};
inline const net::Ipv4Address kClientIp = {0xc6120002};  // 198.18.0.2

// An ICMP echo request from the client to the appliance, 56 bytes of data.
inline std::vector<std::byte> IcmpEchoRequest() {
  std::vector<std::byte> frame(14 + 20 + 8 + 56);
  net::ByteSpan f(frame);
  kApplianceMac.Store(f, 0);
  kClientMac.Store(f, 6);
  net::Store16(f, 12, net::kEtherTypeIpv4);
  net::ByteSpan ip = f.subspan(14, 20);
  net::Store8(ip, 0, 0x45);
  net::Store16(ip, 2, static_cast<uint16_t>(frame.size() - 14));
  net::Store8(ip, 8, 64);
  net::Store8(ip, 9, net::kIpProtoIcmp);
  kClientIp.Store(ip, 12);
  kApplianceIp.Store(ip, 16);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  net::ByteSpan icmp = f.subspan(34);
  net::Store8(icmp, 0, net::kIcmpEchoRequest);
  net::Store16(icmp, 4, 0x1234);
  for (size_t i = 8; i < icmp.size(); ++i) icmp[i] = std::byte(i);
  net::Store16(icmp, 2, net::ChecksumFinish(net::ChecksumPartial(icmp)));
  return frame;
}

// The client's ARP request for the appliance's address.
inline std::vector<std::byte> ArpRequest() {
  std::vector<std::byte> frame(net::kMinFrameSize);
  net::ByteSpan f(frame);
  net::MacAddress::Broadcast().Store(f, 0);
  kClientMac.Store(f, 6);
  net::Store16(f, 12, net::kEtherTypeArp);
  net::ByteSpan arp = f.subspan(14);
  net::Store16(arp, 0, net::kArpHardwareEthernet);
  net::Store16(arp, 2, net::kEtherTypeIpv4);
  net::Store8(arp, 4, 6);
  net::Store8(arp, 5, 4);
  net::Store16(arp, 6, net::kArpOpRequest);
  kClientMac.Store(arp, 8);
  kClientIp.Store(arp, 14);
  kApplianceIp.Store(arp, 24);
  return frame;
}

// The client's IPv6 router solicitation (RFC 4861 §4.1) from its link-local
// address to all routers, with its source link-layer address option.
inline std::vector<std::byte> RouterSolicitation() {
  const net::Ipv6Address source = net::Ipv6Address::LinkLocal(kClientMac);
  const net::Ipv6Address all_routers = net::Ipv6Address::AllRouters();
  std::vector<std::byte> frame(14 + 40 + 16);
  net::ByteSpan f(frame);
  all_routers.MulticastMac().Store(f, 0);
  kClientMac.Store(f, 6);
  net::Store16(f, 12, net::kEtherTypeIpv6);
  net::ByteSpan ip = f.subspan(14, 40);
  net::Store8(ip, 0, 0x60);
  net::Store16(ip, 4, 16);
  net::Store8(ip, 6, net::kIpProtoIcmpv6);
  net::Store8(ip, 7, 255);
  source.Store(ip, 8);
  all_routers.Store(ip, 24);
  net::ByteSpan rs = f.subspan(54);
  net::Store8(rs, 0, 133);
  net::Store8(rs, 8, 1);  // source link-layer address, one 8-byte unit
  net::Store8(rs, 9, 1);
  kClientMac.Store(rs, 10);
  net::Store16(rs, 2,
               net::ChecksumFinish(net::ChecksumPartial(
                   rs, net::Ipv6PseudoHeaderSum(source, all_routers, 16, net::kIpProtoIcmpv6))));
  return frame;
}

}  // namespace stampede::perf
