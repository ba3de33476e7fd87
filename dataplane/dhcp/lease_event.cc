#include "dataplane/dhcp/lease_event.h"

#include "dataplane/net/proto_wire.h"

namespace stampede::dhcp {
namespace {

// stampede.v1.Event's fields (Lease's and PoolExhausted's are numbered
// where written).
constexpr int kEventTime = 1;
constexpr int kEventLease = 4;
constexpr int kEventPoolExhausted = 5;
constexpr int kEventProxyBoot = 8;

// An Event with its time and `body` as field `field`.
size_t Wrap(uint64_t time_ns, int field, const net::ProtoWriter& body, std::span<std::byte> out) {
  net::ProtoWriter e(out.data());
  e.VarintField(kEventTime, time_ns);
  e.MessageField(field, body.data(), body.size());
  return e.size();
}

}  // namespace

size_t EncodeLeaseEvent(uint64_t time_ns, LeaseChange change, uint32_t address,
                        const ClientKey& client, uint64_t expires_unix_ms, std::span<std::byte> out,
                        LeaseBoot boot) {
  // The Lease message first, into a scratch area, to know its length.
  std::byte lease[64];
  net::ProtoWriter l(lease);
  l.VarintField(1, static_cast<uint8_t>(change));
  l.Fixed32Field(2, address);
  l.BytesField(3, client.bytes.data(), client.length);
  l.VarintField(4, expires_unix_ms);
  l.VarintField(5, boot.profile);
  // proto3 optional: present even when 0 (BIOS).
  if (boot.client_arch != kNoClientArch) l.VarintFieldPresent(6, boot.client_arch);
  return Wrap(time_ns, kEventLease, l, out);
}

size_t EncodeProxyBootEvent(uint64_t time_ns, ProxyStep step, uint32_t address,
                            const ClientKey& client, std::span<std::byte> out, LeaseBoot boot) {
  std::byte body[64];
  net::ProtoWriter b(body);
  b.VarintField(1, static_cast<uint8_t>(step));
  b.Fixed32Field(2, address);
  b.BytesField(3, client.bytes.data(), client.length);
  b.VarintField(4, boot.profile);
  if (boot.client_arch != kNoClientArch) b.VarintFieldPresent(5, boot.client_arch);
  return Wrap(time_ns, kEventProxyBoot, b, out);
}

size_t EncodePoolExhaustedEvent(uint64_t time_ns, uint32_t network, uint32_t prefix_length,
                                std::span<std::byte> out) {
  std::byte body[16];
  net::ProtoWriter b(body);
  b.Fixed32Field(1, network);
  b.VarintField(2, prefix_length);
  return Wrap(time_ns, kEventPoolExhausted, b, out);
}

}  // namespace stampede::dhcp
