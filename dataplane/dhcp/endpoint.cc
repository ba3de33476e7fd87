#include "dataplane/dhcp/endpoint.h"

#include <cstring>

#include "dataplane/net/checksum.h"

namespace stampede::dhcp {

const net::Ipv4Interface* Endpoint::LocalFor(const Message& request) const {
  std::span<const net::Ipv4Interface> addresses = local_.ipv4();
  if (addresses.empty()) return nullptr;
  // The appliance address on the client's (or relay's) network, else the first.
  uint32_t where = request.giaddr.value != 0 ? request.giaddr.value : request.ciaddr.value;
  for (const net::Ipv4Interface& a : addresses) {
    if (where != 0 && a.Contains({where})) return &a;
  }
  return &addresses[0];
}

EndpointResult Endpoint::Handle(net::ByteSpan buffer, const net::ParsedPacket& p,
                                const policy::PolicyTables& policy, uint64_t now_ms) {
  EndpointResult result;
  net::ConstByteSpan payload =
      net::ConstByteSpan(buffer).subspan(p.udp.payload_offset, p.udp.payload_length);
  ParseResult parsed = Parse(payload, request_);
  if (!parsed.ok()) {
    result.malformed = true;
    result.parse_error = parsed.error;
    return result;
  }
  const net::Ipv4Interface* local = LocalFor(request_);
  if (local == nullptr) return result;
  bool boot_server_port = p.udp.destination_port == kBootServerPort;
  RequestContext context{*local, boot_server_port, now_ms};
  size_t limit = ReplyLimit(request_, kMaxReplyPayload);
  // The reply frame keeps the request's L2 layout (VLAN tag included). The
  // request is parsed into request_ by now, so the reply is built where it
  // goes, past the new IPv4 and UDP headers, when the buffer has room for
  // the largest one; else in reply_, and copied.
  size_t l3 = p.l3_offset;
  bool in_place = buffer.size() >= l3 + 20 + 8 + kMaxReplyPayload;
  net::ByteSpan reply = in_place ? buffer.subspan(l3 + 20 + 8, kMaxReplyPayload) : reply_;
  result.decision = server_.Handle(request_, context, policy, reply, limit);
  const Decision& d = result.decision;
  if (!d.reply) return result;

  size_t length = l3 + 20 + 8 + d.reply_length;
  if (length > buffer.size()) return result;  // no room: counted by the caller as not sent

  net::MacAddress destination_mac;
  net::Ipv4Address destination_ip;
  uint16_t destination_port = kClientPort;
  uint16_t source_port = kServerPort;
  if (d.to_relay) {
    destination_mac = p.source_mac;  // the relay sent it
    destination_ip = d.destination;
    destination_port = kServerPort;
  } else if (d.to_source) {
    destination_mac = p.source_mac;
    destination_ip = p.ipv4.source;
    destination_port = p.udp.source_port;
    source_port = kBootServerPort;
  } else if (d.to_ciaddr) {
    destination_mac = p.source_mac;
    destination_ip = d.destination;
  } else if (d.broadcast) {
    destination_mac = net::MacAddress::Broadcast();
    destination_ip = {0xffffffff};
  } else {
    destination_mac = request_.Mac();  // no ARP: the client has no address yet
    destination_ip = d.destination;
  }

  destination_mac.Store(buffer, 0);
  local_.mac().Store(buffer, 6);
  net::ByteSpan ip = buffer.subspan(l3, 20);
  net::Store8(ip, 0, 0x45);
  net::Store8(ip, 1, 0);
  net::Store16(ip, 2, static_cast<uint16_t>(20 + 8 + d.reply_length));
  net::Store16(ip, 4, 0);
  net::Store16(ip, 6, 0x4000);  // don't fragment
  net::Store8(ip, 8, 64);
  net::Store8(ip, 9, 17);
  net::Store16(ip, 10, 0);
  local->address.Store(ip, 12);
  destination_ip.Store(ip, 16);
  net::Store16(ip, 10, net::ChecksumFinish(net::ChecksumPartial(ip)));
  net::ByteSpan udp = buffer.subspan(l3 + 20, 8 + d.reply_length);
  net::Store16(udp, 0, source_port);
  net::Store16(udp, 2, destination_port);
  net::Store16(udp, 4, static_cast<uint16_t>(8 + d.reply_length));
  net::Store16(udp, 6, 0);
  if (!in_place) std::memcpy(udp.data() + 8, reply_.data(), d.reply_length);
  uint16_t checksum = net::UdpChecksum(local->address, destination_ip, udp);
  net::Store16(udp, 6, checksum == 0 ? 0xffff : checksum);  // RFC 768: 0 means none
  result.send = true;
  result.length = length;
  return result;
}

}  // namespace stampede::dhcp
