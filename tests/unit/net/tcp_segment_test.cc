#include "dataplane/net/tcp_segment.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/net/frames.h"

namespace stampede::net {
namespace {

using testing::Frame;

// RFC 1071 the slow way, 16 bits at a time: independent of the code under test.
uint32_t ReferenceSum(const std::vector<uint8_t>& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    sum += (uint32_t{data[i]} << 8) | (i + 1 < data.size() ? data[i + 1] : 0u);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

std::vector<uint8_t> Bytes(const Frame& frame, size_t offset, size_t length) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < length; ++i) out.push_back(static_cast<uint8_t>(frame[offset + i]));
  return out;
}

bool Ipv4HeaderValid(const Frame& frame, size_t l3) {
  size_t length = (static_cast<uint8_t>(frame[l3]) & 0xf) * 4u;
  return ReferenceSum(Bytes(frame, l3, length)) == 0xffff;
}

// The TCP checksum over the RFC 9293 pseudo-header, verified from scratch.
bool TcpChecksumValid(const Frame& frame, size_t l3) {
  size_t ip_length = (static_cast<uint8_t>(frame[l3]) & 0xf) * 4u;
  size_t total = Load16(frame, l3 + 2);
  std::vector<uint8_t> data = Bytes(frame, l3 + 12, 8);
  size_t tcp_length = total - ip_length;
  data.insert(data.end(), {0, kIpProtoTcp, static_cast<uint8_t>(tcp_length >> 8),
                           static_cast<uint8_t>(tcp_length)});
  std::vector<uint8_t> tcp = Bytes(frame, l3 + ip_length, tcp_length);
  data.insert(data.end(), tcp.begin(), tcp.end());
  return ReferenceSum(data) == 0xffff;
}

struct TcpSpec {
  uint32_t sequence = 1000;
  uint8_t flags = kTcpAck;
  std::vector<uint8_t> options;  // padded with EOL to whole words
  size_t payload_length = 0;
  uint16_t ip_fragment = kIpv4DontFragment;
  testing::FrameSpec ethernet;
};

// A valid Ethernet/IPv4/TCP frame, checksums right, payload i * 31 + 7.
Frame TcpFrame(const TcpSpec& spec) {
  std::vector<uint8_t> options = spec.options;
  while (options.size() % 4 != 0) options.push_back(kTcpOptionEnd);
  Frame tcp(kTcpMinHeaderSize + options.size() + spec.payload_length);
  ByteSpan t(tcp);
  Store16(t, 0, 80);
  Store16(t, 2, 40000);
  Store32(t, 4, spec.sequence);
  Store32(t, 8, 0x55667788);
  Store8(t, 12, static_cast<uint8_t>((kTcpMinHeaderSize + options.size()) / 4 << 4));
  Store8(t, 13, spec.flags);
  Store16(t, 14, 501);
  for (size_t i = 0; i < options.size(); ++i) Store8(t, kTcpMinHeaderSize + i, options[i]);
  for (size_t i = 0; i < spec.payload_length; ++i) {
    Store8(t, kTcpMinHeaderSize + options.size() + i, static_cast<uint8_t>(i * 31 + 7));
  }
  testing::Ipv4Spec ip;
  ip.protocol = kIpProtoTcp;
  ip.source = testing::kOurIp;
  ip.destination = testing::kPeerIp;
  ip.fragment = spec.ip_fragment;
  Frame frame = testing::Ipv4(ip, tcp, spec.ethernet);
  size_t l3 = spec.ethernet.vlan ? 18 : 14;
  // Sum with the checksum field zero, then store it.
  std::vector<uint8_t> pseudo = Bytes(frame, l3 + 12, 8);
  pseudo.insert(pseudo.end(), {0, kIpProtoTcp, static_cast<uint8_t>(tcp.size() >> 8),
                               static_cast<uint8_t>(tcp.size())});
  std::vector<uint8_t> segment = Bytes(frame, l3 + 20, tcp.size());
  pseudo.insert(pseudo.end(), segment.begin(), segment.end());
  Store16(ByteSpan(frame), l3 + 20 + 16, static_cast<uint16_t>(~ReferenceSum(pseudo)));
  return frame;
}

// Parses `frame` (kTcp) and plans cutting it to a 1500-byte MTU.
bool PlanFor1500(const Frame& frame, FrameHeaders& h, SegmentPlan& plan) {
  h = ParseFrameHeaders(frame, frame.size());
  return h.kind == FrameKind::kTcp && PlanSegments(h, 1500, plan) == SegmentVerdict::kSegment;
}

std::vector<uint8_t> MssBytes(uint16_t mss) {
  return {kTcpOptionMss, kTcpOptionMssLength, static_cast<uint8_t>(mss >> 8),
          static_cast<uint8_t>(mss)};
}

// Linux's SYN options: MSS, SACK permitted, timestamps, NOP, window scale.
std::vector<uint8_t> LinuxSynOptions(uint16_t mss) {
  std::vector<uint8_t> options = MssBytes(mss);
  options.insert(options.end(), {4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7});
  return options;
}

// --------------------------------------------------------------- parsing

TEST(ParseFrameHeadersTest, LocatesTcp) {
  TcpSpec spec;
  spec.options = LinuxSynOptions(1460);
  spec.payload_length = 100;
  Frame frame = TcpFrame(spec);
  FrameHeaders h = ParseFrameHeaders(frame, frame.size());
  ASSERT_EQ(h.kind, FrameKind::kTcp);
  EXPECT_EQ(h.l3_offset, 14u);
  EXPECT_EQ(h.ip_header_length, 20u);
  EXPECT_EQ(h.l4_offset(), 34u);
  EXPECT_EQ(h.tcp_header_length, 40u);
  EXPECT_EQ(h.payload_offset(), 74u);
  EXPECT_EQ(h.payload_length(), 100u);
  EXPECT_EQ(h.frame_length(), frame.size());
  EXPECT_EQ(h.tcp_sequence, 1000u);
  EXPECT_EQ(h.tcp_flags, kTcpAck);
  EXPECT_TRUE(h.dont_fragment());
}

TEST(ParseFrameHeadersTest, LocatesTcpBehindAVlanTagAndIgnoresPadding) {
  TcpSpec spec;
  spec.ethernet.vlan = true;
  Frame frame = TcpFrame(spec);
  frame.resize(frame.size() + 6);  // Ethernet padding
  FrameHeaders h = ParseFrameHeaders(frame, frame.size());
  ASSERT_EQ(h.kind, FrameKind::kTcp);
  EXPECT_EQ(h.l3_offset, 18u);
  EXPECT_EQ(h.frame_length(), frame.size() - 6);
  EXPECT_EQ(h.payload_length(), 0u);
}

TEST(ParseFrameHeadersTest, TellsOtherKinds) {
  Frame udp = testing::Udp();
  EXPECT_EQ(ParseFrameHeaders(udp, udp.size()).kind, FrameKind::kIpv4);
  Frame ipv6 = testing::Ipv6();
  FrameHeaders v6 = ParseFrameHeaders(ipv6, ipv6.size());
  EXPECT_EQ(v6.kind, FrameKind::kOther);
  EXPECT_EQ(v6.l3_offset, 14u);
  Frame arp = testing::Arp(kArpOpRequest);
  EXPECT_EQ(ParseFrameHeaders(arp, arp.size()).kind, FrameKind::kOther);
  // A fragment of a TCP segment is IPv4, not TCP: its header may not be there.
  TcpSpec spec;
  spec.ip_fragment = kIpv4MoreFragments;
  Frame fragment = TcpFrame(spec);
  EXPECT_EQ(ParseFrameHeaders(fragment, fragment.size()).kind, FrameKind::kIpv4);
}

struct MalformedFrame {
  std::string name;
  size_t offset;  // byte to overwrite (from the frame start)
  uint8_t value;
  size_t keep;  // bytes of headers the parser sees (0: all)
};

TEST(ParseFrameHeadersTest, RefusesMalformedHeaders) {
  const MalformedFrame cases[] = {
      {"ipv4 version 6", 14, 0x65, 0},
      {"ipv4 header length 16", 14, 0x44, 0},
      {"ipv4 header past the bytes", 14, 0x4f, 0},
      {"total length under the header", 17, 19, 0},
      {"total length past the frame", 16, 0xff, 0},
      {"total length under ip + tcp headers", 17, 30, 0},
      {"tcp data offset 4 words", 46, 0x40, 0},
      {"tcp header past the total length", 46, 0xf0, 0},
      {"ipv4 header cut off", 0, 0, 30},
      {"tcp header cut off", 0, 0, 50},
  };
  for (const MalformedFrame& c : cases) {
    TcpSpec spec;
    spec.payload_length = 8;
    Frame frame = TcpFrame(spec);
    if (c.keep == 0) frame[c.offset] = std::byte{c.value};
    ConstByteSpan headers(frame);
    if (c.keep != 0) headers = headers.first(c.keep);
    EXPECT_EQ(ParseFrameHeaders(headers, frame.size()).kind, FrameKind::kMalformed) << c.name;
  }
  Frame runt(10);
  EXPECT_EQ(ParseFrameHeaders(runt, runt.size()).kind, FrameKind::kOther);
}

// ------------------------------------------------------------ MSS option

struct OptionsCase {
  std::string name;
  std::vector<uint8_t> options;
  MssResult result;
  uint16_t value;
};

TEST(FindMssOptionTest, WalksOptionsAndRefusesMalformedOnes) {
  const OptionsCase cases[] = {
      {"none", {}, MssResult::kNoOption, 0},
      {"mss first", MssBytes(1460), MssResult::kUnchanged, 1460},
      {"linux syn", LinuxSynOptions(1400), MssResult::kUnchanged, 1400},
      {"after nops, odd offset", {1, 2, 4, 0x05, 0xb4}, MssResult::kUnchanged, 1460},
      {"after a timestamp",
       {8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 2, 4, 0x02, 0x18},
       MssResult::kUnchanged,
       536},
      {"after end of options", {0, 2, 4, 0x05, 0xb4}, MssResult::kNoOption, 0},
      {"unknown kinds skipped", {30, 3, 9, 2, 4, 0x01, 0x00}, MssResult::kUnchanged, 256},
      {"length zero", {30, 0, 2, 4, 5, 0xb4}, MssResult::kMalformed, 0},
      {"length one", {30, 1, 2, 4, 5, 0xb4}, MssResult::kMalformed, 0},
      {"option past the header", {1, 1, 1, 30, 6, 0, 0, 0}, MssResult::kMalformed, 0},
      {"kind without length at the end", {1, 1, 1, 30}, MssResult::kMalformed, 0},
      {"mss length 3", {2, 3, 5, 1}, MssResult::kMalformed, 0},
      {"mss length 6", {2, 6, 5, 0xb4, 0, 0, 1, 1}, MssResult::kMalformed, 0},
      {"mss twice", {2, 4, 5, 0xb4, 2, 4, 0x23, 0x28}, MssResult::kMalformed, 0},
  };
  for (const OptionsCase& c : cases) {
    std::vector<uint8_t> options = c.options;
    while (options.size() % 4 != 0) options.push_back(kTcpOptionNop);
    Frame header(kTcpMinHeaderSize + options.size());
    for (size_t i = 0; i < options.size(); ++i)
      header[kTcpMinHeaderSize + i] = std::byte{options[i]};
    MssOption found = FindMssOption(header);
    EXPECT_EQ(found.result, c.result) << c.name;
    if (c.result == MssResult::kUnchanged) {
      EXPECT_EQ(found.value, c.value) << c.name;
      EXPECT_EQ(Load16(header, found.value_offset), c.value) << c.name;
    }
  }
}

TEST(MssTest, RaisesAPeersMssForTheKernelKeepingTheChecksumRight) {
  for (bool odd : {false, true}) {
    TcpSpec spec;
    spec.flags = kTcpSyn;
    spec.options = MssBytes(1460);
    if (odd) spec.options.insert(spec.options.begin(), kTcpOptionNop);
    Frame frame = TcpFrame(spec);
    ASSERT_TRUE(TcpChecksumValid(frame, 14));
    FrameHeaders h = ParseFrameHeaders(frame, frame.size());
    EXPECT_EQ(RaiseMss(frame, h, 1460, 64960), MssResult::kRewritten) << odd;
    MssOption mss = FindMssOption(ConstByteSpan(frame).subspan(34, h.tcp_header_length));
    EXPECT_EQ(mss.value, 64960) << odd;
    EXPECT_TRUE(TcpChecksumValid(frame, 14)) << odd;
  }
}

TEST(MssTest, ClampsTheKernelsSynAckToTheWire) {
  TcpSpec spec;
  spec.flags = kTcpSyn | kTcpAck;
  spec.options = LinuxSynOptions(64960);
  Frame frame = TcpFrame(spec);
  FrameHeaders h = ParseFrameHeaders(frame, frame.size());
  EXPECT_EQ(ClampMss(frame, h, 1460), MssResult::kRewritten);
  EXPECT_EQ(FindMssOption(ConstByteSpan(frame).subspan(34, h.tcp_header_length)).value, 1460);
  EXPECT_TRUE(TcpChecksumValid(frame, 14));
  // Already within: left alone.
  EXPECT_EQ(ClampMss(frame, h, 1460), MssResult::kUnchanged);
}

TEST(MssTest, LeavesWhatItMustNotTouch) {
  struct Case {
    std::string name;
    uint8_t flags;
    std::vector<uint8_t> options;
    MssResult raise;
  };
  const Case cases[] = {
      {"not a syn", kTcpAck, MssBytes(1460), MssResult::kNotSyn},
      {"no mss option", kTcpSyn, {1, 1, 1, 1}, MssResult::kNoOption},
      // The peer takes less than the wire: the kernel never sends too much.
      {"small peer mss", kTcpSyn, MssBytes(1200), MssResult::kUnchanged},
      {"malformed options", kTcpSyn, {2, 4, 5, 0xb4, 30, 9}, MssResult::kMalformed},
  };
  for (const Case& c : cases) {
    TcpSpec spec;
    spec.flags = c.flags;
    spec.options = c.options;
    Frame frame = TcpFrame(spec);
    const Frame before = frame;
    FrameHeaders h = ParseFrameHeaders(frame, frame.size());
    EXPECT_EQ(RaiseMss(frame, h, 1460, 64960), c.raise) << c.name;
    EXPECT_EQ(frame, before) << c.name;
  }
  // Not TCP at all.
  Frame udp = testing::Udp();
  const Frame before = udp;
  FrameHeaders h = ParseFrameHeaders(udp, udp.size());
  EXPECT_EQ(ClampMss(udp, h, 1460), MssResult::kNotSyn);
  EXPECT_EQ(udp, before);
}

// ----------------------------------------------------------- segmentation

TEST(SegmentTest, PlansByTheMtu) {
  TcpSpec spec;
  spec.options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};  // timestamps: 32-byte header
  spec.payload_length = 10000;
  Frame frame = TcpFrame(spec);
  FrameHeaders h;
  SegmentPlan plan;
  ASSERT_TRUE(PlanFor1500(frame, h, plan));
  EXPECT_EQ(plan.max_payload, 1448u);
  EXPECT_EQ(plan.count, 7u);  // 6 * 1448 + 1312
  EXPECT_EQ(SegmentPayloadLength(h, plan, 6), 1312u);
  EXPECT_EQ(PlanSegments(h, 20 + 32 + 10000, plan), SegmentVerdict::kFits);
  EXPECT_EQ(PlanSegments(h, 52, plan), SegmentVerdict::kUnsupported);       // no room for data
  EXPECT_EQ(PlanSegments(h, 52 + 60, plan), SegmentVerdict::kUnsupported);  // 167 segments

