// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), used
// by IPv4, UDP and ICMP parsing and reply building.
#pragma once

#include <cstdint>

#include "dataplane/net/bytes.h"

namespace stampede::net {

// One's-complement sum of `bytes` (odd length padded with a zero byte), not
// folded or complemented; chain calls to cover a pseudo-header and a payload.
uint32_t ChecksumPartial(ConstByteSpan bytes, uint32_t sum = 0);

// Folds a partial sum to 16 bits and complements it: the value to store.
uint16_t ChecksumFinish(uint32_t sum);

// True when `bytes` (checksum field included) sums to 0xffff.
inline bool ChecksumValid(ConstByteSpan bytes) {
  return ChecksumFinish(ChecksumPartial(bytes)) == 0;
}

// RFC 1624 eqn. 3: the new checksum after one 16-bit word changed from `old_word`
// to `new_word`.
uint16_t ChecksumAdjust(uint16_t checksum, uint16_t old_word, uint16_t new_word);

}  // namespace stampede::net
