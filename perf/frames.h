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

}  // namespace stampede::perf
