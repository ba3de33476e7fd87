// When the port is a Linux interface read through af_packet/af_xdp, the kernel
// still runs its own IP stack on it and would answer for our addresses too
// (duplicate ARP/ICMP replies, RSTs). Detaching drops frames at the interface's
// netfilter ingress hook (nftables netdev family), which runs after the packet
// sockets have taken their copy.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace stampede::port {

// The Linux interface behind a vdev spec ("iface=" of net_af_packet/net_af_xdp),
// if any.
std::optional<std::string> KernelInterfaceOf(const std::string& port_spec);

// Installs an nftables netdev table whose ingress chain drops everything, and
// turns IPv6 off on the interface so the kernel sends nothing of its own from it.
absl::Status DetachKernelStack(const std::string& iface);

// Undoes DetachKernelStack (best effort, at shutdown).
void ReattachKernelStack(const std::string& iface);

}  // namespace stampede::port
