#include "dataplane/net/checksum.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::net {
namespace {

// The straightforward RFC 1071 definition, 16 bits at a time.
uint16_t Reference(const std::vector<std::byte>& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    uint32_t hi = static_cast<uint8_t>(data[i]);
    uint32_t lo = i + 1 < data.size() ? static_cast<uint8_t>(data[i + 1]) : 0;
    sum += (hi << 8) | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  std::vector<std::byte> data;
  for (uint8_t b : {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}) data.push_back(std::byte{b});
  EXPECT_EQ(ChecksumFinish(ChecksumPartial(data)), static_cast<uint16_t>(~0xddf2));
}

TEST(ChecksumTest, MatchesReferenceForEveryLength) {
  std::mt19937 random(7);
  for (size_t length = 0; length < 200; ++length) {
    std::vector<std::byte> data(length);
    for (std::byte& b : data) b = std::byte(random() & 0xff);
    EXPECT_EQ(ChecksumFinish(ChecksumPartial(data)), Reference(data)) << "length " << length;
  }
}

// All-ones words carry out of every 64-bit add: the end-around carry must
// come back in, at every length and alignment of the 8-byte tail.
TEST(ChecksumTest, CarriesWrapAround) {
  for (uint8_t fill : {0xff, 0xfe, 0x80}) {
    for (size_t length = 0; length < 200; ++length) {
      std::vector<std::byte> data(length, std::byte{fill});
      EXPECT_EQ(ChecksumFinish(ChecksumPartial(data)), Reference(data))
          << "fill " << int(fill) << " length " << length;
    }
  }
  std::vector<std::byte> zeros(64);
  EXPECT_EQ(ChecksumPartial(zeros), 0u);  // only all-zero data sums to zero
}

TEST(ChecksumTest, ChainsAndValidates) {
  std::vector<std::byte> data(40);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 13);
  data[10] = data[11] = std::byte{0};
  uint32_t first = ChecksumPartial(ConstByteSpan(data).first(16));
  uint16_t chained = ChecksumFinish(ChecksumPartial(ConstByteSpan(data).subspan(16), first));
  EXPECT_EQ(chained, ChecksumFinish(ChecksumPartial(data)));
  Store16(ByteSpan(data), 10, chained);
  EXPECT_TRUE(ChecksumValid(data));
  data[3] ^= std::byte{1};
  EXPECT_FALSE(ChecksumValid(data));
}

TEST(ChecksumTest, AdjustEqualsRecompute) {
  std::mt19937 random(11);
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::byte> data(24);
    for (std::byte& b : data) b = std::byte(random() & 0xff);
    Store16(ByteSpan(data), 2, 0);
    uint16_t checksum = ChecksumFinish(ChecksumPartial(data));
    uint16_t old_word = Load16(data, 8);
    uint16_t new_word = static_cast<uint16_t>(random());
    Store16(ByteSpan(data), 8, new_word);
    uint16_t recomputed = ChecksumFinish(ChecksumPartial(data));
    uint16_t adjusted = ChecksumAdjust(checksum, old_word, new_word);
    // 0x0000 and 0xffff are the same value in one's complement.
    EXPECT_TRUE(adjusted == recomputed || (adjusted ^ recomputed) == 0xffff)
        << adjusted << " vs " << recomputed;
    Store16(ByteSpan(data), 2, adjusted);
    EXPECT_TRUE(ChecksumValid(data));
  }
}

// An ICMP echo request of all zero bytes (type 8, checksum 0xf7ff) turned into
// a reply: the adjusted checksum must be 0xffff, since 0x0000 does not verify
// over data that sums to zero (found by packet_fuzz).
TEST(ChecksumTest, AdjustToAllZeroDataGivesVerifiableChecksum) {
  std::vector<std::byte> data(64);
  Store16(ByteSpan(data), 0, 0x0800);
  Store16(ByteSpan(data), 2, 0xf7ff);
  ASSERT_TRUE(ChecksumValid(data));
  uint16_t adjusted = ChecksumAdjust(0xf7ff, 0x0800, 0x0000);
  EXPECT_EQ(adjusted, 0xffff);
  Store16(ByteSpan(data), 0, 0x0000);
  Store16(ByteSpan(data), 2, adjusted);
  EXPECT_TRUE(ChecksumValid(data));
}

}  // namespace
}  // namespace stampede::net
