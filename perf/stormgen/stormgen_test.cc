// The storm client driven by packets: DHCP with PXE options, TFTP with
// options, windows, rollover, errors and timers; its frames; the report.
#include <array>
#include <string>
#include <vector>

#include "dataplane/dhcp/message.h"
#include "dataplane/net/packet.h"
#include "dataplane/tftp/message.h"
#include "gtest/gtest.h"
#include "perf/stormgen/client.h"
#include "perf/stormgen/frame.h"
#include "perf/stormgen/report.h"

namespace stampede::stormgen {
namespace {

using net::ConstByteSpan;

constexpr int64_t kSecond = 1'000'000'000;
const net::Ipv4Address kServer = {0xc6120001};   // 198.18.0.1
const net::Ipv4Address kOffered = {0xc6120164};  // 198.18.1.100
const net::MacAddress kServerMac = {{0x02, 0, 0x5e, 0x10, 0, 1}};

struct Sent {
  net::MacAddress destination_mac;
  net::Ipv4Address source, destination;
  uint16_t source_port, destination_port;
  std::vector<std::byte> payload;
};

class FakeSink : public Sink {
 public:
  void SendUdp(uint32_t, net::MacAddress destination_mac, net::Ipv4Address source,
               net::Ipv4Address destination, uint16_t source_port, uint16_t destination_port,
               ConstByteSpan payload) override {
    sent.push_back({destination_mac,
                    source,
                    destination,
                    source_port,
                    destination_port,
                    {payload.begin(), payload.end()}});
  }
  std::vector<Sent> sent;
};

dhcp::Message ParseRequest(const Sent& s) {
  dhcp::Message m;
  EXPECT_TRUE(dhcp::Parse(s.payload, m).ok());
  return m;
}

// A server's reply to `request`, built with the dataplane's builder.
std::vector<std::byte> Reply(const dhcp::Message& request, dhcp::MessageType type,
                             std::string_view boot_file = "pxelinux.0") {
  std::vector<std::byte> out(548);
  dhcp::ReplyBuilder b(out, out.size());
  b.Begin(request, type);
  b.SetYiaddr(kOffered);
  b.SetSiaddr(kServer);
  b.SetFile(boot_file);
  b.AddAddress(dhcp::option::kServerId, kServer);
  b.AddU32(dhcp::option::kLeaseTime, 3600);
  out.resize(b.Finish());
  return out;
}

std::vector<std::byte> Data(uint16_t block, size_t size) {
  std::vector<std::byte> out(4 + size, std::byte{0x5a});
  tftp::BuildDataHeader(block, out);
  return out;
}

std::vector<std::byte> Oack(uint32_t blksize, uint32_t windowsize, uint64_t tsize) {
  tftp::RequestedOptions asked{blksize, std::nullopt, 0, windowsize};
  tftp::Negotiated n = tftp::Negotiate(asked, {65464, 64});
  std::vector<std::byte> out(128);
  out.resize(tftp::BuildOack(n, tsize, out));
  return out;
}

uint16_t AckBlock(const Sent& s) {
  auto block = tftp::ParseAck(s.payload);
  EXPECT_TRUE(block.has_value());
  return block.value_or(0xffff);
}

class ClientTest : public ::testing::Test {
 protected:
  // Takes the client through DORA; returns the time of the ACK.
  int64_t Bind(Client& client) {
    client.Start(0);
    dhcp::Message discover = ParseRequest(sink_.sent.back());
    client.OnDhcp(Reply(discover, dhcp::MessageType::kOffer), kServerMac, kSecond / 100);
    dhcp::Message request = ParseRequest(sink_.sent.back());
    client.OnDhcp(Reply(request, dhcp::MessageType::kAck), kServerMac, kSecond / 50);
    return kSecond / 50;
  }

