#include "dataplane/dhcp/message.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/unit/dhcp/requests.h"

namespace stampede::dhcp {
namespace {

using testing::Request;
using testing::RequestSpec;

std::string Str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TEST(MessageTest, ParsesTheFixedHeaderAndOptions) {
  RequestSpec spec;
  spec.flags = kBroadcastFlag;
  spec.options = {{option::kParameterList, std::string{1, 3, 6}},
                  {option::kClientArch, testing::U16(7)},
                  {option::kVendorClass, "PXEClient:Arch:00007"}};
  std::vector<std::byte> bytes = Request(spec);
  Message m;
  ASSERT_TRUE(Parse(bytes, m).ok());
  EXPECT_EQ(m.op, kBootRequest);
  EXPECT_EQ(m.xid, 0x1234u);
  EXPECT_TRUE(m.Broadcast());
  EXPECT_EQ(m.Type(), MessageType::kDiscover);
  EXPECT_EQ(m.Mac().ToString(), "02:00:5e:00:00:01");
  EXPECT_EQ(m.U16(option::kClientArch), 7);
  EXPECT_EQ(Str(*m.Option(option::kVendorClass)), "PXEClient:Arch:00007");
  EXPECT_FALSE(m.Has(option::kHostName));
}

TEST(MessageTest, ConcatenatesSplitOptions) {  // RFC 3396
  RequestSpec spec;
  spec.options = {
      {option::kVendorSpecific, "abc"}, {option::kHostName, "h"}, {option::kVendorSpecific, "def"}};
  Message m;
  ASSERT_TRUE(Parse(Request(spec), m).ok());
  EXPECT_EQ(Str(*m.Option(option::kVendorSpecific)), "abcdef");
  EXPECT_EQ(Str(*m.Option(option::kHostName)), "h");
}

TEST(MessageTest, ReadsOverloadedFileAndSname) {  // RFC 2131 §4.1
  RequestSpec spec;
  spec.options = {{option::kOverload, std::string(1, 3)}};
  std::vector<std::byte> bytes = Request(spec);
  auto put = [&](size_t at, std::string s) {
    for (size_t i = 0; i < s.size(); ++i) bytes[at + i] = std::byte(uint8_t(s[i]));
  };
  put(kFileOffset, std::string{char(option::kHostName), 2, 'a', 'b', char(option::kEnd)});
  put(kSnameOffset, std::string{char(option::kHostName), 1, 'c', char(option::kDomainName), 1, 'x',
                                char(option::kEnd)});
  Message m;
  ASSERT_TRUE(Parse(bytes, m).ok());
  EXPECT_EQ(Str(*m.Option(option::kHostName)), "abc");  // file before sname
  EXPECT_EQ(Str(*m.Option(option::kDomainName)), "x");
}

TEST(MessageTest, EveryTruncationIsRefused) {
  RequestSpec spec;
  spec.options = {{option::kHostName, "node-7"}};
  std::vector<std::byte> bytes = Request(spec);
  bytes.pop_back();  // no END: a message may stop without it
  Message m;
  ASSERT_TRUE(Parse(bytes, m).ok());
  // Options: 53 at 240..242, 12 at 243..250. A cut between options is a
  // complete (short) message; a cut inside one is refused.
  for (size_t n = 0; n < bytes.size(); ++n) {
    ParseResult r = Parse(std::span(bytes).first(n), m);
    ParseError want = n < kOptionsOffset                               ? ParseError::kTruncated
                      : n == kOptionsOffset || n == kOptionsOffset + 3 ? ParseError::kNone
                                                                       : ParseError::kBadOption;
    EXPECT_EQ(r.error, want) << n;
  }
}

TEST(MessageTest, RefusesMalformedMessages) {
  struct Case {
    const char* name;
    size_t offset;
    uint8_t value;
    ParseError error;
  };
  for (const Case& c :
       {Case{"reply", 0, 2, ParseError::kNotRequest}, Case{"hlen", 2, 17, ParseError::kBadHardware},
        Case{"cookie", kFixedSize, 0x64, ParseError::kBadCookie},
        Case{"length_past_end", kOptionsOffset + 1, 200, ParseError::kBadOption}}) {
    std::vector<std::byte> bytes = Request({});
    bytes[c.offset] = std::byte{c.value};
    Message m;
    EXPECT_EQ(Parse(bytes, m).error, c.error) << c.name;
  }
  RequestSpec overload;
  overload.options = {{option::kOverload, std::string(1, 4)}};
  Message m;
  EXPECT_EQ(Parse(Request(overload), m).error, ParseError::kBadOverload);
}

TEST(MessageTest, RoundTripsThroughTheBuilder) {
  RequestSpec spec;
  spec.options = {{option::kClientId, std::string("\x01\x02\x00\x5e\x00\x00\x01", 7)}};
  Message request;
  ASSERT_TRUE(Parse(Request(spec), request).ok());
  std::vector<std::byte> buffer(1500);
  ReplyBuilder out(buffer, 1472);
  out.Begin(request, MessageType::kOffer);
  out.SetYiaddr({0xc6120064});
  out.SetSiaddr({0xc6120001});
  ASSERT_TRUE(out.SetFile("pxelinux.0"));
  ASSERT_TRUE(out.AddU32(option::kLeaseTime, 3600));
  std::string long_value(600, 'v');  // split into 255 + 255 + 90 (RFC 3396)
  ASSERT_TRUE(out.AddText(option::kVendorSpecific, long_value));
  ASSERT_TRUE(out.AddText(option::kBootfileName, "pxelinux.0"));
  size_t length = out.Finish();
  ASSERT_GE(length, kMinReplySize);
  buffer[0] = std::byte{kBootRequest};  // parse it as the other side would
  Message reply;
  ASSERT_TRUE(Parse(std::span(buffer).first(length), reply).ok());
  EXPECT_EQ(reply.Type(), MessageType::kOffer);
  EXPECT_EQ(reply.xid, request.xid);
  EXPECT_EQ(reply.yiaddr.value, 0xc6120064u);
  EXPECT_EQ(reply.siaddr.value, 0xc6120001u);
  EXPECT_EQ(reply.chaddr, request.chaddr);
  EXPECT_EQ(reply.U32(option::kLeaseTime), 3600u);
  EXPECT_EQ(Str(*reply.Option(option::kVendorSpecific)), long_value);
  EXPECT_EQ(Str(*reply.Option(option::kBootfileName)), "pxelinux.0");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()) + kFileOffset), "pxelinux.0");
}

