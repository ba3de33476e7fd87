#include "dataplane/net/responder.h"

#include "dataplane/net/ndp.h"
#include "gtest/gtest.h"
#include "tests/unit/net/frames.h"

namespace stampede::net {
namespace {

using testing::Frame;

class ResponderTest : public ::testing::Test {
 protected:
  ResponderTest() : local_(testing::kOurMac), neighbours_(1000), responder_(local_, neighbours_) {
    local_.AddIpv4({testing::kOurIp, 24});
  }
  Decision Handle(Frame& frame) { return responder_.Handle(frame, /*now=*/10); }

  LocalAddresses local_;
  NeighbourTable neighbours_;
  Responder responder_;
};

TEST_F(ResponderTest, AnswersArpForOurAddressInPlace) {
  Frame frame = testing::Arp(kArpOpRequest);
  Decision decision = Handle(frame);
  ASSERT_EQ(decision.verdict, Verdict::kTransmit);
  EXPECT_EQ(decision.answer, Answer::kArpReply);
  ParseResult reply = ParsePacket(frame);
  ASSERT_TRUE(reply.ok);
  EXPECT_EQ(reply.packet.destination_mac, testing::kPeerMac);
  EXPECT_EQ(reply.packet.source_mac, testing::kOurMac);
  EXPECT_EQ(reply.packet.arp.operation, kArpOpReply);
  EXPECT_EQ(reply.packet.arp.sender_mac, testing::kOurMac);
  EXPECT_EQ(reply.packet.arp.sender_ip, testing::kOurIp);
  EXPECT_EQ(reply.packet.arp.target_mac, testing::kPeerMac);
  EXPECT_EQ(reply.packet.arp.target_ip, testing::kPeerIp);
  EXPECT_EQ(neighbours_.Lookup(testing::kPeerIp, 10), testing::kPeerMac);
}

TEST_F(ResponderTest, KeepsTheVlanTagOnArpReplies) {
  testing::FrameSpec vlan;
  vlan.vlan = true;
  Frame frame = testing::Arp(kArpOpRequest, testing::kOurIp, vlan);
  ASSERT_EQ(Handle(frame).verdict, Verdict::kTransmit);
  ParseResult reply = ParsePacket(frame);
  ASSERT_TRUE(reply.ok);
  EXPECT_TRUE(reply.packet.has_vlan);
  EXPECT_EQ(reply.packet.vlan_tci, 0x0064);
}

TEST_F(ResponderTest, IgnoresArpForOtherAddressesButLearns) {
  Frame frame = testing::Arp(kArpOpRequest, Ipv4Address{0xc6120063});
  Decision decision = Handle(frame);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kArpNotForUs);
  EXPECT_EQ(neighbours_.Lookup(testing::kPeerIp, 10), testing::kPeerMac);
}

TEST_F(ResponderTest, GivesArpRepliesToTheKernel) {
  Frame frame = testing::Arp(kArpOpReply, testing::kOurIp, {}, testing::kOurMac);
  EXPECT_EQ(Handle(frame).verdict, Verdict::kException);
}

TEST_F(ResponderTest, AnswersIcmpEchoWithValidChecksums) {
  Frame frame = testing::IcmpEcho();
  Frame request = frame;
  Decision decision = Handle(frame);
  ASSERT_EQ(decision.verdict, Verdict::kTransmit);
  EXPECT_EQ(decision.answer, Answer::kIcmpEchoReply);
  ParseResult reply = ParsePacket(frame);  // checks both checksums
  ASSERT_TRUE(reply.ok) << DropReasonName(reply.drop);
  EXPECT_EQ(reply.packet.destination_mac, testing::kPeerMac);
  EXPECT_EQ(reply.packet.source_mac, testing::kOurMac);
  EXPECT_EQ(reply.packet.ipv4.source, testing::kOurIp);
  EXPECT_EQ(reply.packet.ipv4.destination, testing::kPeerIp);
  EXPECT_EQ(reply.packet.ipv4.ttl, kDefaultTtl);
  EXPECT_EQ(reply.packet.icmp.type, kIcmpEchoReply);
  // Identifier, sequence and payload come back unchanged.
  EXPECT_TRUE(std::equal(frame.begin() + 38, frame.end(), request.begin() + 38));
}

TEST_F(ResponderTest, DoesNotAnswerBroadcastEcho) {
  Frame frame = testing::IcmpEcho(Ipv4Address{0xc61200ff});
  Decision decision = Handle(frame);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kIcmpUnhandled);
}

TEST_F(ResponderTest, SendsUdpTcpAndIpv6ToTheKernel) {
  responder_.SetBootServices(true);
  for (Frame frame : {testing::Udp(), testing::Tcp(), testing::Ipv6()}) {
    EXPECT_EQ(Handle(frame).verdict, Verdict::kException);
  }
}

// A router solicitation with room after it, as an mbuf has.
struct Solicitation {
  explicit Solicitation(Frame f) : frame(std::move(f)), length(frame.size()) {
    frame.resize(length + 64, std::byte{0xa5});
  }
  Frame frame;
  size_t length;
};

