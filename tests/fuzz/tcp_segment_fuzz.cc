// libFuzzer target: the exception path's TCP segmentation (net/tcp_segment.h)
// and its ICMP "fragmentation needed" (net/icmp_error.h). Input: a 16-bit
// wire MTU selector, then a frame as the kernel or the wire would send it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/net/checksum.h"
#include "dataplane/net/icmp_error.h"
#include "dataplane/net/packet.h"
#include "dataplane/net/tcp_segment.h"

namespace {

using namespace stampede::net;

// RFC 791: the smallest datagram every host takes is 68 bytes.
constexpr uint32_t kMinMtu = 68;
constexpr uint32_t kMtuChoices = 10000 - kMinMtu + 1;

bool TcpChecksumValid(ConstByteSpan frame, const FrameHeaders& h) {
  std::byte pseudo[12] = {};
  ByteSpan p(pseudo);
  CopyBytes(p, 0, frame.subspan(h.l3_offset + 12, 8));
  Store8(p, 9, kIpProtoTcp);
  Store16(p, 10, static_cast<uint16_t>(h.ip_total_length - h.ip_header_length));
  uint32_t sum = ChecksumPartial(p);
  sum = ChecksumPartial(frame.subspan(h.l4_offset(), h.ip_total_length - h.ip_header_length), sum);
  return ChecksumFinish(sum) == 0;
}

// An MSS rewrite leaves a valid checksum valid, and a frame it did not
// rewrite exactly as it was.
template <typename Rewrite>
void CheckMssRewrite(ConstByteSpan frame, const FrameHeaders& h, Rewrite rewrite) {
  std::vector<std::byte> copy(frame.begin(), frame.end());
  bool valid = TcpChecksumValid(frame, h);
  MssResult result = rewrite(ByteSpan(copy));
  if (result != MssResult::kRewritten) {
    if (!std::equal(copy.begin(), copy.end(), frame.begin())) std::abort();
    return;
  }
  if ((h.tcp_flags & kTcpSyn) == 0) std::abort();
  if (valid && !TcpChecksumValid(copy, h)) std::abort();
}

void CheckSegments(ConstByteSpan frame, const FrameHeaders& h, uint32_t mtu) {
  SegmentPlan plan;
  SegmentVerdict verdict = PlanSegments(h, mtu, plan);
  if (verdict == SegmentVerdict::kFits && h.ip_total_length > mtu) std::abort();
  if (verdict != SegmentVerdict::kSegment) return;
  if (plan.count < 2 || plan.count > kMaxSegmentsPerFrame || plan.max_payload == 0) std::abort();
  std::vector<std::byte> segment(h.payload_offset() + plan.max_payload);
  size_t payload = 0;
  for (size_t i = 0; i < plan.count; ++i) {
    segment.resize(h.payload_offset() + plan.max_payload);
    segment.resize(BuildSegment(frame, h, plan, i, segment));
    FrameHeaders s = ParseFrameHeaders(segment, segment.size());
    if (s.kind != FrameKind::kTcp || s.ip_total_length > mtu || s.frame_length() != segment.size())
      std::abort();
    if (!ChecksumValid(ConstByteSpan(segment).subspan(s.l3_offset, s.ip_header_length)) ||
        !TcpChecksumValid(segment, s)) {
      std::abort();
    }
    if (s.tcp_sequence != static_cast<uint32_t>(h.tcp_sequence + payload)) std::abort();
    bool last = i + 1 == plan.count;
    if (!last && (s.tcp_flags & (kTcpFin | kTcpPsh)) != 0) std::abort();
    if (i > 0 && (s.tcp_flags & kTcpCwr) != 0) std::abort();
    ConstByteSpan got = ConstByteSpan(segment).subspan(s.payload_offset());
    ConstByteSpan want = frame.subspan(h.payload_offset() + payload, got.size());
    if (!std::equal(got.begin(), got.end(), want.begin())) std::abort();
    payload += got.size();
  }
  if (payload != h.payload_length()) std::abort();

  // Handed to the kernel whole instead: the header stays inside the frame's
  // headers and the IPv4 header verifies.
  std::vector<std::byte> whole(frame.begin(), frame.end());
  KernelGsoHeader gso = PrepareKernelGso(whole, h, plan);
  if (gso.header_length != h.payload_offset() || gso.segment_size != plan.max_payload ||
      gso.checksum_start + gso.checksum_offset + 2u > gso.header_length ||
      !ChecksumValid(ConstByteSpan(whole).subspan(h.l3_offset, h.ip_header_length))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t mtu = kMinMtu + ((uint32_t{data[0]} << 8) | data[1]) % kMtuChoices;
  ConstByteSpan frame(reinterpret_cast<const std::byte*>(data) + 2, size - 2);

  FrameHeaders h = ParseFrameHeaders(frame, frame.size());
  if (h.kind == FrameKind::kIpv4 || h.kind == FrameKind::kTcp) {
    if (h.frame_length() > frame.size() || h.l4_offset() > h.frame_length()) std::abort();
    std::vector<std::byte> answer(kFragmentationNeededMaxSize);
    size_t length = BuildFragmentationNeeded(frame, h, static_cast<uint16_t>(mtu), answer);
    if (length == 0 || length > answer.size()) std::abort();
    answer.resize(length);
    // The kernel gets a frame the dataplane's own parser takes.
    if (!ParsePacket(answer).ok) std::abort();
  }
  if (h.kind != FrameKind::kTcp) return 0;
  if (h.payload_offset() > h.frame_length()) std::abort();

  uint16_t wire_mss = static_cast<uint16_t>(mtu - kTcpIpv4Overhead);
  CheckMssRewrite(frame, h, [&](ByteSpan f) { return RaiseMss(f, h, wire_mss, 64960); });
  CheckMssRewrite(frame, h, [&](ByteSpan f) { return ClampMss(f, h, wire_mss); });
  CheckSegments(frame, h, mtu);
  return 0;
}
