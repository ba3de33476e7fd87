#include "dataplane/io/block_cache.h"

#include <rte_mbuf.h>

#include <cstdlib>
#include <memory>

#include "gtest/gtest.h"

namespace stampede::io {
namespace {

struct Memory {
  explicit Memory(size_t blocks)
      : bytes(blocks * kCacheBlockBytes),
        data(static_cast<std::byte*>(std::aligned_alloc(kCacheBlockBytes, bytes))) {}
  ~Memory() { std::free(data); }
  size_t bytes;
  std::byte* data;
};

TEST(BlockCacheTest, AMissIsLoadedOnceAndThenHit) {
  Memory memory(16);
  BlockCache cache(memory.data, memory.bytes);
  EXPECT_EQ(cache.slots(), 16u);
  auto first = cache.Acquire(BlockCache::Key(3, 7));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->load);
  // A second reader while it loads: no second load.
  auto second = cache.Acquire(BlockCache::Key(3, 7));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->load);
  EXPECT_EQ(second->state, BlockCache::State::kLoading);
  cache.Release(second->slot);
  cache.Complete(first->slot, 1000);
  EXPECT_EQ(cache.completions(), 1u);
  auto hit = cache.Acquire(BlockCache::Key(3, 7));
  ASSERT_TRUE(hit);
  EXPECT_FALSE(hit->load);
  EXPECT_EQ(hit->state, BlockCache::State::kReady);
  EXPECT_EQ(cache.length(hit->slot), 1000u);
  cache.Release(hit->slot);
}

TEST(BlockCacheTest, PinnedBlocksAreNeverEvicted) {
  Memory memory(BlockCache::kWays);  // one set
  BlockCache cache(memory.data, memory.bytes);
  std::vector<uint32_t> pinned;
  for (uint64_t b = 0; b < BlockCache::kWays; ++b) {
    auto pin = cache.Acquire(BlockCache::Key(1, b));
    ASSERT_TRUE(pin);
    cache.Complete(pin->slot, 10);
    auto again = cache.Acquire(BlockCache::Key(1, b));  // a session's pin
    pinned.push_back(again->slot);
  }
  EXPECT_FALSE(cache.Acquire(BlockCache::Key(1, 99)));  // every way pinned
  cache.Release(pinned[3]);
  auto evicting = cache.Acquire(BlockCache::Key(1, 99));
  ASSERT_TRUE(evicting);
  EXPECT_EQ(evicting->slot, pinned[3]);
  EXPECT_TRUE(evicting->load);
}

TEST(BlockCacheTest, AFrameStillInFlightKeepsItsBlock) {
  Memory memory(BlockCache::kWays);
  BlockCache cache(memory.data, memory.bytes);
  auto pin = cache.Acquire(BlockCache::Key(2, 0));
  cache.Complete(pin->slot, 64);
  // What a DATA frame does: one reference for as long as the driver has it.
  rte_mbuf_ext_refcnt_update(cache.shared(pin->slot), 1);
  for (uint64_t b = 1; b <= 20; ++b) {
    auto other = cache.Acquire(BlockCache::Key(2, b));
    ASSERT_TRUE(other);
    EXPECT_NE(other->slot, pin->slot);
    cache.Complete(other->slot, 64);
  }
  rte_mbuf_ext_refcnt_update(cache.shared(pin->slot), -1);
  EXPECT_EQ(rte_mbuf_ext_refcnt_read(cache.shared(pin->slot)), 1);
}

TEST(BlockCacheTest, AFailedReadFailsItsReadersThenIsRetried) {
  Memory memory(8);
  BlockCache cache(memory.data, memory.bytes);
  auto loader = cache.Acquire(BlockCache::Key(4, 1));
  auto waiter = cache.Acquire(BlockCache::Key(4, 1));
  cache.Complete(loader->slot, -5);
  EXPECT_EQ(cache.state(waiter->slot), BlockCache::State::kFailed);
  // Someone still looks at the failure: a newcomer sees it too.
  auto seen = cache.Acquire(BlockCache::Key(4, 1));
  EXPECT_EQ(seen->state, BlockCache::State::kFailed);
  EXPECT_FALSE(seen->load);
  cache.Release(seen->slot);
  cache.Release(waiter->slot);
  // Nobody holds it: the next reader loads it again.
  auto retry = cache.Acquire(BlockCache::Key(4, 1));
  EXPECT_TRUE(retry->load);
}

TEST(BlockCacheTest, AFailureStandsForItsBackOff) {
  Memory memory(8);
  BlockCache cache(memory.data, memory.bytes, nullptr, /*failure_backoff_cycles=*/UINT64_MAX / 2);
  auto loader = cache.Acquire(BlockCache::Key(5, 0));
  cache.Complete(loader->slot, -5);
  // Nobody pins it, but the failure is recent: askers fail, no new read.
  for (int i = 0; i < 3; ++i) {
    auto again = cache.Acquire(BlockCache::Key(5, 0));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->load);
    EXPECT_EQ(again->state, BlockCache::State::kFailed);
    cache.Release(again->slot);
  }
}

TEST(BlockCacheTest, AnAbandonedClaimIsEmptyAgain) {
  Memory memory(8);
  BlockCache cache(memory.data, memory.bytes);
  auto claim = cache.Acquire(BlockCache::Key(6, 0));
  ASSERT_TRUE(claim && claim->load);
  cache.Abandon(claim->slot);
  EXPECT_EQ(cache.state(claim->slot), BlockCache::State::kEmpty);
  EXPECT_EQ(rte_mbuf_ext_refcnt_read(cache.shared(claim->slot)), 1);
  auto retry = cache.Acquire(BlockCache::Key(6, 0));
  EXPECT_TRUE(retry->load);  // claimed afresh, not found half-loaded
}

TEST(BlockCacheTest, EveryBlockHasItsOwnAddress) {
  Memory memory(16);
  BlockCache cache(memory.data, memory.bytes,
                   [](const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)) ^ 1; });
  EXPECT_TRUE(cache.has_iova());
  for (uint32_t s = 0; s < cache.slots(); ++s) {
    EXPECT_EQ(cache.iova(s), uint64_t(reinterpret_cast<uintptr_t>(cache.data(s))) ^ 1);
  }
  BlockCache none(memory.data, memory.bytes);
  EXPECT_FALSE(none.has_iova());
}

TEST(BlockCacheTest, NoMemoryMeansNoSlots) {
  BlockCache cache(nullptr, 0);
  EXPECT_EQ(cache.slots(), 0u);
  EXPECT_FALSE(cache.Acquire(1));
}

}  // namespace
}  // namespace stampede::io
