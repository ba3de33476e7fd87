#include "dataplane/dhcp/lease_event.h"

#include <cstring>

namespace stampede::dhcp {
namespace {

// Protocol buffers wire format: varints, fixed32, length-delimited fields.
size_t Varint(uint64_t v, std::byte* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = std::byte(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out[n++] = std::byte(static_cast<uint8_t>(v));
  return n;
}

constexpr uint8_t Tag(int field, int wire_type) {
  return static_cast<uint8_t>(field << 3 | wire_type);
}

}  // namespace

size_t EncodeLeaseEvent(uint64_t time_ns, LeaseChange change, uint32_t address,
                        const ClientKey& client, uint64_t expires_unix_ms,
                        std::span<std::byte> out) {
  // The Lease message first, into a scratch area, to know its length.
  std::byte lease[64];
  size_t n = 0;
  lease[n++] = std::byte{Tag(1, 0)};
  n += Varint(static_cast<uint8_t>(change), lease + n);
  lease[n++] = std::byte{Tag(2, 5)};
  for (int i = 0; i < 4; ++i) lease[n++] = std::byte(static_cast<uint8_t>(address >> (8 * i)));
  lease[n++] = std::byte{Tag(3, 2)};
  n += Varint(client.length, lease + n);
  std::memcpy(lease + n, client.bytes.data(), client.length);
  n += client.length;
  lease[n++] = std::byte{Tag(4, 0)};
  n += Varint(expires_unix_ms, lease + n);

  size_t m = 0;
  std::byte* o = out.data();
  o[m++] = std::byte{Tag(1, 0)};
  m += Varint(time_ns, o + m);
  o[m++] = std::byte{Tag(4, 2)};
  m += Varint(n, o + m);
  std::memcpy(o + m, lease, n);
  return m + n;
}

size_t EncodePoolExhaustedEvent(uint64_t time_ns, uint32_t network, uint32_t prefix_length,
                                std::span<std::byte> out) {
  std::byte body[16];
  size_t n = 0;
  body[n++] = std::byte{Tag(1, 5)};
  for (int i = 0; i < 4; ++i) body[n++] = std::byte(static_cast<uint8_t>(network >> (8 * i)));
  body[n++] = std::byte{Tag(2, 0)};
  n += Varint(prefix_length, body + n);
  size_t m = 0;
  std::byte* o = out.data();
  o[m++] = std::byte{Tag(1, 0)};
  m += Varint(time_ns, o + m);
  o[m++] = std::byte{Tag(5, 2)};
  m += Varint(n, o + m);
  std::memcpy(o + m, body, n);
  return m + n;
}

}  // namespace stampede::dhcp
