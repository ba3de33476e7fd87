// The kernel redirect's frame filter, run by the kernel itself: the program
// is attached to the receiving end of an AF_UNIX datagram socket pair (no
// privileges needed), each frame is sent as one datagram, and what the
// filter refuses never arrives. Such a socket's datagrams are PACKET_HOST and
// untagged, as a peer's frames to our MAC are.
#include "dataplane/port/kernel_detach.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::port {
namespace {

constexpr uint32_t kOurs = 0xC6120001;    // 198.18.0.1
constexpr uint32_t kOther = 0xC6120009;   // 198.18.0.9
constexpr uint32_t kSecond = 0xC6130001;  // 198.19.0.1

struct Frame {
  std::vector<uint8_t> bytes;

  // An Ethernet + IPv4 + TCP frame to `destination` with `flags`.
  static Frame Tcp(uint32_t destination, uint8_t flags) {
    Frame f;
    f.bytes.assign(14 + 20 + 20 + 6, 0);
    f.bytes[12] = 0x08;  // IPv4
    f.bytes[14] = 0x45;
    f.bytes[14 + 6] = 0x40;  // DF
    f.bytes[14 + 9] = 6;
    for (int i = 0; i < 4; ++i) f.bytes[14 + 16 + i] = destination >> (24 - 8 * i) & 0xff;
    f.bytes[14 + 20 + 12] = 0x50;
    f.bytes[14 + 20 + 13] = flags;
    return f;
  }
};

class KernelTcpProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds_.data()), 0);
  }
  void TearDown() override {
    close(fds_[0]);
    close(fds_[1]);
  }

  void Attach(std::vector<sock_filter> code) {
    code_ = std::move(code);
    sock_fprog program{static_cast<uint16_t>(code_.size()), code_.data()};
    ASSERT_EQ(setsockopt(fds_[1], SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)), 0)
        << std::strerror(errno);
  }

  // Whether `frame` gets through the filter.
  bool Passes(const Frame& frame) {
    EXPECT_EQ(send(fds_[0], frame.bytes.data(), frame.bytes.size(), 0),
              static_cast<ssize_t>(frame.bytes.size()));
    std::array<uint8_t, 2048> buffer;
    return recv(fds_[1], buffer.data(), buffer.size(), 0) > 0;
  }

  std::array<int, 2> fds_{-1, -1};
  std::vector<sock_filter> code_;
};

constexpr uint8_t kAck = 0x10, kSyn = 0x02, kSynAck = 0x12, kFinAck = 0x11, kRst = 0x04;

// The port sockets' filter: what the redirect takes is refused, the rest
// reaches the workers.
TEST_F(KernelTcpProgramTest, SocketFilterRefusesOnlyRedirectedTcp) {
  std::array<uint32_t, 2> ours{kOurs, kSecond};
  Attach(KernelTcpProgram(ours, /*on_match=*/0, /*otherwise=*/0xffffffffu, true));
  EXPECT_FALSE(Passes(Frame::Tcp(kOurs, kAck)));
  EXPECT_FALSE(Passes(Frame::Tcp(kSecond, kAck)));
  EXPECT_FALSE(Passes(Frame::Tcp(kOurs, kFinAck)));
  EXPECT_FALSE(Passes(Frame::Tcp(kOurs, kRst)));
  // SYNs go through a worker (MSS clamping).
  EXPECT_TRUE(Passes(Frame::Tcp(kOurs, kSyn)));
  EXPECT_TRUE(Passes(Frame::Tcp(kOurs, kSynAck)));
  // Not to us.
  EXPECT_TRUE(Passes(Frame::Tcp(kOther, kAck)));
  // IP options, a fragment (MF; an offset), UDP, not IPv4, an 802.1Q tag.
  Frame options = Frame::Tcp(kOurs, kAck);
  options.bytes[14] = 0x46;
  EXPECT_TRUE(Passes(options));
  Frame more_fragments = Frame::Tcp(kOurs, kAck);
  more_fragments.bytes[14 + 6] = 0x20;
  EXPECT_TRUE(Passes(more_fragments));
  Frame offset = Frame::Tcp(kOurs, kAck);
  offset.bytes[14 + 7] = 0x01;
  EXPECT_TRUE(Passes(offset));
  Frame udp = Frame::Tcp(kOurs, kAck);
  udp.bytes[14 + 9] = 17;
  EXPECT_TRUE(Passes(udp));
  Frame arp = Frame::Tcp(kOurs, kAck);
  arp.bytes[12] = 0x08;
  arp.bytes[13] = 0x06;
  EXPECT_TRUE(Passes(arp));
  Frame tagged = Frame::Tcp(kOurs, kAck);
  tagged.bytes[12] = 0x81;
  tagged.bytes[13] = 0x00;
  EXPECT_TRUE(Passes(tagged));
  // Too short for its headers: a worker counts it as malformed.
  for (size_t length : {14u, 15u, 24u, 47u, 53u}) {
    Frame runt = Frame::Tcp(kOurs, kAck);
    runt.bytes.resize(length);
    EXPECT_TRUE(Passes(runt)) << length;
  }
}

// The wire's ingress rule: the same frames, the opposite answer (cls_bpf:
// -1 runs the redirect, 0 is no match).
TEST_F(KernelTcpProgramTest, IngressRuleMatchesTheSameFrames) {
  std::array<uint32_t, 1> ours{kOurs};
  Attach(KernelTcpProgram(ours, /*on_match=*/0xffffffffu, /*otherwise=*/0, false));
  EXPECT_TRUE(Passes(Frame::Tcp(kOurs, kAck)));
  EXPECT_FALSE(Passes(Frame::Tcp(kOurs, kSyn)));
  EXPECT_FALSE(Passes(Frame::Tcp(kOther, kAck)));
  Frame udp = Frame::Tcp(kOurs, kAck);
  udp.bytes[14 + 9] = 17;
  EXPECT_FALSE(Passes(udp));
}

// Without addresses only the host's own frames are refused, which a datagram
// socket never has: everything passes.
TEST_F(KernelTcpProgramTest, WithoutAddressesOnlyOutgoingIsRefused) {
  Attach(KernelTcpProgram({}, 0, 0xffffffffu, true));
  EXPECT_EQ(code_.size(), 4u);
  EXPECT_TRUE(Passes(Frame::Tcp(kOurs, kAck)));
  EXPECT_TRUE(Passes(Frame::Tcp(kOther, kSyn)));
}

}  // namespace
}  // namespace stampede::port