  ClientConfig config_;
  FakeSink sink_;
};

TEST_F(ClientTest, DiscoverCarriesThePxeOptions) {
  config_.arch = 7;
  Client client(42, config_, sink_);
  client.Start(0);
  ASSERT_EQ(sink_.sent.size(), 1u);
  const Sent& s = sink_.sent[0];
  EXPECT_EQ(s.destination_mac, net::MacAddress::Broadcast());
  EXPECT_EQ(s.destination.value, 0xffffffffu);
  EXPECT_EQ(s.source_port, 68);
  EXPECT_EQ(s.destination_port, 67);
  dhcp::Message m = ParseRequest(s);
  EXPECT_EQ(m.Type(), dhcp::MessageType::kDiscover);
  EXPECT_EQ(m.Mac(), Client::MacOf(0x53, 42));
  EXPECT_EQ(Client::IndexOf(0x53, m.Mac()), 42u);
  EXPECT_TRUE(m.Broadcast());
  EXPECT_EQ(m.U16(dhcp::option::kClientArch), 7);
  auto vendor = m.Option(dhcp::option::kVendorClass);
  ASSERT_TRUE(vendor);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(vendor->data()), vendor->size()),
            "PXEClient:Arch:00007:UNDI:002001");
  auto uuid = m.Option(dhcp::option::kClientUuid);
  ASSERT_TRUE(uuid);
  EXPECT_EQ(uuid->size(), 17u);
  EXPECT_TRUE(m.Has(dhcp::option::kParameterList));
  EXPECT_EQ(client.deadline_ns(), 4 * kSecond);
}

TEST_F(ClientTest, DoraThenReadsTheBootFile) {
  Client client(1, config_, sink_);
  client.Start(0);
  dhcp::Message discover = ParseRequest(sink_.sent.back());
  // Another client's reply (other xid) is not taken.
  dhcp::Message other = discover;
  other.xid ^= 1;
  client.OnDhcp(Reply(other, dhcp::MessageType::kOffer), kServerMac, 1);
  EXPECT_EQ(sink_.sent.size(), 1u);
  client.OnDhcp(Reply(discover, dhcp::MessageType::kOffer), kServerMac, 2);
  ASSERT_EQ(sink_.sent.size(), 2u);
  dhcp::Message request = ParseRequest(sink_.sent.back());
  EXPECT_EQ(request.Type(), dhcp::MessageType::kRequest);
  EXPECT_EQ(request.Address(dhcp::option::kServerId), kServer);
  EXPECT_EQ(request.Address(dhcp::option::kRequestedAddress), kOffered);
  EXPECT_EQ(request.xid, discover.xid);
  client.OnDhcp(Reply(request, dhcp::MessageType::kAck), kServerMac, 3);
  EXPECT_EQ(client.address(), kOffered);
  EXPECT_EQ(client.tftp_server(), kServer);
  EXPECT_EQ(client.boot_file(), "pxelinux.0");
  EXPECT_EQ(client.phase(), Phase::kTftp);
  EXPECT_EQ(client.result().dhcp_end_ns, 3);
  const Sent& rrq = sink_.sent.back();
  EXPECT_EQ(rrq.destination_mac, kServerMac);
  EXPECT_EQ(rrq.source, kOffered);
  EXPECT_EQ(rrq.destination, kServer);
  EXPECT_EQ(rrq.destination_port, 69);
  tftp::ParsedRequest parsed = tftp::ParseRequest(rrq.payload);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.request.path, "pxelinux.0");
  EXPECT_EQ(parsed.request.options.blksize, 1468u);
  EXPECT_EQ(parsed.request.options.windowsize, 16u);
  EXPECT_EQ(parsed.request.options.tsize, 0u);
}

TEST_F(ClientTest, DhcpRetransmitsOnThePxeScheduleThenFails) {
  Client client(1, config_, sink_);
  client.Start(0);
  int64_t at = 0;
  for (int64_t timeout : {4, 8, 16}) {
    at += timeout * kSecond;
    ASSERT_EQ(client.deadline_ns(), at);
    client.OnTimer(at - 1);  // early: nothing
    client.OnTimer(at);
  }
  EXPECT_EQ(sink_.sent.size(), 4u);
  at += 32 * kSecond;
  client.OnTimer(at);
  EXPECT_EQ(client.phase(), Phase::kFailed);
  EXPECT_EQ(client.result().dhcp_retransmissions, 3u);
  EXPECT_STREQ(client.result().failure, "dhcp: no OFFER");
}

