// CRC-32C (Castagnoli, RFC 3720 §12.1), the checksum of shared-memory policy
// slots: it catches a torn or scribbled slot before the payload is parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace stampede::policy {

uint32_t Crc32c(std::span<const std::byte> data, uint32_t crc = 0);

}  // namespace stampede::policy
