#include "dataplane/net/neighbour_table.h"

#include <memory>

#include "gtest/gtest.h"

namespace stampede::net {
namespace {

MacAddress Mac(uint8_t last) { return {{0x02, 0, 0, 0, 0, last}}; }

TEST(NeighbourTableTest, LearnsUpdatesAndAgesOut) {
  auto table = std::make_unique<NeighbourTable>(/*max_age=*/100);
  Ipv4Address ip{0xc6120002};
  EXPECT_FALSE(table->Lookup(ip, 0));
  table->Learn(ip, Mac(1), 10);
  EXPECT_EQ(table->Lookup(ip, 50), Mac(1));
  table->Learn(ip, Mac(2), 20);
  EXPECT_EQ(table->Lookup(ip, 50), Mac(2));
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(table->Lookup(ip, 120), Mac(2));
  EXPECT_FALSE(table->Lookup(ip, 121));
}

TEST(NeighbourTableTest, HoldsAPoolOfClients) {
  auto table = std::make_unique<NeighbourTable>(1000);
  constexpr uint32_t kClients = 4000;
  for (uint32_t i = 0; i < kClients; ++i) {
    table->Learn({0xc6120000 + i}, Mac(static_cast<uint8_t>(i)), 1);
  }
  uint32_t found = 0;
  for (uint32_t i = 0; i < kClients; ++i) {
    std::optional<MacAddress> mac = table->Lookup({0xc6120000 + i}, 2);
    if (mac && *mac == Mac(static_cast<uint8_t>(i))) ++found;
  }
  // Half full: bounded probing may evict a few, but nearly all must be there.
  EXPECT_GE(found, kClients * 99 / 100);
  EXPECT_LE(table->size(), NeighbourTable::kCapacity);
}

TEST(NeighbourTableTest, ReplacesTheOldestWhenFull) {
  auto table = std::make_unique<NeighbourTable>(1'000'000);
  // Far more addresses than slots: the table stays bounded and keeps the newest.
  for (uint32_t i = 0; i < 3 * NeighbourTable::kCapacity; ++i) {
    table->Learn({0x0a000000 + i}, Mac(1), i);
  }
  EXPECT_LE(table->size(), NeighbourTable::kCapacity);
  EXPECT_GE(table->size(), NeighbourTable::kCapacity * 9 / 10);
  uint32_t last = 3 * NeighbourTable::kCapacity - 1;
  EXPECT_EQ(table->Lookup({0x0a000000 + last}, last), Mac(1));
}

}  // namespace
}  // namespace stampede::net
