// The DHCP worker's frame layer: takes a received frame carrying a DHCP
// request (UDP 67 or 4011), runs the server, and rewrites the same buffer
// into the reply frame (Ethernet, IPv4, UDP) addressed per RFC 2131 §4.1.
// Pure byte-span code: the worker hands it an mbuf's bytes.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/dhcp/server.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/packet.h"

namespace stampede::dhcp {

inline constexpr uint16_t kServerPort = 67;
inline constexpr uint16_t kClientPort = 68;
inline constexpr uint16_t kBootServerPort = 4011;
// The reply must fit one standard frame: no IPv4 fragments.
inline constexpr size_t kMaxReplyPayload = 1500 - 20 - 8;

struct EndpointResult {
  bool send = false;
  size_t length = 0;  // of the reply frame
  bool malformed = false;
  ParseError parse_error = ParseError::kNone;
  Decision decision;
};

class Endpoint {
 public:
  explicit Endpoint(const net::LocalAddresses& local) : local_(local) {}

  // `buffer` holds the request frame (parsed as `p`); on send it holds the
  // reply frame of `length` bytes (buffer.size() is the room available).
  // Without a send its bytes past the IPv4 and UDP headers may have changed.
  EndpointResult Handle(net::ByteSpan buffer, const net::ParsedPacket& p,
                        const policy::PolicyTables& policy, uint64_t now_ms);
  Server& server() { return server_; }

 private:
  const net::Ipv4Interface* LocalFor(const Message& request) const;

  const net::LocalAddresses& local_;
  Server server_;
  Message request_;
  // Where a reply is built when the request's buffer is too small for it.
  std::array<std::byte, kMaxReplyPayload> reply_{};
};

}  // namespace stampede::dhcp
