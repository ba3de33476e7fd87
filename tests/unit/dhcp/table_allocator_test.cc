#include "dataplane/dhcp/table_allocator.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::dhcp {
namespace {

// Small and big regions, each written end to end and given back; the big
// ones start on a huge page boundary, whatever their size.
TEST(TableAllocatorTest, GivesWritableRegionsBigOnesHugePageAligned) {
  for (size_t bytes : {size_t{64}, kHugePageBytes - 8, kHugePageBytes, kHugePageBytes + 8,
                       3 * kHugePageBytes + 4096}) {
    void* memory = AllocateTableMemory(bytes);
    ASSERT_NE(memory, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(memory) % alignof(std::max_align_t), 0u) << bytes;
    if (bytes >= kHugePageBytes) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(memory) % kHugePageBytes, 0u) << bytes;
    }
    std::memset(memory, 0xa5, bytes);
    FreeTableMemory(memory, bytes);
  }
}

// A map grown through the heap into huge page regions (and its old arrays
// given back at each step) keeps every entry.
TEST(TableAllocatorTest, AMapGrowsAcrossTheHugePageSize) {
  TableMap<uint32_t, uint64_t> map;
  constexpr uint32_t kEntries = 300'000;  // slots of 16 bytes: past 4 MiB
  for (uint32_t i = 0; i < kEntries; ++i) map.try_emplace(i * 7919u, uint64_t{i} * 3);
  ASSERT_EQ(map.size(), kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) {
    auto it = map.find(i * 7919u);
    ASSERT_NE(it, map.end()) << i;
    EXPECT_EQ(it->second, uint64_t{i} * 3);
  }
  std::vector<uint64_t, TableAllocator<uint64_t>> vector(kEntries, 1);
  EXPECT_EQ(vector.back(), 1u);
}

}  // namespace
}  // namespace stampede::dhcp
