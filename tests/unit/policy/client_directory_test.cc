#include "dataplane/policy/client_directory.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "gtest/gtest.h"

namespace stampede::policy {
namespace {

TEST(ClientDirectoryTest, SetFindClear) {
  ClientDirectory directory(100);
  EXPECT_EQ(directory.capacity(), 128u);
  EXPECT_FALSE(directory.Find(0xc6120064, 7));
  ASSERT_TRUE(directory.Set(0xc6120064, 3, true, 7));
  std::optional<ClientBoot> boot = directory.Find(0xc6120064, 7);
  ASSERT_TRUE(boot);
  EXPECT_EQ(boot->profile, 3u);
  EXPECT_TRUE(boot->once);
  EXPECT_FALSE(directory.Find(0xc6120064, 8));  // another list of profiles
  EXPECT_FALSE(directory.Find(0xc6120065, 7));
  ASSERT_TRUE(directory.Set(0xc6120064, 2, false, 7));  // replaced in place
  EXPECT_EQ(directory.Find(0xc6120064, 7)->profile, 2u);
  EXPECT_FALSE(directory.Find(0xc6120064, 7)->once);
  directory.Clear(0xc6120064);
  EXPECT_FALSE(directory.Find(0xc6120064, 7));
  directory.Clear(0xc6120099);  // never there: nothing to do
  EXPECT_FALSE(directory.Find(0xc6120099, 7));
}

TEST(ClientDirectoryTest, RefusesWhatDoesNotFit) {
  ClientDirectory directory(64);
  EXPECT_FALSE(directory.Set(0, 1, false, 0));  // 0.0.0.0 is no client
  EXPECT_FALSE(directory.Find(0, 0));
  EXPECT_FALSE(directory.Set(1, ClientDirectory::kMaxProfile + 1, false, 0));
  EXPECT_TRUE(directory.Set(1, ClientDirectory::kMaxProfile, true, 0xffff));
  EXPECT_EQ(directory.Find(1, 0xffff)->profile, ClientDirectory::kMaxProfile);
  // Fill it: at most capacity() addresses are kept, the rest counted.
  size_t kept = 0;
  for (uint32_t a = 2; a < 1000; ++a) kept += directory.Set(a, 1, false, 0);
  EXPECT_LE(kept, directory.capacity() - 1);
  EXPECT_EQ(directory.full(), 998 - kept);
  // Every address it said it kept is found, with its own value.
  for (uint32_t a = 2; a < 1000; ++a) {
    std::optional<ClientBoot> boot = directory.Find(a, 0);
    if (boot) {
      EXPECT_EQ(boot->profile, 1u);
    }
  }
  EXPECT_EQ(directory.Find(1, 0xffff)->profile, ClientDirectory::kMaxProfile);
}

// One writer changing entries while readers look: a reader sees an entry
// whole (its profile always the one written with its address), never
// another address's.
TEST(ClientDirectoryTest, ReadersSeeWholeEntriesWhileTheWriterWrites) {
  ClientDirectory directory(4096);
  constexpr uint32_t kAddresses = 2000;
  auto profile_of = [](uint32_t address, uint32_t round) {
    return 1 + (address * 7 + round) % 1000;
  };
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad{0}, seen{0};
  auto reader = [&] {
    while (!done.load(std::memory_order_acquire)) {
      for (uint32_t a = 1; a <= kAddresses; ++a) {
        std::optional<ClientBoot> boot = directory.Find(0xc6120000 + a, 9);
        if (!boot) continue;
        seen.fetch_add(1, std::memory_order_relaxed);
        // The round is in the once bit and the profile: both from one word.
        uint32_t round = boot->once ? 1 : 0;
        if (boot->profile != profile_of(a, round)) bad.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::thread r1(reader), r2(reader);
  for (uint32_t pass = 0; pass < 200; ++pass) {
    for (uint32_t a = 1; a <= kAddresses; ++a) {
      uint32_t round = (a + pass) % 2;
      if ((a + pass) % 5 == 0) {
        directory.Clear(0xc6120000 + a);
      } else {
        ASSERT_TRUE(directory.Set(0xc6120000 + a, profile_of(a, round), round == 1, 9));
      }
    }
  }
  done.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(directory.full(), 0u);
}

}  // namespace
}  // namespace stampede::policy
