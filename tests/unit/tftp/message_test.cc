#include "dataplane/tftp/message.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::tftp {
namespace {

std::vector<std::byte> Bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  for (size_t i = 0; i < s.size(); ++i) b[i] = std::byte(static_cast<uint8_t>(s[i]));
  return b;
}

std::string Rrq(const std::string& body) { return std::string("\0\1", 2) + body; }

TEST(TftpMessageTest, ParsesAReadRequestWithOptions) {
  ParsedRequest r =
      ParseRequest(Bytes(Rrq(std::string("pxelinux.0\0OCTET\0blksize\0"
                                         "1468\0tsize\0"
                                         "0\0windowsize\0"
                                         "16\0timeout\0"
                                         "3\0x-odd\0"
                                         "1\0",
                                         70))));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.request.opcode, Opcode::kRrq);
  EXPECT_EQ(r.request.path, "pxelinux.0");
  EXPECT_EQ(r.request.mode, Mode::kOctet);
  EXPECT_EQ(r.request.options.blksize, 1468u);
  EXPECT_EQ(r.request.options.tsize, 0u);
  EXPECT_EQ(r.request.options.windowsize, 16u);
  EXPECT_EQ(r.request.options.timeout, 3u);
}

TEST(TftpMessageTest, RefusesMalformedRequests) {
  struct Case {
    std::string bytes;
    RequestError error;
  };
  for (const Case& c :
       {Case{"", RequestError::kTruncated}, Case{"\0", RequestError::kTruncated},
        Case{std::string("\0\3x\0octet\0", 10), RequestError::kNotRequest},
        Case{Rrq(std::string("file", 4)), RequestError::kTruncated},
        Case{Rrq(std::string("file\0", 5)), RequestError::kTruncated},
        Case{Rrq(std::string("file\0mail\0", 10)), RequestError::kBadMode},
        Case{Rrq(std::string("f\0octet\0blksize\0", 16)), RequestError::kBadOption},
        Case{Rrq(std::string("f\0octet\0blksize\0big\0", 20)), RequestError::kBadOption},
        Case{Rrq(std::string(600, 'a')), RequestError::kTooLong}}) {
    EXPECT_EQ(ParseRequest(Bytes(c.bytes)).error, c.error) << c.bytes.size();
  }
}

TEST(TftpMessageTest, NegotiatesWithinLimitsAndRefusesOutOfRange) {
  RequestedOptions asked;
  asked.blksize = 9000;
  asked.windowsize = 64;
  asked.tsize = 0;
  Negotiated n = Negotiate(asked, {1468, 16});
  EXPECT_FALSE(n.refuse);
  EXPECT_EQ(n.blksize, 1468u);  // clamped to the path MTU
  EXPECT_EQ(n.windowsize, 16u);
  EXPECT_TRUE(n.send_tsize);
  std::byte out[128];
  size_t length = BuildOack(n, uint64_t{5} << 30, out);  // tsize beyond 4 GiB
  std::string oack(reinterpret_cast<const char*>(out), length);
  EXPECT_EQ(oack, std::string("\0\6tsize\0"
                              "5368709120\0blksize\0"
                              "1468\0windowsize\0"
                              "16\0",
                              46));

  for (auto spoil :
       {+[](RequestedOptions& o) { o.blksize = 7; },
        +[](RequestedOptions& o) { o.blksize = 65465; },
        +[](RequestedOptions& o) { o.timeout = 0; }, +[](RequestedOptions& o) { o.timeout = 256; },
        +[](RequestedOptions& o) { o.windowsize = 0; }}) {
    RequestedOptions bad;
    spoil(bad);
    EXPECT_EQ(Negotiate(bad, {}).refuse, ErrorCode::kOptionRefused);
  }
  EXPECT_FALSE(Negotiate({}, {}).any);  // no options: no OACK, plain RFC 1350
}

TEST(TftpMessageTest, BuildsErrorsDataAndReadsAcks) {
  std::byte out[64];
  size_t n = BuildError(ErrorCode::kFileNotFound, "no such file", out);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out), n),
            std::string("\0\5\0\1no such file\0", 17));
  BuildDataHeader(0xfffe, out);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out), 4), std::string("\0\3\xff\xfe", 4));
  EXPECT_EQ(ParseAck(Bytes(std::string("\0\4\1\2", 4))), 0x0102);
  EXPECT_FALSE(ParseAck(Bytes(std::string("\0\4\1", 3))));
  EXPECT_FALSE(ParseAck(Bytes(std::string("\0\3\1\2", 4))));
}

// A client's ERROR (it gave a transfer up): code and message, a missing NUL
// forgiven, anything else not an ERROR.
TEST(TftpMessageTest, ParsesErrors) {
  // The message is a view into the datagram: the datagrams outlive it.
  const std::vector<std::byte> denied = Bytes(std::string("\0\5\0\2denied\0", 11));
  const std::vector<std::byte> no_nul = Bytes(std::string("\0\5\0\0no nul", 10));
  std::optional<ErrorMessage> e = ParseError(denied);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ErrorCode::kAccessViolation);
  EXPECT_EQ(e->message, "denied");
  e = ParseError(no_nul);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "no nul");
  e = ParseError(Bytes(std::string("\0\5\1\0", 4)));
  ASSERT_TRUE(e);
  EXPECT_EQ(static_cast<uint16_t>(e->code), 256);  // unknown codes are kept as sent
  EXPECT_EQ(e->message, "");
  EXPECT_FALSE(ParseError(Bytes(std::string("\0\5\0", 3))));
  EXPECT_FALSE(ParseError(Bytes(std::string("\0\4\0\1", 4))));
}

TEST(TftpMessageTest, NormalisesPathsAndRefusesEscapes) {
  EXPECT_EQ(NormalisePath("/pxelinux.0"), "pxelinux.0");
  EXPECT_EQ(NormalisePath("\\boot\\grub\\grub.cfg"), "boot/grub/grub.cfg");
  EXPECT_EQ(NormalisePath("//a/./b//c"), "a/b/c");
  for (const char* bad : {"", "/", "../etc/passwd", "a/../../b", "a\\..\\b", "./.."}) {
    EXPECT_FALSE(NormalisePath(bad)) << bad;
  }
  EXPECT_FALSE(NormalisePath(std::string("a\0b", 3)));
  EXPECT_FALSE(NormalisePath(std::string(300, 'a')));
}

TEST(TftpMessageTest, ConvertsToNetascii) {
  std::vector<std::byte> out;
  ToNetascii(Bytes(std::string("a\nb\rc\r\n\n", 8)), out);
  EXPECT_EQ(out, Bytes(std::string("a\r\nb\r\0c\r\0\r\n\r\n", 13)));
  ToNetascii({}, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace stampede::tftp
