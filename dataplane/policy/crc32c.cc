#include "dataplane/policy/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace stampede::policy {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78;  // reflected Castagnoli

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Crc32c(std::span<const std::byte> data, uint32_t crc) {
  crc = ~crc;
#if defined(__SSE4_2__)
  // SSE4.2's crc32 instruction computes exactly this polynomial, 8 bytes a
  // step: ~8x the table's speed on a multi-MiB policy.
  uint64_t wide = crc;
  while (data.size() >= 8) {
    uint64_t word;
    std::memcpy(&word, data.data(), 8);
    wide = _mm_crc32_u64(wide, word);
    data = data.subspan(8);
  }
  crc = static_cast<uint32_t>(wide);
#endif
  for (std::byte b : data) crc = kTable[(crc ^ static_cast<uint8_t>(b)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace stampede::policy
