#include "dataplane/net/responder.h"

#include <algorithm>

#include "dataplane/net/checksum.h"
#include "dataplane/net/ndp.h"

namespace stampede::net {
namespace {

Decision Drop(DropReason reason) { return {Verdict::kDrop, reason, Answer::kNone}; }
Decision Exception() {
  return {Verdict::kException, DropReason::kEthernetTruncated, Answer::kNone};
}
Decision Transmit(Answer answer, size_t length) {
  return {Verdict::kTransmit, DropReason::kEthernetTruncated, answer, length};
}

// Fills the 28-byte ARP body at `offset`.
void StoreArp(ByteSpan frame, size_t offset, uint16_t operation, MacAddress sender_mac,
              Ipv4Address sender_ip, MacAddress target_mac, Ipv4Address target_ip) {
  Store16(frame, offset + 0, kArpHardwareEthernet);
  Store16(frame, offset + 2, kEtherTypeIpv4);
  Store8(frame, offset + 4, 6);
  Store8(frame, offset + 5, 4);
  Store16(frame, offset + 6, operation);
  sender_mac.Store(frame, offset + 8);
  sender_ip.Store(frame, offset + 14);
  target_mac.Store(frame, offset + 18);
  target_ip.Store(frame, offset + 24);
}

}  // namespace

Decision Responder::Handle(ByteSpan buffer, size_t frame_length, uint64_t now) {
  ByteSpan frame = buffer.first(frame_length);
  // A packet socket on the port's interface is shown what other sockets
  // there send: the kernel GSO socket's frames (docs/dataplane.md).
  if (frame.size() >= 12 && MacAddress::Load(frame, 6) == local_.mac()) {
    return Drop(DropReason::kOwnFrame);
  }
  ParsePacketInto(frame, parsed_);
  if (!parsed_.ok) return Drop(parsed_.drop);
  const ParsedPacket& p = parsed_.packet;
  if (p.destination_mac != local_.mac() && !p.destination_mac.IsMulticast()) {
    return Drop(DropReason::kNotOurMac);
  }
  switch (p.l3) {
    case L3Kind::kArp:
      return HandleArp(frame, p, now);
    case L3Kind::kIpv4:
      return HandleIpv4(frame, p, now);
    case L3Kind::kIpv6:
      return HandleIpv6(buffer, p);
    case L3Kind::kOther:
      break;
  }
  return Exception();
}

Decision Responder::HandleArp(ByteSpan frame, const ParsedPacket& p, uint64_t now) {
  const ArpFields& arp = p.arp;
  if (!arp.sender_ip.IsZero() && !arp.sender_mac.IsMulticast() && local_.OnLink(arp.sender_ip)) {
    neighbours_.Learn(arp.sender_ip, arp.sender_mac, now);
  }
  if (!local_.IsOurUnicast(arp.target_ip)) return Drop(DropReason::kArpNotForUs);
  // A reply to the kernel's own request: let it complete its neighbour entry.
  if (arp.operation == kArpOpReply) return Exception();
  p.source_mac.Store(frame, 0);
  local_.mac().Store(frame, 6);
  StoreArp(frame, p.l3_offset, kArpOpReply, local_.mac(), arp.target_ip, arp.sender_mac,
           arp.sender_ip);
  return Transmit(Answer::kArpReply, frame.size());
}

Decision Responder::HandleIpv4(ByteSpan frame, const ParsedPacket& p, uint64_t now) {
  const Ipv4Fields& ip = p.ipv4;
  if (!local_.Accepts(ip.destination)) return Drop(DropReason::kIpv4NotForUs);
  if (ip.source.IsLimitedBroadcast() || ip.source.IsMulticast()) {
    return Drop(DropReason::kIpv4BadSource);
  }
  if (!ip.source.IsZero() && !p.source_mac.IsMulticast() && local_.OnLink(ip.source)) {
    neighbours_.Learn(ip.source, p.source_mac, now);
  }
  if (p.l4 == L4Kind::kUdp && IsBootServicePort(p.udp.destination_port)) {
    if (!boot_services_) return Drop(DropReason::kNoPolicy);
    if (p.udp.destination_port == kDhcpServerPort || p.udp.destination_port == kPxeBootServerPort) {
      return {Verdict::kDhcp, DropReason::kEthernetTruncated, Answer::kNone};
    }
    // TFTP is unicast only (RFC 1350 has no broadcast requests).
    if (!local_.IsOurUnicast(ip.destination)) return Drop(DropReason::kTftpNotUnicast);
    return {Verdict::kTftp, DropReason::kEthernetTruncated, Answer::kNone};
  }
  if (p.l4 != L4Kind::kIcmp || p.icmp.type != kIcmpEchoRequest) return Exception();
  // Like Linux (icmp_echo_ignore_broadcasts), answer only echoes sent to us.
  if (!local_.IsOurUnicast(ip.destination)) return Drop(DropReason::kIcmpUnhandled);

  p.source_mac.Store(frame, 0);
  local_.mac().Store(frame, 6);
  ByteSpan header = frame.subspan(p.l3_offset, ip.header_length);
  ip.destination.Store(header, 12);
  ip.source.Store(header, 16);
  Store8(header, 8, kDefaultTtl);
  Store16(header, 10, 0);
  Store16(header, 10, ChecksumFinish(ChecksumPartial(header)));
  ByteSpan icmp = frame.subspan(p.l4_offset, p.l4_length);
  uint16_t old_word = Load16(icmp, 0);
  uint16_t new_word = static_cast<uint16_t>(kIcmpEchoReply << 8 | p.icmp.code);
  Store16(icmp, 0, new_word);
  Store16(icmp, 2, ChecksumAdjust(Load16(icmp, 2), old_word, new_word));
  return Transmit(Answer::kIcmpEchoReply, frame.size());
}

Decision Responder::HandleIpv6(ByteSpan buffer, const ParsedPacket& p) {
  if (!router_advertisements_ || p.l4 != L4Kind::kIcmpv6 ||
      p.icmp.type != kIcmpv6RouterSolicitation) {
    return Exception();
  }
  // RFC 4861 §6.2.6: a router answers solicitations to all routers or to
  // itself; one to another address is not ours.
  if (p.ipv6.destination != Ipv6Address::AllRouters() &&
      p.ipv6.destination != Ipv6Address::LinkLocal(local_.mac())) {
    return Exception();
  }
  if (!IsValidRouterSolicitation(buffer, p) || p.source_mac.IsMulticast()) {
    return Drop(DropReason::kNdpMalformed);
  }
  if (buffer.size() < p.l3_offset + kRouterAdvertisementPacketSize) {
    return Drop(DropReason::kNoRoomForReply);
  }
  // RFC 4861 §6.2.6: to the soliciting host alone when it has an address,
  // else to all nodes. Sent at once, not after §6.2.6's random delay of up
  // to 0.5 s: that delay keeps routers' multicast answers apart, and this one
  // names no router.
  const bool unicast = !p.ipv6.source.IsUnspecified();
  const Ipv6Address destination = unicast ? p.ipv6.source : Ipv6Address::AllNodes();
  const MacAddress destination_mac = unicast ? p.source_mac : destination.MulticastMac();
  size_t length =
      BuildRouterAdvertisement(buffer, p.l3_offset, local_.mac(), destination_mac, destination);
  return Transmit(Answer::kRouterAdvertisement, length);
}

size_t BuildGratuitousArp(ByteSpan frame, MacAddress mac, Ipv4Address ip) {
  std::fill(frame.begin(), frame.begin() + kMinFrameSize, std::byte{0});
  MacAddress::Broadcast().Store(frame, 0);
  mac.Store(frame, 6);
  Store16(frame, 12, kEtherTypeArp);
  StoreArp(frame, kEthernetHeaderSize, kArpOpRequest, mac, ip, MacAddress{}, ip);
  return kMinFrameSize;
}

}  // namespace stampede::net
