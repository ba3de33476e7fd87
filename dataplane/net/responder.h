// The fast path's decision for one received frame: answer it in place (ARP for
// our addresses, ICMP echo, IPv6 router solicitations when asked to), hand it
// to the kernel's exception path, or drop it with a reason. Pure byte-span
// code, shared by the worker loop, tests and fuzzers.
#pragma once

#include <cstdint>

#include "dataplane/net/bytes.h"
#include "dataplane/net/drop_reason.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/neighbour_table.h"
#include "dataplane/net/packet.h"

namespace stampede::net {

enum class Verdict : uint8_t {
  kTransmit,   // the frame was rewritten in place into a reply; send it out of the port
  kException,  // not ours to answer: give it to the kernel
  kDrop,
  kDhcp,  // a DHCP or proxyDHCP request (UDP 67/4011) for the DHCP worker
  kTftp,  // a TFTP request (UDP 69) or a packet to a TFTP session port
};

// What the responder did, so the worker counts it.
enum class Answer : uint8_t { kNone, kArpReply, kIcmpEchoReply, kRouterAdvertisement };

struct Decision {
  Verdict verdict = Verdict::kDrop;
  DropReason drop = DropReason::kEthernetTruncated;  // when kDrop
  Answer answer = Answer::kNone;                     // when kTransmit
  size_t length = 0;  // when kTransmit: the reply's length, which may differ from the request's
};

// The TTL of packets we originate (RFC 1700's recommended default).
inline constexpr uint8_t kDefaultTtl = 64;
// Minimum Ethernet frame without FCS; short frames are padded to it.
inline constexpr size_t kMinFrameSize = 60;

class Responder {
 public:
  Responder(const LocalAddresses& local, NeighbourTable& neighbours)
      : local_(local), neighbours_(neighbours) {}

  // `buffer` is writable and starts with the received frame of
  // `frame_length` bytes: a reply is built over it, up to buffer.size()
  // bytes (a router advertisement is longer than the solicitation).
  Decision Handle(ByteSpan buffer, size_t frame_length, uint64_t now);
  // The same with no room past the frame.
  Decision Handle(ByteSpan frame, uint64_t now) { return Handle(frame, frame.size(), now); }
  // The parse of the frame Handle() saw last (for kDhcp).
  const ParsedPacket& last_packet() const { return parsed_.packet; }
  // Off until the first policy: DHCP, proxyDHCP and TFTP requests are then
  // dropped (kNoPolicy) rather than answered from nothing.
  void SetBootServices(bool on) { boot_services_ = on; }
  // Off unless the policy asks (dataplane.ipv6_ra): router solicitations go to
  // the kernel, which as a host ignores them.
  void SetRouterAdvertisements(bool on) { router_advertisements_ = on; }

 private:
  Decision HandleArp(ByteSpan frame, const ParsedPacket& p, uint64_t now);
  Decision HandleIpv4(ByteSpan frame, const ParsedPacket& p, uint64_t now);
  Decision HandleIpv6(ByteSpan buffer, const ParsedPacket& p);

  const LocalAddresses& local_;
  NeighbourTable& neighbours_;
  bool boot_services_ = false;
  bool router_advertisements_ = false;
  ParseResult parsed_;
};

// UDP ports of the boot services (RFC 2131 §4.1 server port, PXE's boot
// server port, RFC 1350's TFTP port).
inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kPxeBootServerPort = 4011;
inline constexpr uint16_t kTftpPort = 69;
// TFTP session ports: above Linux's default ephemeral range (32768-60999),
// so the kernel behind the exception path never picks one of ours.
inline constexpr uint16_t kTftpFirstSessionPort = 61000;
inline constexpr uint16_t kTftpLastSessionPort = 65535;
constexpr bool IsTftpSessionPort(uint16_t port) { return port >= kTftpFirstSessionPort; }
constexpr bool IsBootServicePort(uint16_t port) {
  return port == kDhcpServerPort || port == kPxeBootServerPort || port == kTftpPort ||
         IsTftpSessionPort(port);
}

// Writes an ARP announcement (RFC 5227 §3) for `ip` into `frame` (at least
// kMinFrameSize bytes) and returns its length.
size_t BuildGratuitousArp(ByteSpan frame, MacAddress mac, Ipv4Address ip);

}  // namespace stampede::net
