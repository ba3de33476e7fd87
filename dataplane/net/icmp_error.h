// ICMP errors the dataplane sends back to the kernel behind the exception
// path, as a router on the way would: "fragmentation needed" for a datagram
// with Don't Fragment set that is bigger than the wire's MTU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/net/bytes.h"
#include "dataplane/net/tcp_segment.h"

namespace stampede::net {

// RFC 792 Destination Unreachable; RFC 1191 §4: code 4 carries the next-hop
// MTU in the low 16 bits of the second header word.
inline constexpr uint8_t kIcmpDestinationUnreachable = 3;
inline constexpr uint8_t kIcmpFragmentationNeeded = 4;
// RFC 792: an error quotes the datagram's IP header and 64 bits of its data.
inline constexpr size_t kIcmpQuotedDataSize = 8;
// The most BuildFragmentationNeeded writes: Ethernet with an 802.1Q tag, IPv4,
// ICMP, the quoted header with options and its 8 bytes of data.
inline constexpr size_t kFragmentationNeededMaxSize = 18 + 20 + 8 + 60 + kIcmpQuotedDataSize;

// Writes into `out` the frame that tells the sender of `frame` (an IPv4 kIpv4
// or kTcp frame whose first bytes are `headers`) that it must not exceed
// `mtu`: Ethernet addresses swapped (the VLAN tag kept), from the datagram's
// destination to its source. Returns its length; 0 when `frame` is not IPv4
// or `out` is too small.
size_t BuildFragmentationNeeded(ConstByteSpan headers, const FrameHeaders& frame, uint16_t mtu,
                                ByteSpan out);

}  // namespace stampede::net