TEST_F(ClientTest, NakSendsTheClientBackToDiscover) {
  Client client(1, config_, sink_);
  client.Start(0);
  client.OnDhcp(Reply(ParseRequest(sink_.sent.back()), dhcp::MessageType::kOffer), kServerMac, 1);
  client.OnDhcp(Reply(ParseRequest(sink_.sent.back()), dhcp::MessageType::kNak), kServerMac, 2);
  EXPECT_EQ(client.phase(), Phase::kDiscovering);
  EXPECT_EQ(ParseRequest(sink_.sent.back()).Type(), dhcp::MessageType::kDiscover);
  EXPECT_EQ(client.result().naks, 1u);
}

TEST_F(ClientTest, WindowedTransferOfTwoFiles) {
  config_.files = {"@bootfile", "vmlinuz"};
  config_.blksize = 512;
  config_.windowsize = 4;
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  uint16_t port = sink_.sent.back().source_port;
  EXPECT_EQ(port, kTftpFirstClientPort);
  // 10 blocks of 512 and a short one: 5,220 bytes.
  client.OnUdp(kServer, 61000, port, Oack(512, 4, 5220), now);
  EXPECT_EQ(AckBlock(sink_.sent.back()), 0);
  EXPECT_EQ(sink_.sent.back().destination_port, 61000);
  size_t before = sink_.sent.size();
  for (uint16_t block = 1; block <= 10; ++block)
    client.OnUdp(kServer, 61000, port, Data(block, 512), now);
  ASSERT_EQ(sink_.sent.size(), before + 2);  // one ACK per window of 4
  EXPECT_EQ(AckBlock(sink_.sent[before]), 4);
  EXPECT_EQ(AckBlock(sink_.sent[before + 1]), 8);
  client.OnUdp(kServer, 61000, port, Data(11, 100), now + 5);
  EXPECT_EQ(AckBlock(sink_.sent[before + 2]), 11);
  // The next file, from the next port.
  const Sent& rrq = sink_.sent.back();
  EXPECT_EQ(rrq.source_port, kTftpFirstClientPort + 1);
  EXPECT_EQ(tftp::ParseRequest(rrq.payload).request.path, "vmlinuz");
  client.OnUdp(kServer, 61001, kTftpFirstClientPort + 1, Oack(512, 4, 0), now + 6);
  client.OnUdp(kServer, 61001, kTftpFirstClientPort + 1, Data(1, 0), now + 7);
  EXPECT_EQ(client.phase(), Phase::kDone);
  ASSERT_EQ(client.result().files.size(), 2u);
  EXPECT_TRUE(client.result().files[0].ok);
  EXPECT_EQ(client.result().files[0].bytes, 5220u);
  EXPECT_EQ(client.result().files[0].windowsize, 4u);
  EXPECT_EQ(client.result().files[0].end_ns, now + 5);
  EXPECT_EQ(client.result().end_ns, now + 7);
}

TEST_F(ClientTest, ServerWithoutOptionsIsLockStep) {
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  uint16_t port = sink_.sent.back().source_port;
  client.OnUdp(kServer, 40000, port, Data(1, 512), now);
  EXPECT_EQ(AckBlock(sink_.sent.back()), 1);
  client.OnUdp(kServer, 40000, port, Data(2, 3), now);
  EXPECT_EQ(AckBlock(sink_.sent.back()), 2);
  EXPECT_EQ(client.phase(), Phase::kDone);
  EXPECT_EQ(client.result().files[0].bytes, 515u);
  EXPECT_EQ(client.result().files[0].blksize, 512u);
}

TEST_F(ClientTest, SizeDifferentFromTsizeFails) {
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  uint16_t port = sink_.sent.back().source_port;
  client.OnUdp(kServer, 61000, port, Oack(1468, 16, 9999), now);
  client.OnUdp(kServer, 61000, port, Data(1, 10), now);
  EXPECT_EQ(client.phase(), Phase::kFailed);
  EXPECT_STREQ(client.result().failure, "tftp: size differs from tsize");
}

