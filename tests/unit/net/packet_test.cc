#include "dataplane/net/packet.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/net/frames.h"

namespace stampede::net {
namespace {

using testing::Frame;

struct ValidSample {
  std::string name;
  Frame frame;
  L3Kind l3;
  L4Kind l4;
  size_t l3_offset;
};

std::vector<ValidSample> ValidSamples() {
  testing::FrameSpec vlan;
  vlan.vlan = true;
  testing::Ipv4Spec with_options;
  with_options.options_length = 12;
  testing::Ipv4Spec broadcast;
  broadcast.destination = {0xffffffff};
  return {
      {"arp_request", testing::Arp(kArpOpRequest), L3Kind::kArp, L4Kind::kNone, 14},
      {"arp_reply", testing::Arp(kArpOpReply), L3Kind::kArp, L4Kind::kNone, 14},
      {"arp_vlan", testing::Arp(kArpOpRequest, testing::kOurIp, vlan), L3Kind::kArp, L4Kind::kNone,
       18},
      {"icmp_echo", testing::IcmpEcho(), L3Kind::kIpv4, L4Kind::kIcmp, 14},
      {"icmp_echo_vlan", testing::IcmpEcho(testing::kOurIp, vlan), L3Kind::kIpv4, L4Kind::kIcmp,
       18},
      {"udp", testing::Udp(), L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"udp_empty_payload", testing::Udp(0), L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"udp_odd_payload", testing::Udp(33), L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"udp_no_checksum", testing::Udp(32, false), L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"udp_vlan", testing::Udp(32, true, vlan), L3Kind::kIpv4, L4Kind::kUdp, 18},
      {"udp_ip_options", testing::Ipv4(with_options, testing::UdpDatagram(40000, 69, 16)),
       L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"udp_broadcast",
       testing::Ipv4(broadcast,
                     testing::UdpDatagram(68, 67, 300, true, testing::kPeerIp, {0xffffffff})),
       L3Kind::kIpv4, L4Kind::kUdp, 14},
      {"tcp", testing::Tcp(), L3Kind::kIpv4, L4Kind::kOther, 14},
      {"ipv6_no_next_header", testing::Ipv6(), L3Kind::kIpv6, L4Kind::kOther, 14},
      {"router_solicitation", testing::RouterSolicitation({}, {}), L3Kind::kIpv6, L4Kind::kIcmpv6,
       14},
      {"router_solicitation_vlan", testing::RouterSolicitation({}, vlan), L3Kind::kIpv6,
       L4Kind::kIcmpv6, 18},
      {"lldp_is_other", testing::EthernetHeader({}, 0x88cc), L3Kind::kOther, L4Kind::kNone, 14},
  };
}

class ValidSampleTest : public ::testing::TestWithParam<ValidSample> {};

TEST_P(ValidSampleTest, ParsesWithHeadersLocated) {
  const ValidSample& sample = GetParam();
  ParseResult result = ParsePacket(sample.frame);
  ASSERT_TRUE(result.ok) << DropReasonName(result.drop);
  EXPECT_EQ(result.packet.l3, sample.l3);
  EXPECT_EQ(result.packet.l4, sample.l4);
  EXPECT_EQ(result.packet.l3_offset, sample.l3_offset);
  EXPECT_EQ(result.packet.destination_mac,
            sample.frame[0] == std::byte{0xff} ? MacAddress::Broadcast() : testing::kOurMac);
  EXPECT_EQ(result.packet.source_mac, testing::kPeerMac);
  EXPECT_EQ(result.packet.has_vlan, sample.l3_offset == 18);
  if (result.packet.has_vlan) {
    EXPECT_EQ(result.packet.vlan_tci, 0x0064);
  }
  if (sample.l3 == L3Kind::kIpv4) {
    EXPECT_EQ(result.packet.ipv4.source, testing::kPeerIp);
    EXPECT_EQ(result.packet.l4_offset, sample.l3_offset + result.packet.ipv4.header_length);
    EXPECT_EQ(result.packet.l4_offset + result.packet.l4_length, sample.frame.size());
  }
  if (sample.l3 == L3Kind::kIpv6) {
    EXPECT_EQ(result.packet.ipv6.source, testing::kPeerLinkLocal);
    EXPECT_EQ(result.packet.ipv6.destination, testing::kAllRouters);
    EXPECT_EQ(result.packet.ipv6.hop_limit, 255);
    EXPECT_EQ(result.packet.l4_offset, sample.l3_offset + kIpv6HeaderSize);
    EXPECT_EQ(result.packet.l4_offset + result.packet.l4_length, sample.frame.size());
  }
  if (sample.l4 == L4Kind::kIcmpv6) {
    EXPECT_EQ(result.packet.icmp.type, 133);
  }
  if (sample.l4 == L4Kind::kUdp) {
    EXPECT_EQ(result.packet.udp.source_port, sample.name == "udp_broadcast" ? 68 : 40000);
    EXPECT_EQ(result.packet.udp.payload_offset, result.packet.l4_offset + kUdpHeaderSize);
    EXPECT_EQ(result.packet.udp.payload_offset + result.packet.udp.payload_length,
              sample.frame.size());
  }
  if (sample.l3 == L3Kind::kArp) {
    EXPECT_EQ(result.packet.arp.sender_ip, testing::kPeerIp);
    EXPECT_EQ(result.packet.arp.target_ip, testing::kOurIp);
    EXPECT_EQ(result.packet.arp.sender_mac, testing::kPeerMac);
  }
}

// Ethernet pads short frames to 60 bytes: bytes past the IPv4 total length are
// not part of the packet and must not upset it.
TEST_P(ValidSampleTest, TrailingPaddingIsIgnored) {
  Frame padded = GetParam().frame;
  padded.resize(padded.size() + 18, std::byte{0});
  ParseResult result = ParsePacket(padded);
  ASSERT_TRUE(result.ok) << DropReasonName(result.drop);
  EXPECT_EQ(result.packet.l4, GetParam().l4);
}

// Every prefix of a valid frame either parses (when the cut falls in a part
// nobody reads) or is dropped with the reason of the layer that was cut.
TEST_P(ValidSampleTest, EveryPrefixIsDroppedWithTheRightReason) {
  const ValidSample& sample = GetParam();
  ParseResult full = ParsePacket(sample.frame);
  ASSERT_TRUE(full.ok);
  for (size_t length = 0; length < sample.frame.size(); ++length) {
    std::vector<std::byte> prefix(sample.frame.begin(), sample.frame.begin() + length);
    ParseResult result = ParsePacket(prefix);
    SCOPED_TRACE("prefix length " + std::to_string(length));
    if (length < kEthernetHeaderSize) {
      ASSERT_FALSE(result.ok);
      EXPECT_EQ(result.drop, DropReason::kEthernetTruncated);
    } else if (full.packet.has_vlan && length < kEthernetHeaderSize + kVlanTagSize) {
      ASSERT_FALSE(result.ok);
      EXPECT_EQ(result.drop, DropReason::kVlanTruncated);
    } else if (sample.l3 == L3Kind::kArp) {
      ASSERT_FALSE(result.ok);
      EXPECT_EQ(result.drop, DropReason::kArpTruncated);
    } else if (sample.l3 == L3Kind::kIpv4) {
      ASSERT_FALSE(result.ok);
      size_t header_end = sample.l3_offset + full.packet.ipv4.header_length;
      EXPECT_EQ(result.drop,
                length < header_end ? DropReason::kIpv4Truncated : DropReason::kIpv4BadTotalLength);
    } else if (sample.l3 == L3Kind::kIpv6) {
      ASSERT_FALSE(result.ok);
      EXPECT_EQ(result.drop, length < sample.l3_offset + kIpv6HeaderSize
                                 ? DropReason::kIpv6Truncated
                                 : DropReason::kIpv6BadPayloadLength);
    } else {
      EXPECT_TRUE(result.ok);  // other ether types are not looked into
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Samples, ValidSampleTest, ::testing::ValuesIn(ValidSamples()),
                         [](const auto& info) { return info.param.name; });

struct Malformed {
  std::string name;
  Frame frame;
  DropReason drop;
};

Frame Mutate(Frame frame, size_t offset, uint8_t value) {
  frame.at(offset) = std::byte{value};
  return frame;
}

// Rewrites the IPv4 header checksum after a mutation, so the intended check fires.
Frame Reseal(Frame frame, size_t l3_offset = 14) {
  ByteSpan f(frame);
  size_t header_length = (Load8(f, l3_offset) & 0x0f) * 4;
  ByteSpan header = f.subspan(l3_offset, std::min(header_length, frame.size() - l3_offset));
  Store16(f, l3_offset + 10, 0);
  Store16(f, l3_offset + 10, ChecksumFinish(ChecksumPartial(header)));
  return frame;
}

std::vector<Malformed> MalformedSamples() {
  Frame udp = testing::Udp();
  Frame icmp = testing::IcmpEcho();
  Frame arp = testing::Arp(kArpOpRequest);
  testing::Ipv4Spec more_fragments;
  more_fragments.fragment = kIpv4MoreFragments;
  testing::Ipv4Spec later_fragment;
  later_fragment.fragment = 100;
  testing::FrameSpec vlan;
  vlan.vlan = true;
  Frame stacked = testing::Udp(8, true, vlan);
  Store16(ByteSpan(stacked), 16, kEtherTypeVlan);
  Frame udp_short_length = udp;
  Store16(ByteSpan(udp_short_length), 34 + 4, 7);
  Frame udp_long_length = udp;
  Store16(ByteSpan(udp_long_length), 34 + 4, static_cast<uint16_t>(udp.size() - 34 + 1));
  Frame icmp_short = testing::Ipv4({.protocol = kIpProtoIcmp}, Frame(4, std::byte{0}));
  Frame udp_short = testing::Ipv4({}, Frame(7, std::byte{0}));
  Frame total_below_header = udp;
  Store16(ByteSpan(total_below_header), 16, 19);
  Frame rs = testing::RouterSolicitation();
  Frame rs_payload_past_frame = rs;
  Store16(ByteSpan(rs_payload_past_frame), 18, static_cast<uint16_t>(rs.size() - 54 + 1));
  Frame icmpv6_short = testing::Ipv6({}, Frame(3, std::byte{0}));
  return {
      {"ipv6_version_4", Mutate(rs, 14, 0x40), DropReason::kIpv6BadVersion},
      {"ipv6_header_cut", Frame(rs.begin(), rs.begin() + 53), DropReason::kIpv6Truncated},
      {"ipv6_payload_past_frame", rs_payload_past_frame, DropReason::kIpv6BadPayloadLength},
      {"icmpv6_header_cut", icmpv6_short, DropReason::kIcmpv6Truncated},
      {"icmpv6_bad_checksum", Mutate(rs, rs.size() - 1, 0x77), DropReason::kIcmpv6BadChecksum},
      {"icmpv6_checksum_over_other_source", Mutate(rs, 22 + 15, 0x99),
       DropReason::kIcmpv6BadChecksum},
      {"vlan_stacked", stacked, DropReason::kVlanStacked},
      {"arp_bad_hardware_type", Mutate(arp, 15, 6), DropReason::kArpMalformed},
      {"arp_bad_protocol_type", Mutate(arp, 16, 0x86), DropReason::kArpMalformed},
      {"arp_bad_hardware_length", Mutate(arp, 18, 8), DropReason::kArpMalformed},
      {"arp_bad_protocol_length", Mutate(arp, 19, 16), DropReason::kArpMalformed},
      {"arp_bad_operation", Mutate(arp, 21, 3), DropReason::kArpMalformed},
      {"ipv4_version_6", Reseal(Mutate(udp, 14, 0x65)), DropReason::kIpv4BadVersion},
      {"ipv4_ihl_4", Reseal(Mutate(udp, 14, 0x44)), DropReason::kIpv4BadHeaderLength},
      {"ipv4_ihl_past_frame", Mutate(testing::Ipv4({}, {}), 14, 0x4f), DropReason::kIpv4Truncated},
      {"ipv4_total_below_header", Reseal(total_below_header), DropReason::kIpv4BadTotalLength},
      {"ipv4_bad_checksum", Mutate(udp, 24, 0x00), DropReason::kIpv4BadChecksum},
      {"ipv4_more_fragments", testing::Ipv4(more_fragments, testing::UdpDatagram(1, 2, 8)),
       DropReason::kIpv4Fragment},
      {"ipv4_fragment_offset", testing::Ipv4(later_fragment, testing::UdpDatagram(1, 2, 8)),
       DropReason::kIpv4Fragment},
      {"udp_header_cut", udp_short, DropReason::kUdpTruncated},
      {"udp_length_below_header", udp_short_length, DropReason::kUdpBadLength},
      {"udp_length_past_ip", udp_long_length, DropReason::kUdpBadLength},
      {"udp_bad_checksum", Mutate(udp, udp.size() - 1, 0x55), DropReason::kUdpBadChecksum},
      {"icmp_header_cut", icmp_short, DropReason::kIcmpTruncated},
      {"icmp_bad_checksum", Mutate(icmp, icmp.size() - 1, 0x77), DropReason::kIcmpBadChecksum},
  };
}

class MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTest, IsDroppedWithReason) {
  ParseResult result = ParsePacket(GetParam().frame);
  ASSERT_FALSE(result.ok);
  EXPECT_EQ(DropReasonName(result.drop), DropReasonName(GetParam().drop));
}

INSTANTIATE_TEST_SUITE_P(Samples, MalformedTest, ::testing::ValuesIn(MalformedSamples()),
                         [](const auto& info) { return info.param.name; });

TEST(UdpChecksumTest, RoundTripsAndNeverSendsZero) {
  Frame datagram = testing::UdpDatagram(1000, 2000, 51);
  ConstByteSpan d(datagram);
  uint32_t sum = ChecksumPartial(
      d, UdpPseudoHeaderSum(testing::kPeerIp, testing::kOurIp, uint16_t(datagram.size())));
  EXPECT_EQ(ChecksumFinish(sum), 0);
  EXPECT_NE(Load16(d, 6), 0);
}

// The pseudo-header's sum is added up without building the header: it must
// fold to what summing the built header gives.
TEST(UdpChecksumTest, PseudoHeaderSumAgreesWithTheBuiltHeader) {
  const uint32_t addresses[] = {0, 1, 0xc6120001, 0x0a000002, 0xffff0000, 0x0000ffff, 0xffffffff};
  const uint16_t lengths[] = {8, 300, 0xfff7, 0xffff};
  for (uint32_t source : addresses) {
    for (uint32_t destination : addresses) {
      for (uint16_t length : lengths) {
        std::byte header[12] = {};
        Ipv4Address{source}.Store(header, 0);
        Ipv4Address{destination}.Store(header, 4);
        Store8(header, 9, kIpProtoUdp);
        Store16(header, 10, length);
        EXPECT_EQ(ChecksumFinish(UdpPseudoHeaderSum({source}, {destination}, length)),
                  ChecksumFinish(ChecksumPartial(header)))
            << source << " " << destination << " " << length;
      }
    }
  }
}

// RFC 8200 §8.1: the pseudo-header's sum, added up without building it, folds
// to what summing the built 40 bytes gives.
TEST(Ipv6PseudoHeaderTest, SumAgreesWithTheBuiltHeader) {
  const Ipv6Address addresses[] = {{},
                                   testing::kPeerLinkLocal,
                                   testing::kAllRouters,
                                   Ipv6Address::AllNodes(),
                                   {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}};
  const uint32_t lengths[] = {0, 8, 24, 0xffff, 0x10000, 0xffffffff};
  for (const Ipv6Address& source : addresses) {
    for (const Ipv6Address& destination : addresses) {
      for (uint32_t length : lengths) {
        std::byte header[40] = {};
        source.Store(header, 0);
        destination.Store(header, 16);
        Store32(header, 32, length);
        Store8(header, 39, kIpProtoIcmpv6);
        EXPECT_EQ(ChecksumFinish(Ipv6PseudoHeaderSum(source, destination, length, kIpProtoIcmpv6)),
                  ChecksumFinish(ChecksumPartial(header)))
            << source.ToString() << " " << destination.ToString() << " " << length;
      }
    }
  }
}

TEST(DropReasonTest, NamesAreUniqueAndCounted) {
  std::set<std::string_view> names(kDropReasonNames.begin(), kDropReasonNames.end());
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(DropReasonName(DropReason::kIpv4Fragment), "ipv4_fragment");
}

}  // namespace
}  // namespace stampede::net
