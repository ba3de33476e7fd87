// IPv6 neighbour discovery, the one exchange stampede answers: a router
// solicitation (RFC 4861 §4.1), checked as §6.1.1 says, gets a router
// advertisement (§4.2) that offers nothing: no default router (lifetime 0),
// no prefix, no DHCPv6 (M = O = 0). Boot firmware that waits for IPv6
// autoconfiguration as well as DHCP (iPXE) then stops waiting on an IPv4-only
// segment. Pure byte-span code, used by the responder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/packet.h"

namespace stampede::net {

// RFC 4861 §4.1, §4.2: the ICMPv6 types and their fixed parts (the ICMPv6
// header included).
inline constexpr uint8_t kIcmpv6RouterSolicitation = 133;
inline constexpr uint8_t kIcmpv6RouterAdvertisement = 134;
inline constexpr size_t kRouterSolicitationSize = 8;
inline constexpr size_t kRouterAdvertisementSize = 16;
// §4.6: options are type, length in units of 8 bytes, value; §4.6.1: the
// source link-layer address option, one unit on Ethernet.
inline constexpr size_t kNdpOptionUnit = 8;
inline constexpr uint8_t kNdpOptionSourceLinkLayer = 1;
// §6.1.1, §6.1.2: ND messages carry hop limit 255, so none comes from off the
// link.
inline constexpr uint8_t kNdpHopLimit = 255;
// What our advertisement takes after the Ethernet header (and VLAN tag): the
// IPv6 header, the advertisement, our source link-layer address.
inline constexpr size_t kRouterAdvertisementPacketSize =
    kIpv6HeaderSize + kRouterAdvertisementSize + kNdpOptionUnit;

// Whether `p`, parsed from `frame` as ICMPv6 of type 133 (its checksum
// already checked by the parser), is a router solicitation RFC 4861 §6.1.1
// accepts: hop limit 255, code 0, at least 8 bytes, every option of non-zero
// length and inside the message, no source link-layer address option from
// the unspecified address.
bool IsValidRouterSolicitation(ConstByteSpan frame, const ParsedPacket& p);

// Writes our router advertisement to `destination` (`destination_mac` on the
// link) over `frame`: the Ethernet addresses, then from `l3_offset` (past the
// Ethernet header and any VLAN tag, which are kept) the IPv6 header, the
// advertisement and our source link-layer address, with its checksum.
// `frame` holds at least l3_offset + kRouterAdvertisementPacketSize bytes.
// Returns the frame's length.
size_t BuildRouterAdvertisement(ByteSpan frame, size_t l3_offset, const MacAddress& our_mac,
                                const MacAddress& destination_mac, const Ipv6Address& destination);

}  // namespace stampede::net