  for (uint8_t flag : {kTcpSyn, kTcpRst, kTcpUrg}) {
    spec.flags = kTcpAck | flag;
    Frame other = TcpFrame(spec);
    FrameHeaders oh = ParseFrameHeaders(other, other.size());
    EXPECT_EQ(PlanSegments(oh, 1500, plan), SegmentVerdict::kUnsupported) << int{flag};
  }
}

TEST(SegmentTest, CutsIntoValidSegments) {
  TcpSpec spec;
  spec.sequence = 0xfffff000;  // wraps within the frame
  spec.flags = kTcpAck | kTcpPsh | kTcpFin | kTcpCwr | kTcpEce;
  spec.options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  spec.payload_length = 64000;
  spec.ethernet.vlan = true;
  Frame frame = TcpFrame(spec);
  FrameHeaders h;
  SegmentPlan plan;
  ASSERT_TRUE(PlanFor1500(frame, h, plan));
  ASSERT_EQ(plan.count, 45u);

  Frame payload;
  uint16_t first_id = Load16(frame, 18 + 4);
  for (size_t i = 0; i < plan.count; ++i) {
    Frame segment(h.payload_offset() + plan.max_payload);
    segment.resize(BuildSegment(frame, h, plan, i, segment));
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_LE(segment.size(), 18u + 1500u);
    FrameHeaders s = ParseFrameHeaders(segment, segment.size());
    ASSERT_EQ(s.kind, FrameKind::kTcp);
    EXPECT_EQ(s.frame_length(), segment.size());
    EXPECT_EQ(Load16(segment, 14), 0x0064);  // the VLAN tag kept
    EXPECT_TRUE(Ipv4HeaderValid(segment, 18));
    EXPECT_TRUE(TcpChecksumValid(segment, 18));
    EXPECT_EQ(Load16(segment, 18 + 4), static_cast<uint16_t>(first_id + i));
    EXPECT_EQ(s.tcp_sequence, static_cast<uint32_t>(0xfffff000 + i * 1448));
    bool last = i + 1 == plan.count;
    EXPECT_EQ((s.tcp_flags & (kTcpFin | kTcpPsh)) != 0, last);
    EXPECT_EQ((s.tcp_flags & kTcpCwr) != 0, i == 0);
    EXPECT_EQ(s.tcp_flags & (kTcpAck | kTcpEce), kTcpAck | kTcpEce);
    // Ports, acknowledgment, window, urgent pointer and options are the original's.
    for (auto [from, to] : {std::pair{0, 4}, {8, 13}, {14, 16}, {18, 32}}) {
      EXPECT_TRUE(std::equal(segment.begin() + 38 + from, segment.begin() + 38 + to,
                             frame.begin() + 38 + from))
          << "tcp header bytes " << from << ".." << to;
    }
    payload.insert(payload.end(), segment.begin() + s.payload_offset(), segment.end());
  }
  EXPECT_TRUE(
      std::equal(payload.begin(), payload.end(), frame.begin() + h.payload_offset(), frame.end()));
  EXPECT_EQ(payload.size(), 64000u);
}

