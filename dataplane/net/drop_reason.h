// Why the dataplane dropped a packet. Every drop on the hot path is one of these,
// counted per lcore (never a log line per packet) and exposed via telemetry.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace stampede::net {

#define STAMPEDE_DROP_REASONS(X)                                                              \
  X(kEthernetTruncated, "ethernet_truncated")                                                 \
  X(kVlanTruncated, "vlan_truncated")                                                         \
  X(kVlanStacked, "vlan_stacked")                                                             \
  X(kNotOurMac, "not_our_mac")                                                                \
  X(kOwnFrame, "own_frame") /* our source MAC: a loop, or the kernel GSO socket's frames */   \
  X(kArpTruncated, "arp_truncated")                                                           \
  X(kArpMalformed, "arp_malformed")                                                           \
  X(kArpNotForUs, "arp_not_for_us")                                                           \
  X(kIpv4Truncated, "ipv4_truncated")                                                         \
  X(kIpv4BadVersion, "ipv4_bad_version")                                                      \
  X(kIpv4BadHeaderLength, "ipv4_bad_header_length")                                           \
  X(kIpv4BadTotalLength, "ipv4_bad_total_length")                                             \
  X(kIpv4BadChecksum, "ipv4_bad_checksum")                                                    \
  X(kIpv4Fragment, "ipv4_fragment")                                                           \
  X(kIpv4BadSource, "ipv4_bad_source")                                                        \
  X(kIpv4NotForUs, "ipv4_not_for_us")                                                         \
  X(kUdpTruncated, "udp_truncated")                                                           \
  X(kUdpBadLength, "udp_bad_length")                                                          \
  X(kUdpBadChecksum, "udp_bad_checksum")                                                      \
  X(kIcmpTruncated, "icmp_truncated")                                                         \
  X(kIcmpBadChecksum, "icmp_bad_checksum")                                                    \
  X(kIcmpUnhandled, "icmp_unhandled")                                                         \
  X(kIpv6Truncated, "ipv6_truncated")                                                         \
  X(kIpv6BadVersion, "ipv6_bad_version")                                                      \
  X(kIpv6BadPayloadLength, "ipv6_bad_payload_length")                                         \
  X(kIcmpv6Truncated, "icmpv6_truncated")                                                     \
  X(kIcmpv6BadChecksum, "icmpv6_bad_checksum")                                                \
  X(kNdpMalformed, "ndp_malformed")       /* a router solicitation RFC 4861 refuses */        \
  X(kNoRoomForReply, "no_room_for_reply") /* a reply longer than its buffer */                \
  X(kNoExceptionPath, "no_exception_path")                                                    \
  X(kExceptionQueueFull, "exception_queue_full")                                              \
  X(kTxQueueFull, "tx_queue_full")                                                            \
  X(kNoPolicy, "no_policy") /* boot request before the first policy */                        \
  X(kDhcpMalformed, "dhcp_malformed")                                                         \
  X(kDhcpQueueFull, "dhcp_queue_full")   /* handoff to the DHCP worker full */                \
  X(kJournalFailed, "journal_failed")    /* ACK withheld: its lease did not reach the disk */ \
  X(kJournalBacklog, "journal_backlog")  /* ACK refused: journal batch or ACK queue full */   \
  X(kTftpNotUnicast, "tftp_not_unicast") /* TFTP to a broadcast address */                    \
  X(kTftpQueueFull, "tftp_queue_full")   /* handoff to the session's worker full */           \
  /* A kernel frame over the wire's MTU (docs/dataplane.md, big segments): */                 \
  X(kExceptionTooBig, "exception_too_big")             /* not IPv4 */                         \
  X(kExceptionDontFragment, "exception_dont_fragment") /* not TCP, DF set: ICMP to kernel */  \
  X(kSegmentUnsupported, "segment_unsupported")        /* TCP not cut: SYN, RST, URG */       \
  X(kSegmentNoMbufs, "segment_no_mbufs")               /* pool dry cutting or fragmenting */  \
  X(kFragmentFailed, "fragment_failed")                /* rte_ipv4_fragment_packet refused */ \
  X(kKernelGsoRefused, "kernel_gso_refused")           /* the GSO socket's send failed */     \
  /* Frames the port's receive rings had no room for (port.h, RxLoss): */                     \
  X(kRxRingFull, "rx_ring_full")

enum class DropReason : uint8_t {
#define STAMPEDE_DROP_ENUM(name, text) name,
  STAMPEDE_DROP_REASONS(STAMPEDE_DROP_ENUM)
#undef STAMPEDE_DROP_ENUM
};

inline constexpr std::array kDropReasonNames = {
#define STAMPEDE_DROP_NAME(name, text) std::string_view(text),
    STAMPEDE_DROP_REASONS(STAMPEDE_DROP_NAME)
#undef STAMPEDE_DROP_NAME
};

inline constexpr size_t kDropReasonCount = kDropReasonNames.size();

constexpr std::string_view DropReasonName(DropReason reason) {
  return kDropReasonNames[static_cast<size_t>(reason)];
}

}  // namespace stampede::net
