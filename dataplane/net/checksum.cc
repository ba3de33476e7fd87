#include "dataplane/net/checksum.h"

#include <bit>
#include <cstring>

namespace stampede::net {
namespace {

// RFC 1071 §2(B): the one's-complement sum is byte-order independent up to one
// final swap, so it adds native loads and swaps once at the end. §2(C): it
// can add 64-bit words with the carry wrapped around, two instructions per 8
// bytes; two sums side by side so their carry chains overlap.
uint64_t AddCarry(uint64_t sum, uint64_t word) {
  sum += word;
  return sum + (sum < word);
}

uint64_t SumNative(ConstByteSpan bytes) {
  const std::byte* data = bytes.data();
  size_t size = bytes.size();
  uint64_t a = 0, b = 0;
  size_t i = 0;
  for (; i + 16 <= size; i += 16) {
    uint64_t x, y;
    std::memcpy(&x, data + i, 8);
    std::memcpy(&y, data + i + 8, 8);
    a = AddCarry(a, x);
    b = AddCarry(b, y);
  }
  if (i + 8 <= size) {
    uint64_t x;
    std::memcpy(&x, data + i, 8);
    b = AddCarry(b, x);
    i += 8;
  }
  a = AddCarry(a, b);
  // Folded to 33 bits: the halves below cannot overflow it.
  uint64_t sum = (a & 0xffffffffu) + (a >> 32);
  for (; i + 2 <= size; i += 2) {
    uint16_t half;
    std::memcpy(&half, data + i, 2);
    sum += half;
  }
  if (i < size) {
    uint8_t last[2] = {static_cast<uint8_t>(data[i]), 0};
    uint16_t half;
    std::memcpy(&half, last, 2);
    sum += half;
  }
  return sum;
}

uint16_t Fold16(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

uint32_t ChecksumPartial(ConstByteSpan bytes, uint32_t sum) {
  uint16_t native = Fold16(SumNative(bytes));
  if constexpr (std::endian::native == std::endian::little) {
    native = static_cast<uint16_t>((native >> 8) | (native << 8));
  }
  uint64_t total = uint64_t{sum} + native;
  while (total >> 32) total = (total & 0xffffffffu) + (total >> 32);
  return static_cast<uint32_t>(total);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t ChecksumAdjust(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  // Eqn. 3 yields 0x0000 when the rest of the data sums to zero (an echo of all
  // zero bytes), where only 0xffff verifies; 0xffff verifies wherever 0x0000
  // does, so it is always the one to send.
  uint16_t adjusted = ChecksumFinish(sum);
  return adjusted == 0 ? 0xffff : adjusted;
}

}  // namespace stampede::net
