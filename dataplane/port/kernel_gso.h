// Big TCP frames to a wire port that is a Linux interface (net_af_packet,
// net_af_xdp): handed to the kernel whole, each behind a virtio-net header,
// through an AF_PACKET socket of the worker's own (PACKET_VNET_HDR); the
// kernel's GSO, or the NIC's TSO, cuts them. DPDK's af_packet PMD sends one
// wire-sized frame per slot of its ring, and a veth peer then runs the
// receiver's TCP once per 1,500 bytes on the sender's CPU; one 64 KiB frame
// costs about what one small one does (docs/dataplane.md, "Big segments
// through the exception path").
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct rte_mbuf;

namespace stampede::port {

class KernelGso {
 public:
  // Frames one Send takes at most (more are sent in turns), and mbufs per
  // frame (a longer chain is cut by the worker instead).
  static constexpr uint16_t kMaxFrames = 32;
  static constexpr uint16_t kMaxMbufsPerFrame = 64;

  // A send-only socket on `iface` (it registers for no protocol, so it
  // receives nothing).
  static absl::StatusOr<std::unique_ptr<KernelGso>> Open(const std::string& iface);
  ~KernelGso();
  KernelGso(const KernelGso&) = delete;
  KernelGso& operator=(const KernelGso&) = delete;

  // Sends frames whose data starts with a virtio-net header (the exception
  // path prepends it); frees and returns the number of those the kernel
  // took, from the first on. The rest are the caller's.
  uint16_t Send(rte_mbuf* const* frames, uint16_t count);

 private:
  explicit KernelGso(int fd) : fd_(fd) {}
  uint16_t SendSome(rte_mbuf* const* frames, uint16_t count);

  int fd_;
  std::array<mmsghdr, kMaxFrames> messages_{};
  std::array<std::array<iovec, kMaxMbufsPerFrame>, kMaxFrames> pieces_{};
};

}  // namespace stampede::port
