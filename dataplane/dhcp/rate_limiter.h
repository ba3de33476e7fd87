// The per-MAC token buckets of the DHCP rate limit (limits.dhcp_rate_per_mac),
// in a fixed table: 4-way sets of one cache line each, the set picked by a
// keyed hash of the MAC, each set keeping its ways in order of use, so the
// least recently seen MAC of a full set makes room. A lookup touches one
// cache line (a hash map's control bytes and slot were two misses per
// request in a boot storm), the table never grows, and a MAC forgotten
// starts with a full bucket again. A MAC that keeps flooding is never the
// least recently seen of its set, so it stays limited however many other
// MACs come and go; the hash's key is random per process, so which MACs
// share a set cannot be chosen.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/dhcp/table_allocator.h"

namespace stampede::dhcp {

class RateLimiter {
 public:
  static constexpr size_t kWays = 4;
  // 131,072 MACs remembered in 2 MiB: table memory (a huge page), so the
  // array starts on a page and each set is one cache line.
  static constexpr size_t kSetBits = 15;
  static constexpr size_t kSets = size_t{1} << kSetBits;
  // A bucket counts thousandths of a request in 24 bits: higher rates act
  // as this one (a MAC this busy is limited by nothing else anyway).
  static constexpr uint32_t kMaxRate = 16'000;

  RateLimiter();

  // Takes one of `mac`'s tokens at `now_ms` (which only goes forward):
  // false, or true when its bucket (`rate` a second, `rate` deep) is empty.
  bool Limited(uint64_t mac, uint64_t now_ms, uint32_t rate);

  // Starts loading `mac`'s set, for a Limited() a little later (a burst's
  // requests are looked ahead at, so their misses overlap).
  void Prefetch(uint64_t mac) const { __builtin_prefetch(&sets_[SetOf(mac)]); }

  // MACs with a bucket now (tests).
  size_t size() const;

 private:
  struct Entry {
    uint64_t key = 0;    // the MAC plus kValid; 0: empty
    uint64_t state = 0;  // ms since base_ms_ << 24 | thousandths of a token
  };
  struct Set {
    std::array<Entry, kWays> ways;
  };
  static_assert(sizeof(Set) == 64 && kSets * sizeof(Set) >= kHugePageBytes);
  static constexpr uint64_t kValid = uint64_t{1} << 63;
  // A multiplicative hash of the keyed MAC; its top bits pick the set.
  size_t SetOf(uint64_t mac) const {
    return ((mac ^ seed_) * 0x9e3779b97f4a7c15ULL) >> (64 - kSetBits);
  }

  std::vector<Set, TableAllocator<Set>> sets_;
  uint64_t seed_;
  uint64_t base_ms_ = 0;  // the first now_ms seen: times are kept relative to it
};

}  // namespace stampede::dhcp
