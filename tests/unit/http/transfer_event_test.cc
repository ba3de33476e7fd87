// The hand-encoded HttpTransfer event against protobuf's own parser.
#include "dataplane/http/transfer_event.h"

#include <string>

#include "dataplane/policy/status_region.h"
#include "gtest/gtest.h"
#include "stampede/v1/event.pb.h"

namespace stampede::http {
namespace {

v1::Event Decode(const TransferReport& report) {
  std::byte out[kMaxHttpTransferEventBytes];
  size_t n = EncodeHttpTransferEvent(report, out);
  EXPECT_LE(n, sizeof(out));
  EXPECT_LE(n, policy::kMaxEventBytes);
  v1::Event event;
  EXPECT_TRUE(event.ParseFromArray(out, static_cast<int>(n)));
  EXPECT_TRUE(event.has_http_transfer());
  return event;
}

TEST(TransferEventTest, DecodesAsProtobufWithEveryField) {
  TransferReport r;
  r.time_ns = 1'700'000'000'123'456'789;
  r.client_address = 0xc6120002;  // 198.18.0.2
  r.client_port = 41324;
  r.method = "GET";
  r.target = "/images/live.iso?x=1";
  r.status = 206;
  r.bytes = 1'048'576;
  r.length = 1'048'576;
  r.duration_us = 9412;
  r.range = true;
  r.range_first = 5ull << 30;
  r.range_last = (5ull << 30) + 1'048'575;
  r.outcome = TransferOutcome::kAborted;
  r.error = 104;  // ECONNRESET
  v1::Event event = Decode(r);
  EXPECT_EQ(event.time_ns(), r.time_ns);
  const v1::HttpTransfer& t = event.http_transfer();
  EXPECT_EQ(t.client_address(), 0xc6120002u);
  EXPECT_EQ(t.client_port(), 41324u);
  EXPECT_EQ(t.method(), "GET");
  EXPECT_EQ(t.path(), "/images/live.iso?x=1");
  EXPECT_FALSE(t.path_truncated());
  EXPECT_EQ(t.status(), 206u);
  EXPECT_EQ(t.bytes(), 1'048'576u);
  EXPECT_EQ(t.length(), 1'048'576u);
  EXPECT_EQ(t.duration_us(), 9412u);
  EXPECT_TRUE(t.range());
  EXPECT_EQ(t.range_first(), 5ull << 30);
  EXPECT_EQ(t.range_last(), (5ull << 30) + 1'048'575);
  EXPECT_EQ(t.outcome(), v1::HttpTransfer::ABORTED);
  EXPECT_EQ(t.error(), 104u);
}

TEST(TransferEventTest, OutcomesMapToTheProtoEnum) {
  for (auto [outcome, want] : std::vector<std::pair<TransferOutcome, v1::HttpTransfer::Outcome>>{
           {TransferOutcome::kCompleted, v1::HttpTransfer::COMPLETED},
           {TransferOutcome::kAborted, v1::HttpTransfer::ABORTED},
           {TransferOutcome::kTimedOut, v1::HttpTransfer::TIMED_OUT},
           {TransferOutcome::kReadError, v1::HttpTransfer::READ_ERROR}}) {
    TransferReport r;
    r.outcome = outcome;
    EXPECT_EQ(Decode(r).http_transfer().outcome(), want);
  }
}

// A report of zeros and empty strings is still an HttpTransfer event.
TEST(TransferEventTest, EmptyReportStillNamesItsKind) {
  TransferReport r;
  r.outcome = static_cast<TransferOutcome>(0);
  v1::Event event = Decode(r);
  EXPECT_EQ(event.time_ns(), 0u);
  EXPECT_EQ(event.http_transfer().ByteSizeLong(), 0u);
  EXPECT_EQ(event.kind_case(), v1::Event::kHttpTransfer);
}

// Every number at its largest and the longest strings fit the bound and a
// status region record.
TEST(TransferEventTest, LargestReportFitsItsBound) {
  std::string method(1000, '\x80');
  std::string target(5000, '\x01');
  TransferReport r;
  r.time_ns = r.bytes = r.length = r.duration_us = r.range_first = r.range_last = UINT64_MAX;
  r.client_address = UINT32_MAX;
  r.client_port = UINT16_MAX;
  r.status = UINT32_MAX;
  r.error = UINT32_MAX;
  r.range = true;
  r.method = method;
  r.target = target;
  std::byte out[kMaxHttpTransferEventBytes];
  size_t n = EncodeHttpTransferEvent(r, out);
  EXPECT_LE(n, kMaxHttpTransferEventBytes);
  v1::Event event;
  ASSERT_TRUE(event.ParseFromArray(out, static_cast<int>(n)));
  const v1::HttpTransfer& t = event.http_transfer();
  EXPECT_EQ(event.time_ns(), UINT64_MAX);
  EXPECT_EQ(t.bytes(), UINT64_MAX);
  EXPECT_EQ(t.status(), UINT32_MAX);
  EXPECT_EQ(t.error(), UINT32_MAX);
  // Escapes are three bytes and never cut: 30 of 32, 255 of 256.
  EXPECT_EQ(t.method(), [] {
    std::string s;
    for (int i = 0; i < 10; ++i) s += "%80";
    return s;
  }());
  EXPECT_EQ(t.path().size(), 255u);
  EXPECT_TRUE(t.path_truncated());
}

// Bytes the target may hold come out as the access log writes them, so the
// proto3 strings are valid UTF-8 (protobuf refuses them otherwise).
TEST(TransferEventTest, TargetsAreEscapedLikeTheAccessLog) {
  struct Case {
    std::string target;
    std::string path;
    bool truncated;
  };
  for (const Case& c : std::vector<Case>{
           {"/a b", "/a%20b", false},
           {"/q\"\\", "/q%22%5C", false},
           {std::string("/\xc3\xa9\x00z", 5), "/%C3%A9%00z", false},
           {"/%2e%2e/x", "/%2e%2e/x", false},
           {"/" + std::string(300, 'a'), "/" + std::string(255, 'a'), true},
           {std::string(255, 'a') + "\x7f", std::string(255, 'a'), true},
           {"", "", false},
       }) {
    TransferReport r;
    r.target = c.target;
    const v1::HttpTransfer t = Decode(r).http_transfer();
    EXPECT_EQ(t.path(), c.path) << c.target.substr(0, 20);
    EXPECT_EQ(t.path_truncated(), c.truncated) << c.target.substr(0, 20);
  }
}

TEST(TransferEventTest, EscapeLoggedBoundsItsOutput) {
  char out[8];
  bool truncated = false;
  EXPECT_EQ(EscapeLogged("abc", sizeof(out), out, truncated), 3u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(std::string(out, 3), "abc");
  EXPECT_EQ(EscapeLogged("abcdef\n", sizeof(out), out, truncated), 6u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(EscapeLogged("abcde\n", sizeof(out), out, truncated), 8u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(std::string(out, 8), "abcde%0A");
  EXPECT_EQ(EscapeLogged("x", 0, out, truncated), 0u);
  EXPECT_TRUE(truncated);
}

}  // namespace
}  // namespace stampede::http
