#include "dataplane/dhcp/rate_limiter.h"

#include "gtest/gtest.h"

namespace stampede::dhcp {
namespace {

constexpr uint64_t kStart = 1'764'000'000'000;  // Unix ms, as the worker's clock
constexpr uint64_t kFlooder = 0x020000000001;

TEST(RateLimiterTest, ABucketHoldsRateRequestsAndRefillsInASecond) {
  RateLimiter limiter;
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += !limiter.Limited(kFlooder, kStart, 5);
  EXPECT_EQ(allowed, 5);
  EXPECT_TRUE(limiter.Limited(kFlooder, kStart + 199, 5));   // 0.995 of a token
  EXPECT_FALSE(limiter.Limited(kFlooder, kStart + 200, 5));  // one token back
  EXPECT_TRUE(limiter.Limited(kFlooder, kStart + 200, 5));
  allowed = 0;  // an hour later: full, not 18,000 tokens
  for (int i = 0; i < 20; ++i) allowed += !limiter.Limited(kFlooder, kStart + 3'600'000, 5);
  EXPECT_EQ(allowed, 5);
  EXPECT_FALSE(limiter.Limited(0x020000000002, kStart, 5));  // another MAC: its own bucket
  // A clock that steps back refills nothing (and wraps nothing around).
  EXPECT_TRUE(limiter.Limited(kFlooder, kStart, 5));
  // Past the highest rate kept, rates act as it.
  int fast = 0;
  for (uint32_t i = 0; i < 2 * RateLimiter::kMaxRate; ++i) {
    fast += !limiter.Limited(0x020000000003, kStart, 1'000'000);
  }
  EXPECT_EQ(fast, int{RateLimiter::kMaxRate});
}

// However many made-up MACs come, a MAC that keeps sending stays limited:
// it is never the least recently seen of its set. The table stays its size.
TEST(RateLimiterTest, AFloodOfOtherMacsDoesNotFreeAFlooder) {
  RateLimiter limiter;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.Limited(kFlooder, kStart, 5));
  int freed = 0;
  for (uint64_t mac = 0x060000000000; mac < 0x060000000000 + 1'000'000; ++mac) {
    EXPECT_FALSE(limiter.Limited(mac, kStart, 5));  // each new MAC: a full bucket
    if (mac % 3 == 0) freed += !limiter.Limited(kFlooder, kStart, 5);
  }
  EXPECT_EQ(freed, 0);
  EXPECT_EQ(limiter.size(), RateLimiter::kSets * RateLimiter::kWays);
}

// A MAC that stopped sending is forgotten once its set fills with others,
// and starts with a full bucket again.
TEST(RateLimiterTest, AForgottenMacStartsFull) {
  RateLimiter limiter;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.Limited(kFlooder, kStart, 5));
  EXPECT_TRUE(limiter.Limited(kFlooder, kStart, 5));
  // A million others, a little later: about 30 per set, so the flooder's is
  // refilled by others (all but certainly: the chance it is not is ~1e-10).
  for (uint64_t mac = 0x060000000000; mac < 0x060000000000 + 1'000'000; ++mac) {
    limiter.Limited(mac, kStart + 1, 5);
  }
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += !limiter.Limited(kFlooder, kStart + 1, 5);
  EXPECT_EQ(allowed, 5);
}

}  // namespace
}  // namespace stampede::dhcp