TEST(SegmentTest, SumsAPayloadScatteredOverOddPieces) {
  std::mt19937 random(5);
  std::vector<std::byte> data(3001);
  for (std::byte& b : data) b = std::byte(random() & 0xff);
  uint32_t whole = ChecksumPartial(data);
  for (int round = 0; round < 200; ++round) {
    uint32_t sum = 0;
    size_t position = 0;
    while (position < data.size()) {
      size_t piece = std::min<size_t>(data.size() - position, 1 + random() % 97);
      sum = ChecksumPartialAt(ConstByteSpan(data).subspan(position, piece), position, sum);
      position += piece;
    }
    EXPECT_EQ(ChecksumFinish(sum), ChecksumFinish(whole)) << "round " << round;
  }
}

TEST(SegmentTest, WritesHeadersForAScatteredPayload) {
  TcpSpec spec;
  spec.payload_length = 5000;
  Frame frame = TcpFrame(spec);
  FrameHeaders h;
  SegmentPlan plan;
  ASSERT_TRUE(PlanFor1500(frame, h, plan));
  for (size_t i = 0; i < plan.count; ++i) {
    size_t offset = h.payload_offset() + SegmentPayloadOffset(plan, i);
    size_t length = SegmentPayloadLength(h, plan, i);
    // As the port layer sums a payload spread over mbufs: 333-byte pieces.
    uint32_t sum = 0;
    for (size_t done = 0; done < length; done += 333) {
      size_t piece = std::min<size_t>(333, length - done);
      sum = ChecksumPartialAt(ConstByteSpan(frame).subspan(offset + done, piece), done, sum);
    }
    Frame segment(h.payload_offset() + length);
    WriteSegmentHeaders(frame, h, plan, i, sum, segment);
    std::copy(frame.begin() + offset, frame.begin() + offset + length,
              segment.begin() + h.payload_offset());
    EXPECT_TRUE(TcpChecksumValid(segment, 14)) << i;
    Frame built(h.payload_offset() + plan.max_payload);
    built.resize(BuildSegment(frame, h, plan, i, built));
    EXPECT_EQ(segment, built) << i;
  }
}

