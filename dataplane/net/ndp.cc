#include "dataplane/net/ndp.h"

#include <algorithm>

#include "dataplane/net/checksum.h"

namespace stampede::net {

bool IsValidRouterSolicitation(ConstByteSpan frame, const ParsedPacket& p) {
  if (p.ipv6.hop_limit != kNdpHopLimit || p.icmp.code != 0) return false;
  if (p.l4_length < kRouterSolicitationSize) return false;
  ConstByteSpan options =
      frame.subspan(p.l4_offset + kRouterSolicitationSize, p.l4_length - kRouterSolicitationSize);
  // Bounded: each step moves at least one unit (a zero length is refused).
  for (size_t at = 0; at < options.size();) {
    if (options.size() - at < 2) return false;
    size_t length = size_t{Load8(options, at + 1)} * kNdpOptionUnit;
    if (length == 0 || length > options.size() - at) return false;
    if (Load8(options, at) == kNdpOptionSourceLinkLayer && p.ipv6.source.IsUnspecified()) {
      return false;
    }
    at += length;
  }
  return true;
}

size_t BuildRouterAdvertisement(ByteSpan frame, size_t l3_offset, const MacAddress& our_mac,
                                const MacAddress& destination_mac, const Ipv6Address& destination) {
  destination_mac.Store(frame, 0);
  our_mac.Store(frame, 6);
  Store16(frame, l3_offset - 2, kEtherTypeIpv6);
  const Ipv6Address source = Ipv6Address::LinkLocal(our_mac);
  const uint16_t payload_length = kRouterAdvertisementSize + kNdpOptionUnit;
  ByteSpan ip = frame.subspan(l3_offset, kRouterAdvertisementPacketSize);
  std::fill(ip.begin(), ip.end(), std::byte{0});
  Store32(ip, 0, uint32_t{6} << 28);  // version 6, traffic class and flow label 0
  Store16(ip, 4, payload_length);
  Store8(ip, 6, kIpProtoIcmpv6);
  Store8(ip, 7, kNdpHopLimit);
  source.Store(ip, 8);
  destination.Store(ip, 24);
  // §4.2: current hop limit, M and O flags, router lifetime, reachable time
  // and retransmission timer all 0 ("unspecified", "not a default router").
  ByteSpan ra = ip.subspan(kIpv6HeaderSize);
  Store8(ra, 0, kIcmpv6RouterAdvertisement);
  Store8(ra, kRouterAdvertisementSize, kNdpOptionSourceLinkLayer);
  Store8(ra, kRouterAdvertisementSize + 1, 1);
  our_mac.Store(ra, kRouterAdvertisementSize + 2);
  Store16(ra, 2,
          ChecksumFinish(ChecksumPartial(
              ra, Ipv6PseudoHeaderSum(source, destination, payload_length, kIpProtoIcmpv6))));
  return l3_offset + kRouterAdvertisementPacketSize;
}

}  // namespace stampede::net
