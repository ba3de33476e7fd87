#include "dataplane/tftp/session.h"

#include "gtest/gtest.h"

namespace stampede::tftp {
namespace {

SessionConfig Config(uint64_t size, uint32_t blksize = 512, uint32_t window = 1,
                     bool oack = false) {
  SessionConfig c;
  c.file_size = size;
  c.blksize = blksize;
  c.windowsize = window;
  c.oack = oack;
  return c;
}

void ExpectSend(const SendAction& a, uint64_t first, uint64_t count) {
  EXPECT_FALSE(a.oack);
  EXPECT_EQ(a.first, first);
  EXPECT_EQ(a.count, count);
}

TEST(TftpSessionTest, LockStepAndTheShortLastBlock) {
  for (uint64_t size : {0u, 1u, 511u, 512u, 1024u, 1500u}) {
    Session s(Config(size));
    uint64_t blocks = size / 512 + 1;  // an exact multiple ends with an empty block
    ASSERT_EQ(s.blocks(), blocks) << size;
    ExpectSend(s.Start(0), 1, 1);
    for (uint64_t i = 1; i <= blocks; ++i) {
      SendAction next = s.OnAck(static_cast<uint16_t>(i), i);
      if (i < blocks) ExpectSend(next, i + 1, 1);
    }
    EXPECT_TRUE(s.done()) << size;
    EXPECT_EQ(s.BlockLength(blocks), size % 512) << size;
  }
}

TEST(TftpSessionTest, NeverAnswersADuplicateAck) {  // the Sorcerer's Apprentice
  Session s(Config(5000));
  s.Start(0);
  ExpectSend(s.OnAck(1, 1), 2, 1);
  EXPECT_TRUE(s.OnAck(1, 2).empty());  // the duplicate of ACK 1
  EXPECT_TRUE(s.OnAck(7, 3).empty());  // a block never sent
  EXPECT_EQ(s.duplicate_acks(), 2u);
  ExpectSend(s.OnAck(2, 4), 3, 1);
}

TEST(TftpSessionTest, WindowsResumeFromTheFirstMissingBlock) {  // RFC 7440
  Session s(Config(100 * 1024, 1024, 8, /*oack=*/true));
  SendAction first = s.Start(0);
  EXPECT_TRUE(first.oack);
  ExpectSend(s.OnAck(0, 1), 1, 8);    // the OACK's ACK: the first window
  ExpectSend(s.OnAck(8, 2), 9, 8);    // the whole window: the next one
  ExpectSend(s.OnAck(12, 3), 13, 8);  // block 13 was lost: resume there
  EXPECT_TRUE(s.OnAck(10, 4).empty());
}

TEST(TftpSessionTest, BlockNumbersRollOverToZeroOrOne) {
  Session zero(Config(uint64_t{70000} * 512));
  EXPECT_EQ(zero.WireBlock(65535), 65535);
  EXPECT_EQ(zero.WireBlock(65536), 0);
  EXPECT_EQ(zero.WireBlock(65537), 1);
  SessionConfig c = Config(uint64_t{70000} * 512);
  c.rollover_to = 1;
  Session one(c);
  EXPECT_EQ(one.WireBlock(65535), 65535);
  EXPECT_EQ(one.WireBlock(65536), 1);
  // A whole transfer across the wrap, lock-step, ends.
  zero.Start(0);
  for (uint64_t i = 1; i <= zero.blocks(); ++i) zero.OnAck(zero.WireBlock(i), i);
  EXPECT_TRUE(zero.done());
  EXPECT_EQ(zero.duplicate_acks(), 0u);
  EXPECT_EQ(zero.BlockOffset(65537), uint64_t{65536} * 512);  // beyond 32 MiB, 64-bit
}

TEST(TftpSessionTest, RetransmitsWithBackOffAndGivesUp) {
  SessionConfig c = Config(4096, 512, 4);
  c.max_retries = 3;
  Session s(c);
  s.Start(0);
  uint32_t rto = s.rto_ms();
  for (int i = 0; i < 3; ++i) {
    std::optional<SendAction> again = s.OnTimeout(1000 * (i + 1));
    ASSERT_TRUE(again);
    ExpectSend(*again, 1, 4);
  }
  EXPECT_GT(s.rto_ms(), rto);
  EXPECT_FALSE(s.OnTimeout(5000));  // dead
}

TEST(TftpSessionTest, LearnsTheRoundTrip) {
  Session s(Config(512 * 100));
  s.Start(0);
  uint64_t now = 0;
  for (uint16_t i = 1; i <= 20; ++i) s.OnAck(i, now += 4);  // 4 ms round trips
  EXPECT_LT(s.rto_ms(), 200u);                              // well under the initial 1 s
  EXPECT_GE(s.rto_ms(), 100u);                              // never under the floor
}

TEST(TftpSessionTest, KnowsWhenTheClientHasAcknowledgedSomething) {
  SessionConfig with_oack = Config(2000);
  with_oack.oack = true;
  Session s(with_oack);
  s.Start(0);
  EXPECT_FALSE(s.acknowledged());  // a repeated request now is a retransmission
  s.OnAck(0, 1);
  EXPECT_TRUE(s.acknowledged());
  Session plain(Config(2000));
  plain.Start(0);
  plain.OnAck(7, 1);  // not a block it was sent
  EXPECT_FALSE(plain.acknowledged());
  plain.OnAck(1, 2);
  EXPECT_TRUE(plain.acknowledged());
}

}  // namespace
}  // namespace stampede::tftp
