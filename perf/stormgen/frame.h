// Ethernet/IPv4/UDP frames and ARP replies as the generator's clients send
// them, written into byte spans (the driver's mbufs; plain buffers in tests).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/packet.h"

namespace stampede::stormgen {

// Ethernet + IPv4 (no options) + UDP.
inline constexpr size_t kUdpFrameOverhead =
    net::kEthernetHeaderSize + net::kIpv4MinHeaderSize + net::kUdpHeaderSize;
inline constexpr size_t kMinFrameSize = 60;  // IEEE 802.3 without FCS: shorter ones are padded

struct UdpEndpoints {
  net::MacAddress source_mac;
  net::MacAddress destination_mac;
  net::Ipv4Address source;
  net::Ipv4Address destination;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
};

// The frame's size for a `payload_size`-byte datagram (padding included).
size_t UdpFrameSize(size_t payload_size);

// Writes a frame carrying `payload` into `out` (at least UdpFrameSize bytes),
// IPv4 and UDP checksums computed (RFC 791, RFC 768); returns its size.
size_t BuildUdpFrame(net::ByteSpan out, const UdpEndpoints& to, uint16_t ip_id,
                     net::ConstByteSpan payload);

// Writes the ARP reply (RFC 826) to `request` saying `ip` is at `mac`;
// returns its size (kMinFrameSize).
size_t BuildArpReply(net::ByteSpan out, const net::ArpFields& request, net::MacAddress mac);

}  // namespace stampede::stormgen
