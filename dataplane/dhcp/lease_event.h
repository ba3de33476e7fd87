// Encodes a stampede.v1.Event carrying a Lease by hand, into a caller's
// buffer: the DHCP worker reports every durable lease change and must not
// allocate per lease (a protobuf message would). The unit test parses the
// result with protobuf, so the two stay the same wire format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/dhcp/leases.h"

namespace stampede::dhcp {

// At most: Event tag + length + time varint + Lease fields.
inline constexpr size_t kMaxLeaseEventBytes = 112;

// What a granted lease boots (dhcp::Decision's boot_profile, client_arch).
struct LeaseBoot {
  uint32_t profile = 0;                  // 1-based index into the policy's profiles; 0: none
  uint32_t client_arch = kNoClientArch;  // option 93
};

// Returns the encoded size (`out` holds at least kMaxLeaseEventBytes).
size_t EncodeLeaseEvent(uint64_t time_ns, LeaseChange change, uint32_t address,
                        const ClientKey& client, uint64_t expires_unix_ms, std::span<std::byte> out,
                        LeaseBoot boot = {});

// A stampede.v1.Event carrying a ProxyBoot (`boot` as a lease's; a
// kRequested step has no boot options).
size_t EncodeProxyBootEvent(uint64_t time_ns, ProxyStep step, uint32_t address,
                            const ClientKey& client, std::span<std::byte> out, LeaseBoot boot = {});

// A stampede.v1.Event carrying a PoolExhausted.
size_t EncodePoolExhaustedEvent(uint64_t time_ns, uint32_t network, uint32_t prefix_length,
                                std::span<std::byte> out);

}  // namespace stampede::dhcp
