#include "dataplane/net/icmp_error.h"

#include <algorithm>

#include "dataplane/net/packet.h"
#include "gtest/gtest.h"
#include "tests/unit/net/frames.h"

namespace stampede::net {
namespace {

using testing::Frame;

// A big UDP datagram from the kernel (our address) to a peer, DF set.
Frame KernelDatagram(testing::FrameSpec ethernet = {}) {
  testing::Ipv4Spec ip;
  ip.source = testing::kOurIp;
  ip.destination = testing::kPeerIp;
  ip.fragment = kIpv4DontFragment;
  ip.options_length = 4;
  ethernet.destination_mac = testing::kPeerMac;
  ethernet.source_mac = testing::kOurMac;
  return testing::Ipv4(
      ip, testing::UdpDatagram(5353, 9, 3000, true, testing::kOurIp, testing::kPeerIp), ethernet);
}

TEST(FragmentationNeededTest, TellsTheSenderTheWiresMtu) {
  for (bool vlan : {false, true}) {
    testing::FrameSpec ethernet;
    ethernet.vlan = vlan;
    Frame datagram = KernelDatagram(ethernet);
    FrameHeaders h = ParseFrameHeaders(datagram, datagram.size());
    ASSERT_EQ(h.kind, FrameKind::kIpv4);
    Frame answer(kFragmentationNeededMaxSize);
    answer.resize(BuildFragmentationNeeded(datagram, h, 1500, answer));
    SCOPED_TRACE(vlan ? "vlan" : "untagged");
    ASSERT_EQ(answer.size(), h.l3_offset + 20 + 8 + 24 + kIcmpQuotedDataSize);

    // The dataplane's own parser takes it (lengths, IPv4 and ICMP checksums).
    ParseResult parsed = ParsePacket(answer);
    ASSERT_TRUE(parsed.ok) << DropReasonName(parsed.drop);
    const ParsedPacket& p = parsed.packet;
    EXPECT_EQ(p.destination_mac, testing::kOurMac);
    EXPECT_EQ(p.source_mac, testing::kPeerMac);
    EXPECT_EQ(p.has_vlan, vlan);
    EXPECT_EQ(p.ipv4.source, testing::kPeerIp);
    EXPECT_EQ(p.ipv4.destination, testing::kOurIp);
    ASSERT_EQ(p.l4, L4Kind::kIcmp);
    EXPECT_EQ(p.icmp.type, kIcmpDestinationUnreachable);
    EXPECT_EQ(p.icmp.code, kIcmpFragmentationNeeded);
    EXPECT_EQ(Load16(answer, p.l4_offset + 6), 1500);
    // It quotes the datagram's header (options too) and 8 bytes of its data.
    EXPECT_TRUE(
        std::equal(answer.begin() + p.l4_offset + 8, answer.end(), datagram.begin() + h.l3_offset));
  }
}

TEST(FragmentationNeededTest, QuotesOnlyWhatThereIs) {
  Frame datagram = KernelDatagram();
  FrameHeaders h = ParseFrameHeaders(datagram, datagram.size());
  Frame answer(kFragmentationNeededMaxSize);
  // Only 3 bytes past the IPv4 header were handed over.
  size_t length =
      BuildFragmentationNeeded(ConstByteSpan(datagram).first(h.l4_offset() + 3), h, 1500, answer);
  EXPECT_EQ(length, h.l3_offset + 20 + 8 + 24 + 3);
  answer.resize(length);
  EXPECT_TRUE(ParsePacket(answer).ok);
}

TEST(FragmentationNeededTest, RefusesWhatItCannotAnswer) {
  Frame answer(kFragmentationNeededMaxSize);
  Frame ipv6 = testing::Ipv6();
  EXPECT_EQ(BuildFragmentationNeeded(ipv6, ParseFrameHeaders(ipv6, ipv6.size()), 1500, answer), 0u);
  Frame datagram = KernelDatagram();
  FrameHeaders h = ParseFrameHeaders(datagram, datagram.size());
  Frame small(40);
  EXPECT_EQ(BuildFragmentationNeeded(datagram, h, 1500, small), 0u);
}

}  // namespace
}  // namespace stampede::net
