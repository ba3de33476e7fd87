// When the port is a Linux interface read through af_packet/af_xdp, the kernel
// still runs its own IP stack on it and would answer for our addresses too
// (duplicate ARP/ICMP replies, RSTs). Detaching drops frames at the interface's
// netfilter ingress hook (nftables netdev family), which runs after the packet
// sockets have taken their copy.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stampede::port {

// The Linux interface behind a vdev spec ("iface=" of net_af_packet/net_af_xdp),
// if any.
std::optional<std::string> KernelInterfaceOf(const std::string& port_spec);

// Installs an nftables netdev table whose ingress chain drops everything, and
// turns IPv6 off on the interface so the kernel sends nothing of its own from it.
absl::Status DetachKernelStack(const std::string& iface);

// Undoes DetachKernelStack (best effort, at shutdown).
void ReattachKernelStack(const std::string& iface);

// The packet sockets of this process bound to `iface` (af_packet's queues,
// the KernelGso sockets) stop taking the frames sent out of it (a socket
// filter refusing PACKET_OUTGOING): the other queues', the KernelGso
// sockets' and the kernel redirect's. Without it each such frame is copied
// into every rx ring and a worker drops it as own_frame. Returns how many
// sockets it set.
absl::StatusOr<int> IgnoreOutgoingFrames(const std::string& iface);

// Kernel redirect (--kernel_redirect): the exception TAP's IPv4 TCP frames
// other than SYNs leave through the wire's Linux interface `wire` straight from
// the TAP's egress hook (tc clsact, a u32 filter and a mirred redirect), never
// read by a worker: the kernel's TCP keeps its GSO frames (cut by the wire's
// GSO or the NIC's TSO) and no byte is copied. The rule lives on the TAP and
// goes with it. Frames it does not take (SYNs, IP options, everything not
// TCP) still come to the workers. A TCP peer's MSS must then reach the
// kernel as it is (no raising: ExceptionPathConfig::kernel_redirect). Its
// counters: `tc -s filter show dev <tap> egress`.
absl::Status RedirectKernelTcp(const std::string& tap, const std::string& wire);

}  // namespace stampede::port