TEST_F(ResponderTest, LeavesRouterSolicitationsToTheKernelUnlessAsked) {
  Solicitation rs(testing::RouterSolicitation());
  EXPECT_EQ(responder_.Handle(rs.frame, rs.length, 10).verdict, Verdict::kException);
}

TEST_F(ResponderTest, AnswersRouterSolicitationsWithANoRouterAdvertisement) {
  responder_.SetRouterAdvertisements(true);
  for (bool vlan : {false, true}) {
    testing::FrameSpec spec{.destination_mac = testing::kAllRoutersMac, .vlan = vlan};
    Solicitation rs(testing::RouterSolicitation({}, spec));
    Decision decision = responder_.Handle(rs.frame, rs.length, 10);
    ASSERT_EQ(decision.verdict, Verdict::kTransmit);
    EXPECT_EQ(decision.answer, Answer::kRouterAdvertisement);
    // Longer than the solicitation: the room after it was used.
    size_t l3_offset = vlan ? 18 : 14;
    ASSERT_EQ(decision.length, l3_offset + kRouterAdvertisementPacketSize);
    EXPECT_GT(decision.length, rs.length);
    ParseResult reply = ParsePacket(ConstByteSpan(rs.frame).first(decision.length));
    ASSERT_TRUE(reply.ok) << DropReasonName(reply.drop);
    // To the soliciting host alone, from our link-local address.
    EXPECT_EQ(reply.packet.destination_mac, testing::kPeerMac);
    EXPECT_EQ(reply.packet.source_mac, testing::kOurMac);
    EXPECT_EQ(reply.packet.ipv6.destination, testing::kPeerLinkLocal);
    EXPECT_EQ(reply.packet.ipv6.source, Ipv6Address::LinkLocal(testing::kOurMac));
    EXPECT_EQ(reply.packet.icmp.type, kIcmpv6RouterAdvertisement);
    EXPECT_EQ(reply.packet.has_vlan, vlan);
  }
}

TEST_F(ResponderTest, AnswersSolicitationsToUsAndLeavesOthersToTheKernel) {
  responder_.SetRouterAdvertisements(true);
  Solicitation to_us(
      testing::RouterSolicitation({.destination = Ipv6Address::LinkLocal(testing::kOurMac)}, {}));
  EXPECT_EQ(responder_.Handle(to_us.frame, to_us.length, 10).verdict, Verdict::kTransmit);
  Solicitation to_all_nodes(testing::RouterSolicitation({.destination = Ipv6Address::AllNodes()}));
  EXPECT_EQ(responder_.Handle(to_all_nodes.frame, to_all_nodes.length, 10).verdict,
            Verdict::kException);
  Solicitation to_another(
      testing::RouterSolicitation({.destination = Ipv6Address::LinkLocal(testing::kPeerMac)}));
  EXPECT_EQ(responder_.Handle(to_another.frame, to_another.length, 10).verdict,
            Verdict::kException);
}

TEST_F(ResponderTest, AnswersASolicitationFromNoAddressToAllNodes) {
  responder_.SetRouterAdvertisements(true);
  Solicitation rs(testing::RouterSolicitation({.source = {}}));
  Decision decision = responder_.Handle(rs.frame, rs.length, 10);
  ASSERT_EQ(decision.verdict, Verdict::kTransmit);
  ParseResult reply = ParsePacket(ConstByteSpan(rs.frame).first(decision.length));
  ASSERT_TRUE(reply.ok);
  EXPECT_EQ(reply.packet.ipv6.destination, Ipv6Address::AllNodes());
  EXPECT_EQ(reply.packet.destination_mac, Ipv6Address::AllNodes().MulticastMac());
}

TEST_F(ResponderTest, DropsMalformedSolicitationsAndPassesOtherIcmpv6) {
  responder_.SetRouterAdvertisements(true);
  Solicitation off_link(testing::RouterSolicitation({.hop_limit = 1}));
  Decision decision = responder_.Handle(off_link.frame, off_link.length, 10);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kNdpMalformed);
  testing::FrameSpec from_group{.destination_mac = testing::kAllRoutersMac,
                                .source_mac = {{0x03, 0, 0, 0, 0, 1}}};
  Solicitation spoofed(testing::RouterSolicitation({}, from_group));
  EXPECT_EQ(responder_.Handle(spoofed.frame, spoofed.length, 10).drop, DropReason::kNdpMalformed);
  // A neighbour solicitation (135) is the kernel's to answer.
  Frame ns = testing::RouterSolicitation();
  Store8(ByteSpan(ns), 54, 135);
  testing::SealIcmpv6(ns);
  EXPECT_EQ(Handle(ns).verdict, Verdict::kException);
}

TEST_F(ResponderTest, DropsASolicitationWithNoRoomForTheAnswer) {
  responder_.SetRouterAdvertisements(true);
  Frame rs = testing::RouterSolicitation();
  Decision decision = Handle(rs);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kNoRoomForReply);
}

