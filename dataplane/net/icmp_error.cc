#include "dataplane/net/icmp_error.h"

#include <algorithm>

#include "dataplane/net/checksum.h"
#include "dataplane/net/packet.h"

namespace stampede::net {
namespace {

// RFC 791 §3.1 precedence "internetwork control", as Linux sends ICMP errors.
constexpr uint8_t kInternetControlTos = 0xc0;
constexpr uint8_t kIcmpTtl = 64;

}  // namespace

size_t BuildFragmentationNeeded(ConstByteSpan headers, const FrameHeaders& frame, uint16_t mtu,
                                ByteSpan out) {
  if (frame.kind != FrameKind::kIpv4 && frame.kind != FrameKind::kTcp) return 0;
  size_t l3 = frame.l3_offset;
  size_t available = headers.size() < frame.frame_length() ? headers.size() : frame.frame_length();
  size_t quoted_data =
      std::min(kIcmpQuotedDataSize, frame.ip_total_length - frame.ip_header_length);
  if (available < frame.l4_offset()) return 0;
  quoted_data = std::min(quoted_data, available - frame.l4_offset());
  size_t quoted = frame.ip_header_length + quoted_data;
  size_t ip_length = kIpv4MinHeaderSize + kIcmpHeaderSize + quoted;
  size_t length = l3 + ip_length;
  if (out.size() < length) return 0;

  // Ethernet (and the tag) as received, the addresses swapped.
  CopyBytes(out, 0, headers.first(l3));
  MacAddress::Load(headers, 6).Store(out, 0);
  MacAddress::Load(headers, 0).Store(out, 6);

  ByteSpan ip = out.subspan(l3, kIpv4MinHeaderSize);
  std::fill(ip.begin(), ip.end(), std::byte{0});
  Store8(ip, 0, 0x45);
  Store8(ip, 1, kInternetControlTos);
  Store16(ip, 2, static_cast<uint16_t>(ip_length));
  Store8(ip, 8, kIcmpTtl);
  Store8(ip, 9, kIpProtoIcmp);
  CopyBytes(ip, 12, headers.subspan(l3 + 16, 4));  // from the datagram's destination
  CopyBytes(ip, 16, headers.subspan(l3 + 12, 4));  // to its source
  Store16(ip, 10, ChecksumFinish(ChecksumPartial(ip)));

  ByteSpan icmp = out.subspan(l3 + kIpv4MinHeaderSize, kIcmpHeaderSize + quoted);
  Store8(icmp, 0, kIcmpDestinationUnreachable);
  Store8(icmp, 1, kIcmpFragmentationNeeded);
  Store16(icmp, 2, 0);
  Store16(icmp, 4, 0);
  Store16(icmp, 6, mtu);
  CopyBytes(icmp, kIcmpHeaderSize, headers.subspan(l3, quoted));
  Store16(icmp, 2, ChecksumFinish(ChecksumPartial(icmp)));
  return length;
}

}  // namespace stampede::net
