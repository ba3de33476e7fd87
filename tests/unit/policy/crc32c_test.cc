#include "dataplane/policy/crc32c.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::policy {
namespace {

std::vector<std::byte> Bytes(const std::string& text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(std::byte(c));
  return out;
}

TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Crc32c(Bytes("123456789")), 0xe3069283u);  // the standard check value
  EXPECT_EQ(Crc32c(std::vector<std::byte>(32, std::byte{0})), 0x8a9136aau);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::vector<std::byte>(32, std::byte{0xff})), 0x62a8ab43u);
  EXPECT_EQ(Crc32c({}), 0u);
}

TEST(Crc32cTest, Chains) {
  std::vector<std::byte> all = Bytes("stampede boots racks");
  uint32_t first = Crc32c(std::span(all).first(7));
  EXPECT_EQ(Crc32c(std::span(all).subspan(7), first), Crc32c(all));
}

}  // namespace
}  // namespace stampede::policy

namespace stampede::policy {
namespace {

// Bit by bit, straight from the definition (reflected Castagnoli).
uint32_t Reference(std::span<const std::byte> data) {
  uint32_t crc = ~0u;
  for (std::byte b : data) {
    crc ^= static_cast<uint8_t>(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
  }
  return ~crc;
}

TEST(Crc32cTest, WideAndBytewisePathsAgreeWithTheDefinition) {
  std::vector<std::byte> data(1031);
  uint32_t x = 12345;
  for (std::byte& b : data) b = std::byte(static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16));
  for (size_t offset : {0, 1, 3, 7}) {
    for (size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1000}) {
      std::span<const std::byte> part = std::span(data).subspan(offset, length);
      ASSERT_EQ(Crc32c(part), Reference(part)) << offset << "+" << length;
    }
  }
}

}  // namespace
}  // namespace stampede::policy