// ------------------------------------------------------------ kernel GSO

// What Linux's tcp_gso_segment and a device's checksum do with the header's
// seed for segment `index`: the seed moved from the whole TCP length to the
// segment's (one's complement), then the device's sum from csum_start on.
uint16_t LinuxSegmentChecksum(uint16_t seed, size_t whole_tcp_length, const Frame& segment,
                              size_t checksum_start) {
  size_t segment_tcp_length = segment.size() - checksum_start;
  uint32_t adjusted = seed + (~static_cast<uint32_t>(whole_tcp_length) & 0xffff) +
                      static_cast<uint32_t>(segment_tcp_length);
  while (adjusted >> 16) adjusted = (adjusted & 0xffff) + (adjusted >> 16);
  std::vector<uint8_t> tcp = Bytes(segment, checksum_start, segment_tcp_length);
  tcp[16] = static_cast<uint8_t>(adjusted >> 8);
  tcp[17] = static_cast<uint8_t>(adjusted);
  return static_cast<uint16_t>(~ReferenceSum(tcp));
}

TEST(KernelGsoTest, HeaderAndSeedGiveEverySegmentTheChecksumOfOurOwnCut) {
  TcpSpec spec;
  spec.sequence = 0xfffff000;
  spec.flags = kTcpAck | kTcpPsh | kTcpCwr;
  spec.options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  spec.payload_length = 64001;  // an odd last segment
  spec.ethernet.vlan = true;
  Frame frame = TcpFrame(spec);
  FrameHeaders h;
  SegmentPlan plan;
  ASSERT_TRUE(PlanFor1500(frame, h, plan));

  Frame whole = frame;
  Store16(ByteSpan(whole), 18 + 10, 0x1234);  // a stale IPv4 checksum is rewritten
  KernelGsoHeader header = PrepareKernelGso(whole, h, plan);
  EXPECT_EQ(header.flags, kVirtioNeedsChecksum);
  EXPECT_EQ(header.gso_type, kVirtioGsoTcpv4 | kVirtioGsoEcn);
  EXPECT_EQ(header.header_length, 18u + 20u + 32u);
  EXPECT_EQ(header.segment_size, 1448u);
  EXPECT_EQ(header.checksum_start, 18u + 20u);
  EXPECT_EQ(header.checksum_offset, 16u);
  EXPECT_TRUE(Ipv4HeaderValid(whole, 18));
  // Nothing but the two checksums changed.
  for (size_t i = 0; i < frame.size(); ++i) {
    if (i == 18 + 10 || i == 18 + 11 || i == 38 + 16 || i == 38 + 17) continue;
    ASSERT_EQ(whole[i], frame[i]) << "byte " << i;
  }

  uint16_t seed = Load16(whole, 38 + 16);
  for (size_t i = 0; i < plan.count; ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    Frame segment(h.payload_offset() + plan.max_payload);
    segment.resize(BuildSegment(frame, h, plan, i, segment));
    EXPECT_EQ(LinuxSegmentChecksum(seed, h.ip_total_length - 20, segment, 38),
              Load16(segment, 38 + 16));
  }
}

TEST(KernelGsoTest, NoEcnFlagWithoutCwr) {
  TcpSpec spec;
  spec.payload_length = 3000;
  Frame frame = TcpFrame(spec);
  FrameHeaders h;
  SegmentPlan plan;
  ASSERT_TRUE(PlanFor1500(frame, h, plan));
  KernelGsoHeader header = PrepareKernelGso(frame, h, plan);
  EXPECT_EQ(header.gso_type, kVirtioGsoTcpv4);
  EXPECT_EQ(header.header_length, 14u + 20u + 20u);
  EXPECT_EQ(header.checksum_start, 14u + 20u);
  EXPECT_EQ(header.segment_size, 1460u);
}

}  // namespace
}  // namespace stampede::net
