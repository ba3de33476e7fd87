#include "perf/stormgen/frame.h"

#include <algorithm>
#include <cstring>

#include "dataplane/net/checksum.h"

namespace stampede::stormgen {

size_t UdpFrameSize(size_t payload_size) {
  return std::max(kMinFrameSize, kUdpFrameOverhead + payload_size);
}

size_t BuildUdpFrame(net::ByteSpan out, const UdpEndpoints& to, uint16_t ip_id,
                     net::ConstByteSpan payload) {
  size_t size = UdpFrameSize(payload.size());
  std::memset(out.data(), 0, kUdpFrameOverhead);
  to.destination_mac.Store(out, 0);
  to.source_mac.Store(out, 6);
  net::Store16(out, 12, net::kEtherTypeIpv4);
  net::ByteSpan ip = out.subspan(net::kEthernetHeaderSize, net::kIpv4MinHeaderSize);
  uint16_t udp_length = static_cast<uint16_t>(net::kUdpHeaderSize + payload.size());
  net::Store8(ip, 0, 0x45);
  net::Store16(ip, 2, static_cast<uint16_t>(net::kIpv4MinHeaderSize + udp_length));
  net::Store16(ip, 4, ip_id);
  net::Store8(ip, 8, 64);
  net::Store8(ip, 9, net::kIpProtoUdp);
  to.source.Store(ip, 12);
  to.destination.Store(ip, 16);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  net::ByteSpan udp = out.subspan(net::kEthernetHeaderSize + net::kIpv4MinHeaderSize, udp_length);
  net::Store16(udp, 0, to.source_port);
  net::Store16(udp, 2, to.destination_port);
  net::Store16(udp, 4, udp_length);
  net::CopyBytes(udp, net::kUdpHeaderSize, payload);
  net::Store16(udp, 6, net::UdpChecksum(to.source, to.destination, udp));
  if (size > kUdpFrameOverhead + payload.size()) {
    std::memset(out.data() + kUdpFrameOverhead + payload.size(), 0,
                size - kUdpFrameOverhead - payload.size());
  }
  return size;
}

size_t BuildArpReply(net::ByteSpan out, const net::ArpFields& request, net::MacAddress mac) {
  std::memset(out.data(), 0, kMinFrameSize);
  request.sender_mac.Store(out, 0);
  mac.Store(out, 6);
  net::Store16(out, 12, net::kEtherTypeArp);
  net::ByteSpan arp = out.subspan(net::kEthernetHeaderSize, net::kArpIpv4Size);
  net::Store16(arp, 0, net::kArpHardwareEthernet);
  net::Store16(arp, 2, net::kEtherTypeIpv4);
  net::Store8(arp, 4, 6);
  net::Store8(arp, 5, 4);
  net::Store16(arp, 6, net::kArpOpReply);
  mac.Store(arp, 8);
  request.target_ip.Store(arp, 14);
  request.sender_mac.Store(arp, 18);
  request.sender_ip.Store(arp, 24);
  return kMinFrameSize;
}

}  // namespace stampede::stormgen
