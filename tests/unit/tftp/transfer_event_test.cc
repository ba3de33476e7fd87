// The hand-encoded TftpTransfer event against protobuf's own parser.
#include "dataplane/tftp/transfer_event.h"

#include <string>
#include <utility>
#include <vector>

#include "dataplane/policy/status_region.h"
#include "gtest/gtest.h"
#include "stampede/v1/event.pb.h"

namespace stampede::tftp {
namespace {

v1::Event Decode(const TransferReport& report) {
  std::byte out[kMaxTftpTransferEventBytes];
  size_t n = EncodeTftpTransferEvent(report, out);
  EXPECT_LE(n, sizeof(out));
  EXPECT_LE(n, policy::kMaxEventBytes);
  v1::Event event;
  EXPECT_TRUE(event.ParseFromArray(out, static_cast<int>(n)));
  EXPECT_TRUE(event.has_tftp_transfer());
  return event;
}

TEST(TftpTransferEventTest, DecodesAsProtobufWithEveryField) {
  TransferReport r;
  r.time_ns = 1'700'000'000'123'000'000;
  r.client_address = 0xc6120064;  // 198.18.0.100
  r.client_port = 2070;
  r.file = "boot/grub/x86_64-efi/normal.mod";
  r.outcome = TransferOutcome::kTimedOut;
  r.error_code = 0;
  r.detail = "timed out";
  r.bytes = 65'536;
  r.size = 1'234'567;
  r.duration_us = 12'000'000;
  r.block_size = 1468;
  r.window_size = 16;
  r.retransmits = 7;
  v1::Event event = Decode(r);
  EXPECT_EQ(event.time_ns(), r.time_ns);
  const v1::TftpTransfer& t = event.tftp_transfer();
  EXPECT_EQ(t.client_address(), 0xc6120064u);
  EXPECT_EQ(t.client_port(), 2070u);
  EXPECT_EQ(t.file(), "boot/grub/x86_64-efi/normal.mod");
  EXPECT_FALSE(t.file_truncated());
  EXPECT_EQ(t.outcome(), v1::TftpTransfer::TIMED_OUT);
  EXPECT_EQ(t.error_code(), 0u);
  EXPECT_EQ(t.detail(), "timed out");  // a message keeps its spaces
  EXPECT_EQ(t.bytes(), 65'536u);
  EXPECT_EQ(t.size(), 1'234'567u);
  EXPECT_EQ(t.duration_us(), 12'000'000u);
  EXPECT_EQ(t.block_size(), 1468u);
  EXPECT_EQ(t.window_size(), 16u);
  EXPECT_EQ(t.retransmits(), 7u);
}

TEST(TftpTransferEventTest, OutcomesMapToTheProtoEnum) {
  for (auto [outcome, want] : std::vector<std::pair<TransferOutcome, v1::TftpTransfer::Outcome>>{
           {TransferOutcome::kCompleted, v1::TftpTransfer::COMPLETED},
           {TransferOutcome::kRefused, v1::TftpTransfer::REFUSED},
           {TransferOutcome::kAborted, v1::TftpTransfer::ABORTED},
           {TransferOutcome::kTimedOut, v1::TftpTransfer::TIMED_OUT},
           {TransferOutcome::kReadError, v1::TftpTransfer::READ_ERROR},
           {TransferOutcome::kUnanswered, v1::TftpTransfer::UNANSWERED}}) {
    TransferReport r;
    r.outcome = outcome;
    EXPECT_EQ(Decode(r).tftp_transfer().outcome(), want);
  }
}

// A client's bytes (the file it asked for, the message of its ERROR) are
// escaped and cut: the event's strings are valid UTF-8 and the event fits
// a record, whatever was sent.
TEST(TftpTransferEventTest, EscapesAndCutsWhatTheClientSent) {
  TransferReport r;
  std::string file("a b\"\\\xff\n", 7);
  r.file = file;
  r.detail = "bad\x01 \"x\"";
  EXPECT_EQ(Decode(r).tftp_transfer().file(), "a%20b%22%5C%FF%0A");
  EXPECT_EQ(Decode(r).tftp_transfer().detail(), "bad%01 %22x%22");
  std::string long_file(600, '\x80'), long_detail(600, 'x');
  r.file = long_file;
  r.detail = long_detail;
  r.bytes = r.size = r.duration_us = UINT64_MAX;
  r.block_size = r.window_size = r.retransmits = UINT32_MAX;
  r.error_code = UINT16_MAX;
  r.client_address = UINT32_MAX;
  r.client_port = UINT16_MAX;
  r.time_ns = UINT64_MAX;
  v1::Event event = Decode(r);
  EXPECT_TRUE(event.tftp_transfer().file_truncated());
  EXPECT_EQ(event.tftp_transfer().file().size(), 255u);  // 85 whole escapes
  EXPECT_EQ(event.tftp_transfer().detail().size(), kMaxTransferDetailBytes);
}

}  // namespace
}  // namespace stampede::tftp