TEST_F(ResponderTest, DropsBootRequestsUntilThereIsAPolicy) {
  for (uint16_t port : {kDhcpServerPort, kPxeBootServerPort, kTftpPort}) {
    Frame request = testing::Ipv4({}, testing::UdpDatagram(68, port, 32));
    Decision decision = Handle(request);
    EXPECT_EQ(decision.verdict, Verdict::kDrop) << port;
    EXPECT_EQ(decision.drop, DropReason::kNoPolicy) << port;
  }
  // Other UDP (a DNS query to the host, say) is never the policy's business.
  Frame other = testing::Ipv4({}, testing::UdpDatagram(40000, 53, 32));
  EXPECT_EQ(Handle(other).verdict, Verdict::kException);

  // With a policy: DHCP and proxyDHCP go to the DHCP worker, TFTP requests
  // and session ports to the TFTP engine, the ports below to the kernel.
  responder_.SetBootServices(true);
  for (uint16_t port : {kDhcpServerPort, kPxeBootServerPort}) {
    Frame request = testing::Ipv4({}, testing::UdpDatagram(68, port, 32));
    EXPECT_EQ(Handle(request).verdict, Verdict::kDhcp) << port;
    EXPECT_EQ(responder_.last_packet().udp.destination_port, port);
  }
  for (uint16_t port : {kTftpPort, kTftpFirstSessionPort, kTftpLastSessionPort}) {
    Frame tftp = testing::Ipv4({}, testing::UdpDatagram(40000, port, 32));
    EXPECT_EQ(Handle(tftp).verdict, Verdict::kTftp) << port;
  }
  Frame kernel_port = testing::Ipv4({}, testing::UdpDatagram(40000, kTftpFirstSessionPort - 1, 32));
  EXPECT_EQ(Handle(kernel_port).verdict, Verdict::kException);
}

TEST_F(ResponderTest, DropsFramesForOtherMacsAndHosts) {
  testing::FrameSpec other_mac;
  other_mac.destination_mac = {{0x02, 0, 0, 0, 0, 0x99}};
  Frame frame = testing::Udp(8, true, other_mac);
  EXPECT_EQ(Handle(frame).drop, DropReason::kNotOurMac);

  testing::Ipv4Spec other_host;
  other_host.destination = {0xc6120099};
  Frame to_other = testing::Ipv4(
      other_host, testing::UdpDatagram(1, 2, 8, true, testing::kPeerIp, other_host.destination));
  Decision decision = Handle(to_other);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kIpv4NotForUs);
}

// A packet socket on the wire's interface is shown the kernel GSO socket's
// frames (our MAC to a peer's, the whole 64 KiB frame cut to its ring slot),
// and a loop sends back our own broadcasts: neither is a peer's.
TEST_F(ResponderTest, DropsOurOwnFrames) {
  testing::FrameSpec own;
  own.destination_mac = testing::kPeerMac;
  own.source_mac = testing::kOurMac;
  Frame to_peer = testing::Udp(8, true, own);
  EXPECT_EQ(Handle(to_peer).drop, DropReason::kOwnFrame);
  own.destination_mac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  Frame broadcast = testing::Udp(8, true, own);
  EXPECT_EQ(Handle(broadcast).drop, DropReason::kOwnFrame);
  Frame runt(12);
  for (size_t i = 0; i < 6; ++i) runt[6 + i] = static_cast<std::byte>(testing::kOurMac.octets[i]);
  EXPECT_EQ(Handle(runt).drop, DropReason::kOwnFrame);
}

TEST_F(ResponderTest, DropsBroadcastSources) {
  testing::Ipv4Spec spoofed;
  spoofed.source = {0xffffffff};
  Frame frame =
      testing::Ipv4(spoofed, testing::UdpDatagram(1, 2, 8, true, spoofed.source, testing::kOurIp));
  EXPECT_EQ(Handle(frame).drop, DropReason::kIpv4BadSource);
}

TEST_F(ResponderTest, PassesMalformedDropsThrough) {
  Frame frame = testing::Udp();
  frame.resize(20);
  Decision decision = Handle(frame);
  EXPECT_EQ(decision.verdict, Verdict::kDrop);
  EXPECT_EQ(decision.drop, DropReason::kIpv4Truncated);
}

TEST(GratuitousArpTest, AnnouncesTheAddress) {
  Frame frame(kMinFrameSize + 10, std::byte{0xaa});
  size_t length = BuildGratuitousArp(frame, testing::kOurMac, testing::kOurIp);
  ASSERT_EQ(length, kMinFrameSize);
  ParseResult parsed = ParsePacket(ConstByteSpan(frame).first(length));
  ASSERT_TRUE(parsed.ok);
  EXPECT_TRUE(parsed.packet.destination_mac.IsBroadcast());
  EXPECT_EQ(parsed.packet.arp.operation, kArpOpRequest);
  EXPECT_EQ(parsed.packet.arp.sender_ip, testing::kOurIp);
  EXPECT_EQ(parsed.packet.arp.target_ip, testing::kOurIp);
  EXPECT_EQ(parsed.packet.arp.sender_mac, testing::kOurMac);
}

}  // namespace
}  // namespace stampede::net