TEST_F(ClientTest, ErrorFromTheServerFailsTheClient) {
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  std::array<std::byte, 64> error;
  size_t length = tftp::BuildError(tftp::ErrorCode::kFileNotFound, "nope", error);
  client.OnUdp(kServer, 61000, sink_.sent.back().source_port, ConstByteSpan(error.data(), length),
               now);
  EXPECT_EQ(client.phase(), Phase::kFailed);
  EXPECT_FALSE(client.result().files[0].ok);
}

TEST_F(ClientTest, AnotherTidIsToldErrorFive) {
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  uint16_t port = sink_.sent.back().source_port;
  client.OnUdp(kServer, 61000, port, Oack(1468, 16, 100), now);
  client.OnUdp(kServer, 61002, port, Data(1, 100), now);
  const Sent& error = sink_.sent.back();
  EXPECT_EQ(error.destination_port, 61002);
  EXPECT_EQ(net::Load16(error.payload, 0), uint16_t(tftp::Opcode::kError));
  EXPECT_EQ(net::Load16(error.payload, 2), 5);
  EXPECT_EQ(client.phase(), Phase::kTftp);
}

TEST_F(ClientTest, TftpTimeoutsResendRrqThenLastAckThenFail) {
  config_.tftp_retries = 2;
  Client client(1, config_, sink_);
  int64_t now = Bind(client);
  uint16_t port = sink_.sent.back().source_port;
  now += kSecond;
  client.OnTimer(now);  // RRQ again
  EXPECT_EQ(tftp::ParseRequest(sink_.sent.back().payload).request.path, "pxelinux.0");
  client.OnUdp(kServer, 61000, port, Oack(1468, 16, 5000), now);
  client.OnUdp(kServer, 61000, port, Data(1, 1468), now);
  client.OnUdp(kServer, 61000, port, Data(3, 1468), now);  // a gap: wait
  now += kSecond;
  client.OnTimer(now);
  EXPECT_EQ(AckBlock(sink_.sent.back()), 1);
  now += kSecond;
  client.OnTimer(now);
  EXPECT_EQ(AckBlock(sink_.sent.back()), 1);
  now += kSecond;
  client.OnTimer(now);
  EXPECT_EQ(client.phase(), Phase::kFailed);
  EXPECT_STREQ(client.result().failure, "tftp: no answer");
  EXPECT_EQ(client.result().files[0].retransmissions, 3u);
}

