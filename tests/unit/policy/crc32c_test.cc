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