TEST(MessageTest, KeepsWithinTheClientsSize) {
  Message request;
  RequestSpec spec;
  spec.options = {{option::kMaxMessageSize, testing::U16(400)}};  // under 576: ignored
  ASSERT_TRUE(Parse(Request(spec), request).ok());
  EXPECT_EQ(ReplyLimit(request, 1472), kDefaultReplyLimit);
  spec.options = {{option::kMaxMessageSize, testing::U16(1000)}};
  ASSERT_TRUE(Parse(Request(spec), request).ok());
  EXPECT_EQ(ReplyLimit(request, 1472), 1000u - 28);
  EXPECT_EQ(ReplyLimit(request, 700), 700u);

  std::vector<std::byte> buffer(1500);
  ReplyBuilder out(buffer, kDefaultReplyLimit);
  out.Begin(request, MessageType::kAck);
  EXPECT_TRUE(out.AddText(option::kDomainName, std::string(200, 'd')));
  EXPECT_FALSE(out.AddText(option::kHostName, std::string(200, 'h')));  // would not fit
  EXPECT_EQ(out.dropped(), 1u);
  EXPECT_LE(out.Finish(), kDefaultReplyLimit);
}

TEST(MessageTest, AnOptionFitsToTheLastByteBeforeEnd) {
  Message request;
  ASSERT_TRUE(Parse(Request(RequestSpec{}), request).ok());
  std::vector<std::byte> buffer(1500);
  // Room for 100 bytes of options after the message type (3 bytes), and
  // one byte for END.
  constexpr size_t kRoom = 100;
  constexpr size_t kLimit = kOptionsOffset + 3 + kRoom + 1;
  for (size_t value : {kRoom - 3, kRoom - 2, kRoom - 1}) {
    ReplyBuilder out(buffer, kLimit);
    out.Begin(request, MessageType::kAck);
    bool fits = 2 + value <= kRoom;
    EXPECT_EQ(out.AddText(option::kDomainName, std::string(value, 'd')), fits) << value;
    EXPECT_EQ(out.dropped(), fits ? 0u : 1u);
    EXPECT_LE(out.Finish(), std::max(kLimit, kMinReplySize));
  }
  // An empty value is an option too (code and zero length).
  ReplyBuilder out(buffer, kDefaultReplyLimit);
  out.Begin(request, MessageType::kAck);
  ASSERT_TRUE(out.AddText(option::kHostName, ""));
  size_t length = out.Finish();
  buffer[0] = std::byte{kBootRequest};
  Message reply;
  ASSERT_TRUE(Parse(std::span(buffer).first(length), reply).ok());
  ASSERT_TRUE(reply.Option(option::kHostName));
  EXPECT_TRUE(reply.Option(option::kHostName)->empty());
}

TEST(MessageTest, ParsingAgainForgetsTheOptionsBefore) {
  RequestSpec many;
  many.options = {{option::kParameterList, std::string{1, 3, 6}},
                  {option::kClientArch, testing::U16(7)},
                  {option::kVendorClass, "PXEClient"},
                  {option::kRequestedAddress, testing::U32(0xc6120064)}};
  RequestSpec few;
  few.options = {{option::kVendorClass, "HTTPClient"}};
  Message m;
  ASSERT_TRUE(Parse(Request(many), m).ok());
  EXPECT_EQ(m.Address(option::kRequestedAddress)->value, 0xc6120064u);
  ASSERT_TRUE(Parse(Request(few), m).ok());
  EXPECT_EQ(Str(*m.Option(option::kVendorClass)), "HTTPClient");
  EXPECT_FALSE(m.Has(option::kParameterList));
  EXPECT_FALSE(m.U16(option::kClientArch));
  EXPECT_FALSE(m.Address(option::kRequestedAddress));
  EXPECT_EQ(m.Type(), MessageType::kDiscover);
  // A failed parse forgets them too.
  ASSERT_TRUE(Parse(Request(many), m).ok());
  std::vector<std::byte> truncated = Request(few);
  truncated.resize(10);
  EXPECT_FALSE(Parse(truncated, m).ok());
  EXPECT_FALSE(m.Has(option::kVendorClass));
  EXPECT_EQ(m.Type(), MessageType::kNone);
}

}  // namespace
}  // namespace stampede::dhcp
