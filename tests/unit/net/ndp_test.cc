#include "dataplane/net/ndp.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/net/frames.h"

namespace stampede::net {
namespace {

using testing::Frame;

bool Valid(const Frame& frame) {
  ParseResult parsed = ParsePacket(frame);
  if (!parsed.ok || parsed.packet.l4 != L4Kind::kIcmpv6) {
    ADD_FAILURE() << "not ICMPv6: " << DropReasonName(parsed.drop);
    return false;
  }
  return IsValidRouterSolicitation(frame, parsed.packet);
}

// Appends `option` to the solicitation in `frame` (untagged) and fixes the
// lengths and checksum.
Frame WithOption(Frame frame, const std::vector<uint8_t>& option) {
  for (uint8_t b : option) frame.push_back(std::byte{b});
  Store16(ByteSpan(frame), 18, static_cast<uint16_t>(frame.size() - 54));
  testing::SealIcmpv6(frame);
  return frame;
}

TEST(RouterSolicitationTest, AcceptsWhatClientsSend) {
  EXPECT_TRUE(Valid(testing::RouterSolicitation()));
  EXPECT_TRUE(Valid(testing::RouterSolicitation({.source = {}})));  // from ::, no option
  testing::FrameSpec vlan{.destination_mac = testing::kAllRoutersMac, .vlan = true};
  EXPECT_TRUE(Valid(testing::RouterSolicitation({}, vlan)));
  // Unknown options are skipped (RFC 4861 §6.1.1: receivers ignore them).
  EXPECT_TRUE(Valid(WithOption(testing::RouterSolicitation(),
                               {200, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));
}

struct BadSolicitation {
  std::string name;
  Frame frame;
};

std::vector<BadSolicitation> BadSolicitations() {
  Frame rs = testing::RouterSolicitation();
  Frame off_link = testing::RouterSolicitation({.hop_limit = 64});
  Frame code_1 = rs;
  Store8(ByteSpan(code_1), 55, 1);
  testing::SealIcmpv6(code_1);
  // An RS of 4 bytes: the ICMPv6 header alone.
  Frame short_rs =
      testing::Ipv6({}, Frame{std::byte{133}, std::byte{0}, std::byte{0}, std::byte{0}});
  Frame unspecified_with_address = testing::RouterSolicitation({.source = {}});
  unspecified_with_address =
      WithOption(unspecified_with_address, {1, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02});
  return {
      {"hop_limit_64", off_link},
      {"code_1", code_1},
      {"shorter_than_8", short_rs},
      {"option_length_0", WithOption(rs, {1, 0, 0, 0, 0, 0, 0, 0})},
      {"option_past_end", WithOption(rs, {1, 2, 0, 0, 0, 0, 0, 0})},
      {"option_one_byte", WithOption(rs, {1})},
      {"source_link_layer_from_unspecified", unspecified_with_address},
  };
}

class BadSolicitationTest : public ::testing::TestWithParam<BadSolicitation> {};

TEST_P(BadSolicitationTest, IsRefused) { EXPECT_FALSE(Valid(GetParam().frame)); }

INSTANTIATE_TEST_SUITE_P(Samples, BadSolicitationTest, ::testing::ValuesIn(BadSolicitations()),
                         [](const auto& info) { return info.param.name; });

struct Advertisement {
  MacAddress destination_mac;
  Ipv6Address source;
  Ipv6Address destination;
  uint8_t hop_limit = 0;
  MacAddress link_layer;  // of the source link-layer address option
  // The fixed part after the checksum: hop limit, flags, lifetime, times.
  std::vector<uint8_t> fixed;
};

// The advertisement read back through the frame parser (which checks the
// ICMPv6 checksum) and by hand.
Advertisement Read(const Frame& frame) {
  ParseResult parsed = ParsePacket(frame);
  EXPECT_TRUE(parsed.ok) << DropReasonName(parsed.drop);
  const ParsedPacket& p = parsed.packet;
  EXPECT_EQ(p.l4, L4Kind::kIcmpv6);
  EXPECT_EQ(p.icmp.type, kIcmpv6RouterAdvertisement);
  EXPECT_EQ(p.icmp.code, 0);
  EXPECT_EQ(p.l4_length, kRouterAdvertisementSize + kNdpOptionUnit);
  EXPECT_EQ(p.source_mac, testing::kOurMac);
  Advertisement a;
  a.destination_mac = p.destination_mac;
  a.source = p.ipv6.source;
  a.destination = p.ipv6.destination;
  a.hop_limit = p.ipv6.hop_limit;
  ConstByteSpan ra = ConstByteSpan(frame).subspan(p.l4_offset, p.l4_length);
  for (size_t i = 4; i < kRouterAdvertisementSize; ++i) a.fixed.push_back(Load8(ra, i));
  EXPECT_EQ(Load8(ra, kRouterAdvertisementSize), kNdpOptionSourceLinkLayer);
  EXPECT_EQ(Load8(ra, kRouterAdvertisementSize + 1), 1);
  a.link_layer = MacAddress::Load(ra, kRouterAdvertisementSize + 2);
  return a;
}

// Parse(Build(x)) == x over destinations, VLAN or not, and the buffer's old
// bytes: nothing of the solicitation under it leaks into the advertisement.
TEST(RouterAdvertisementTest, ReadsBackAsBuilt) {
  const Ipv6Address destinations[] = {
      testing::kPeerLinkLocal,
      Ipv6Address::AllNodes(),
      {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}};
  for (bool vlan : {false, true}) {
    for (const Ipv6Address& destination : destinations) {
      for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xa5}}) {
        testing::FrameSpec spec{.vlan = vlan};
        Frame frame = testing::EthernetHeader(spec, kEtherTypeIpv6);
        size_t l3_offset = frame.size();
        frame.resize(l3_offset + kRouterAdvertisementPacketSize + 20, std::byte{fill});
        size_t length = BuildRouterAdvertisement(frame, l3_offset, testing::kOurMac,
                                                 testing::kPeerMac, destination);
        ASSERT_EQ(length, l3_offset + kRouterAdvertisementPacketSize);
        frame.resize(length);
        SCOPED_TRACE(destination.ToString() + (vlan ? " vlan" : ""));
        Advertisement a = Read(frame);
        EXPECT_EQ(a.destination_mac, testing::kPeerMac);
        EXPECT_EQ(a.source, Ipv6Address::LinkLocal(testing::kOurMac));
        EXPECT_EQ(a.destination, destination);
        EXPECT_EQ(a.hop_limit, kNdpHopLimit);
        EXPECT_EQ(a.link_layer, testing::kOurMac);
        // No hop limit advice, M = O = 0, router lifetime 0: not a default
        // router; reachable time and retransmission timer unspecified.
        EXPECT_EQ(a.fixed, std::vector<uint8_t>(12, 0));
        if (vlan) {
          EXPECT_EQ(Load16(ConstByteSpan(frame), 14), 0x0064);
        }
      }
    }
  }
}

}  // namespace
}  // namespace stampede::net
