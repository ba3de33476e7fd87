// When the port is a Linux interface read through af_packet/af_xdp, the kernel
// still runs its own IP stack on it and would answer for our addresses too
// (duplicate ARP/ICMP replies, RSTs). Detaching drops frames at the interface's
// netfilter ingress hook (nftables netdev family), which runs after the packet
// sockets have taken their copy.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

// A classic BPF program over an Ethernet frame (offsets from its first
// byte) that returns `on_match` for what the kernel redirect takes from the
// wire: a peer's IPv4 TCP to one of `addresses` (host order), untagged,
// addressed to this host's MAC (PACKET_HOST), at least 54 bytes, a 20-byte
// IP header, not a fragment, SYN clear (what does not match, malformed
// frames included, stays the workers' to count). With `refuse_outgoing`, frames the host sends out
// of the interface (PACKET_OUTGOING) match too. Everything else: `otherwise`. No addresses: only
// the outgoing check.
std::vector<sock_filter> KernelTcpProgram(std::span<const uint32_t> addresses, uint32_t on_match,
                                          uint32_t otherwise, bool refuse_outgoing);

// The packet sockets of this process bound to `iface`: af_packet's queues,
// and KernelGso's once open (bound to no protocol, they take nothing).
absl::StatusOr<std::vector<int>> PacketSocketsOf(const std::string& iface);

// The packet sockets of this process bound to `iface` (af_packet's queues;
// KernelGso's, bound to no protocol, take nothing anyway) get a socket filter (KernelTcpProgram)
// refusing, before they are copied into a ring:
//  - the frames sent out of the interface: the other queues', the KernelGso
//    sockets' and the kernel redirect's (a worker would drop each as
//    own_frame);
//  - with `kernel_tcp_to`, the peers' TCP that RedirectKernelTcp's ingress
//    rule hands the kernel (a worker would forward it a second time).
// PACKET_IGNORE_OUTGOING cannot do the first: af_packet's queues are in a
// fanout group, whose hook is the group's. Returns how many sockets it set.
absl::StatusOr<int> FilterPortSockets(const std::string& iface,
                                      std::span<const uint32_t> kernel_tcp_to = {});

// Kernel redirect (--kernel_redirect), both ways, inside the kernel, never
// read by a worker:
//  - out: the exception TAP's IPv4 TCP frames other than SYNs leave through
//    the wire's Linux interface `wire` straight from the TAP's egress hook
//    (tc clsact, a u32 filter, a mirred redirect); the kernel's TCP keeps its
//    GSO frames (cut by the wire's GSO or the NIC's TSO), no byte is copied.
//    The rule lives on the TAP and goes with it.
//  - in (when `addresses` are given): the peers' TCP to those addresses
//    (KernelTcpProgram: SYNs excepted) goes from the wire's ingress hook to
//    the TAP (a cls_bpf filter with the same program, a mirred redirect);
//    FilterPortSockets must then keep it from the workers.
// SYNs still go through a worker, which clamps a peer's MSS to the wire's
// (ExceptionPathConfig::kernel_redirect: the kernel's GSO frames must be cut
// to what the wire takes). Counters: `tc -s filter show dev <tap> egress`,
// `tc -s filter show dev <wire> ingress`.
absl::Status RedirectKernelTcp(const std::string& tap, const std::string& wire,
                               std::span<const uint32_t> addresses);

// Removes the wire's half of RedirectKernelTcp (at shutdown, best effort).
void RemoveKernelRedirect(const std::string& wire);

}  // namespace stampede::port