TEST_F(ClientTest, BlockNumbersRollOver) {
  for (uint16_t rollover : {0, 1}) {
    config_.rollover_to = rollover;
    config_.blksize = 8;
    config_.windowsize = 1024;
    Client client(1, config_, sink_);
    int64_t now = Bind(client);
    uint16_t port = sink_.sent.back().source_port;
    client.OnUdp(kServer, 61000, port, Oack(8, 1024, 70'000 * 8 + 1), now);
    uint16_t wire = 0;
    for (uint32_t i = 1; i <= 70'000; ++i) {
      wire = (i <= 0xffff) ? uint16_t(i) : uint16_t(rollover == 0 ? i : (i - 0x10000) % 0xffff + 1);
      client.OnUdp(kServer, 61000, port, Data(wire, 8), now);
    }
    client.OnUdp(kServer, 61000, port, Data(uint16_t(wire + 1), 1), now);
    EXPECT_EQ(client.phase(), Phase::kDone) << "rollover_to " << rollover;
    EXPECT_EQ(client.result().files[0].bytes, 70'000u * 8 + 1);
  }
}

TEST_F(ClientTest, ParsesBootFileFromOption67) {
  Client client(1, config_, sink_);
  client.Start(0);
  dhcp::Message discover = ParseRequest(sink_.sent.back());
  std::vector<std::byte> offer = Reply(discover, dhcp::MessageType::kOffer, "");
  dhcp::ReplyBuilder b(offer, 548);
  offer.resize(548);
  b.Begin(discover, dhcp::MessageType::kOffer);
  b.SetYiaddr(kOffered);
  b.AddAddress(dhcp::option::kServerId, kServer);
  b.AddText(dhcp::option::kBootfileName, "undionly.kpxe");
  offer.resize(b.Finish());
  dhcp::Message parsed;
  ASSERT_TRUE(ParseDhcpReply(offer, parsed));
  EXPECT_EQ(parsed.op, dhcp::kBootReply);
  EXPECT_EQ(BootFileOf(parsed, offer), "undionly.kpxe");
  // A request is not a reply.
  EXPECT_FALSE(ParseDhcpReply(sink_.sent.back().payload, parsed));
}

TEST(FrameTest, UdpFrameParsesBackWithValidChecksums) {
  std::vector<std::byte> payload(100, std::byte{7});
  std::vector<std::byte> frame(UdpFrameSize(payload.size()));
  UdpEndpoints to{Client::MacOf(0x53, 9), kServerMac, kOffered, kServer, 2070, 69};
  ASSERT_EQ(BuildUdpFrame(frame, to, 1, payload), frame.size());
  net::ParseResult r = net::ParsePacket(frame);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.packet.source_mac, to.source_mac);
  EXPECT_EQ(r.packet.ipv4.destination, kServer);
  EXPECT_EQ(r.packet.udp.destination_port, 69);
  EXPECT_EQ(r.packet.udp.payload_length, 100u);
  // Short payloads are padded to the minimum frame.
  EXPECT_EQ(UdpFrameSize(4), kMinFrameSize);
}

TEST(FrameTest, ArpReplyAnswersTheRequest) {
  net::ArpFields request{net::kArpOpRequest, kServerMac, kServer, {}, kOffered};
  std::array<std::byte, kMinFrameSize> frame;
  BuildArpReply(frame, request, Client::MacOf(0x53, 9));
  net::ParseResult r = net::ParsePacket(frame);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.packet.arp.operation, net::kArpOpReply);
  EXPECT_EQ(r.packet.arp.sender_ip, kOffered);
  EXPECT_EQ(r.packet.arp.sender_mac, Client::MacOf(0x53, 9));
  EXPECT_EQ(r.packet.arp.target_ip, kServer);
  EXPECT_EQ(r.packet.destination_mac, kServerMac);
}

TEST(ReportTest, PercentilesAndSpans) {
  EXPECT_EQ(Percentile({}, 50), 0);
  EXPECT_EQ(Percentile({3, 1, 2}, 50), 2);
  EXPECT_EQ(Percentile({3, 1, 2}, 100), 3);
  std::vector<Sample> samples = {
      {kSecond, 2 * kSecond, 1'000'000, 0, true, ""},
      {kSecond, 3 * kSecond, 1'000'000, 2, true, ""},
      {kSecond, 0, 0, 1, false, "tftp: no answer"},
  };
  PhaseSummary s = Summarise("tftp", samples, 0);
  EXPECT_EQ(s.started, 3u);
  EXPECT_EQ(s.completions, 2u);
  EXPECT_EQ(s.failures, 1u);
  EXPECT_EQ(s.retransmissions, 3u);
  EXPECT_EQ(s.retransmitted, 1u);  // of the completions
  EXPECT_DOUBLE_EQ(s.p50_ms, 1000);
  EXPECT_DOUBLE_EQ(s.max_ms, 2000);
  EXPECT_DOUBLE_EQ(s.last_end_s, 3);
  EXPECT_DOUBLE_EQ(s.mb_per_s, 1);  // 2 MB over 1 s .. 3 s
  EXPECT_EQ(s.failure_reasons.at("tftp: no answer"), 1u);
  Report report{"net_null0", 3, 3.0, {s}, {{"frames_sent", 1}}};
  EXPECT_NE(FormatJson(report).find("\"completions\":2"), std::string::npos);
  EXPECT_NE(FormatTable(report).find("tftp"), std::string::npos);
}

}  // namespace
}  // namespace stampede::stormgen
