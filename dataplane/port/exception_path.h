// Big segments through the exception path: the kernel's TAP has a far larger
// MTU than the wire (kExceptionMtu), so the kernel's TCP hands over segments
// of up to 64 KiB, one TAP read each, and a worker cuts them to the wire's MTU
// (net/tcp_segment.h). SYNs are rewritten both ways so the kernel believes its
// peers take such segments; other datagrams over the wire's MTU are
// fragmented, or answered with ICMP "fragmentation needed" when DF is set.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/net/bytes.h"
#include "dataplane/net/tcp_segment.h"
#include "dataplane/port/counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace stampede::port {

struct ExceptionPathConfig {
  uint16_t port_id = 0;      // the wire
  uint16_t tap_port_id = 0;  // the kernel
  uint16_t queue_id = 0;
  rte_mempool* pool = nullptr;  // segment headers, indirect mbufs, ICMP
  uint32_t wire_mtu = 1500;     // IPv4 datagrams on the wire, at most
  uint32_t tap_mtu = 1500;      // the kernel's MTU on the TAP
  // Segments point into the kernel's frame (indirect mbufs) instead of
  // copying its payload: for a NIC that sends mbuf chains.
  bool zero_copy = false;
  // RTE_ETH_TX_OFFLOAD_TCP_TSO: the wire port cuts TCP frames itself, those
  // of at most `tso_max_mbufs` mbufs (its tx_desc_lim.nb_seg_max).
  bool tso_offload = false;
  uint16_t tso_max_mbufs = 0;
  // RTE_ETH_TX_OFFLOAD_TCP_CKSUM and IPV4_CKSUM: the port sums segments.
  bool checksum_offload = false;
  // The wire is a kernel interface and the worker has a KernelGso for it:
  // big TCP frames go there whole, a virtio-net header prepended and marked
  // RTE_MBUF_F_TX_TCP_SEG (tso_offload is then set too).
  bool kernel_gso = false;
  // The kernel's TCP leaves the TAP straight for the wire (kernel_detach.h,
  // RedirectKernelTcp) and its GSO frames must be cut to the wire's MSS:
  // peers' SYNs reach it with their MSS clamped to the wire's, not raised.
  bool kernel_redirect = false;
};

// The config for a worker's queue from what the ports say; `kernel_gso`:
// the worker sends big TCP frames through a KernelGso; `kernel_redirect`: see
// ExceptionPathConfig.
ExceptionPathConfig ExceptionPathFor(uint16_t port_id, uint16_t tap_port_id, uint16_t queue_id,
                                     rte_mempool* pool, bool kernel_gso = false,
                                     bool kernel_redirect = false);

// A position in an mbuf chain's data.
struct ChainCursor {
  rte_mbuf* segment;
  uint32_t offset;  // into `segment`'s data

  // Moves past exhausted segments; false at the chain's end.
  bool Settle();
  // Bytes of the current segment from here, at most `wanted`.
  uint32_t Take(size_t wanted) const;
  net::ConstByteSpan Bytes(uint32_t length) const;
};

// The indirect mbufs one frame's segments point into it with, taken from the
// pool at once (a pool's bulk get beats one get each); what is left goes back.
class IndirectSupply {
 public:
  // Up to kMaxPieces; ok() is false when the pool could not give them.
  IndirectSupply(rte_mempool* pool, size_t wanted);
  ~IndirectSupply();
  IndirectSupply(const IndirectSupply&) = delete;
  IndirectSupply& operator=(const IndirectSupply&) = delete;

  bool ok() const { return ok_; }
  // The next mbuf; null when all are used.
  rte_mbuf* Take();

  static constexpr size_t kMaxPieces = 2 * net::kMaxSegmentsPerFrame;

 private:
  std::array<rte_mbuf*, kMaxPieces> mbufs_;
  uint16_t count_ = 0;
  uint16_t used_ = 0;
  bool ok_ = true;
};

class ExceptionPath {
 public:
  ExceptionPath(const ExceptionPathConfig& config, LcoreCounters& counters);

  // Whether the kernel may send more than the wire carries (its TAP MTU is
  // larger); when not, frames pass both ways untouched.
  bool active() const { return active_; }

  // Frames from the wire to the kernel: SYNs get the MSS the kernel may use.
  void FromWire(rte_mbuf* const* frames, uint16_t count);

  // One frame from the kernel to the wire: stores what to send in `out` (room
  // for kMaxSegmentsPerFrame) and returns how many; 0 when it was dropped
  // (counted) or answered to the kernel.
  uint16_t ToWire(rte_mbuf* m, rte_mbuf** out);

 private:
  uint16_t Segment(rte_mbuf* m, const net::FrameHeaders& frame, rte_mbuf** out);
  // Cuts in software into `out` (plan.count mbufs); false when out of mbufs.
  bool Cut(rte_mbuf* m, const net::FrameHeaders& frame, const net::SegmentPlan& plan,
           rte_mbuf** out);
  // Segment `index` into `s`: its headers, then its payload from `cursor`
  // on, copied or (zero copy) as indirect mbufs from `pieces`.
  bool FillSegment(rte_mbuf* s, net::ConstByteSpan headers, const net::FrameHeaders& frame,
                   const net::SegmentPlan& plan, size_t index, ChainCursor& cursor,
                   IndirectSupply& pieces);
  // Hands the whole frame to the port's TSO (or the kernel's GSO); false
  // when the port refuses it.
  bool Offload(rte_mbuf* m, const net::FrameHeaders& frame, const net::SegmentPlan& plan);
  // Kernel GSO: the frame gets its virtio-net header and the TSO mark.
  bool PrependGsoHeader(rte_mbuf* m, const net::FrameHeaders& frame, const net::SegmentPlan& plan);
  uint16_t Fragment(rte_mbuf* m, const net::FrameHeaders& frame, rte_mbuf** out);
  void AnswerFragmentationNeeded(rte_mbuf* m, const net::FrameHeaders& frame);
  // Counts what ClampMss did to a SYN (mss_clamped, mss_malformed).
  void CountClamp(net::MssResult result);
  void Drop(rte_mbuf* m, net::DropReason reason);

  ExceptionPathConfig config_;
  LcoreCounters& counters_;
  bool active_ = false;
  uint16_t wire_mss_ = 0;
  uint16_t tap_mss_ = 0;
};

}  // namespace stampede::port
