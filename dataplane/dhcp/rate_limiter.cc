#include "dataplane/dhcp/rate_limiter.h"

#include <algorithm>
#include <random>

namespace stampede::dhcp {
namespace {

constexpr uint64_t kTokenBits = 24;
constexpr uint64_t kTokenMask = (uint64_t{1} << kTokenBits) - 1;

}  // namespace

RateLimiter::RateLimiter() : sets_(kSets) {
  std::random_device random;
  seed_ = (uint64_t{random()} << 32 | random()) | 1;
}

bool RateLimiter::Limited(uint64_t mac, uint64_t now_ms, uint32_t rate) {
  if (base_ms_ == 0) base_ms_ = now_ms;
  uint64_t now = now_ms > base_ms_ ? now_ms - base_ms_ : 0;
  uint64_t capacity = uint64_t{std::min(rate, kMaxRate)} * 1000;
  uint64_t key = mac | kValid;
  Set& set = sets_[SetOf(mac)];
  // Ways in order of use, the most recent first: a MAC found moves to the
  // front; a new one goes there and the last (least recently seen, or
  // empty) drops out.
  size_t at = 0;
  while (at < kWays - 1 && set.ways[at].key != key) ++at;
  Entry found = set.ways[at];
  std::copy_backward(set.ways.begin(), set.ways.begin() + at, set.ways.begin() + at + 1);
  Entry* entry = &set.ways[0];
  *entry = found;
  if (found.key != key) {
    entry->key = key;
    entry->state = now << kTokenBits | capacity;
  }
  uint64_t last = entry->state >> kTokenBits;
  uint64_t tokens = entry->state & kTokenMask;
  // A bucket refills in a second: a longer wait counts no more.
  uint64_t elapsed = std::min<uint64_t>(now > last ? now - last : 0, 1000);
  tokens = std::min(capacity, tokens + elapsed * std::min(rate, kMaxRate));
  bool limited = tokens < 1000;
  if (!limited) tokens -= 1000;
  entry->state = now << kTokenBits | tokens;
  return limited;
}

size_t RateLimiter::size() const {
  size_t n = 0;
  for (const Set& set : sets_) {
    for (const Entry& way : set.ways) n += way.key != 0;
  }
  return n;
}

}  // namespace stampede::dhcp
