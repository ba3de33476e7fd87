#include "dataplane/net/checksum.h"

namespace stampede::net {

uint32_t ChecksumPartial(ConstByteSpan bytes, uint32_t sum) {
  uint64_t wide = sum;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) wide += Load16(bytes, i);
  if (i < bytes.size()) wide += static_cast<uint32_t>(Load8(bytes, i)) << 8;
  while (wide >> 32) wide = (wide & 0xffffffffu) + (wide >> 32);
  return static_cast<uint32_t>(wide);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t ChecksumAdjust(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  return ChecksumFinish(sum);
}

}  // namespace stampede::net
