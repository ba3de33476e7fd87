// Bringing up DPDK ports: the boot-facing port and the exception-path TAP,
// with one rx/tx queue pair per worker.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/net/address.h"

struct rte_mempool;

namespace stampede::port {

struct QueueConfig {
  uint16_t queues = 1;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  rte_mempool* pool = nullptr;
};

// The ethdev port probed under `device_name` (a vdev name or PCI address).
absl::StatusOr<uint16_t> FindPort(const std::string& device_name);

// Configures `queues` rx/tx pairs and starts the port.
absl::Status StartPort(uint16_t port_id, const QueueConfig& config);

// Stops and closes the port, which returns every mbuf its rings held.
void ClosePort(uint16_t port_id);

net::MacAddress PortMac(uint16_t port_id);

// Makes `mac` the port's address; when the driver cannot, switches the port to
// promiscuous mode so frames for `mac` still arrive (af_packet, some vdevs).
absl::Status UseMac(uint16_t port_id, net::MacAddress mac);

// Whether the port transmits chained (multi-segment) mbufs.
bool PortTakesChains(uint16_t port_id);
// The port's MTU (1500 when it cannot say).
uint32_t PortMtu(uint16_t port_id);

// The MTU the exception TAP's kernel interface gets (tun allows up to 65521):
// the kernel's TCP then hands over segments this big, which the workers cut to
// the wire's MTU (docs/dataplane.md, "Big segments through the exception
// path").
inline constexpr uint32_t kExceptionMtu = 65000;
// The exception TAP's rx descriptors (net_tap reads each frame into a chain
// of that many mbufs); more only where mbufs are too small for a frame in
// that many.
inline constexpr uint16_t kTapRxDescriptors = 64;

// Hot-plugs a net_tap port whose kernel interface `iface` carries `mac`.
// StartPort gives it scattered rx (a frame up to kExceptionMtu arrives as an
// mbuf chain) and raises its kernel interface's MTU to kExceptionMtu.
absl::StatusOr<uint16_t> CreateTap(const std::string& iface, net::MacAddress mac);

// The MTU of the kernel interface behind a port (net_tap); 0 when it has none.
uint32_t KernelMtu(uint16_t port_id);

// The TX offloads (RTE_ETH_TX_OFFLOAD_*) the port was started with.
uint64_t PortTxOffloads(uint16_t port_id);

// Whether the port is a NIC on the PCI bus: it DMAs frames from their mbufs,
// where software ports (af_packet, af_xdp, vhost, memif) copy them.
bool PortIsNic(uint16_t port_id);

// Gives the kernel side of the exception path the appliance's addresses so
// kernel services (HTTP, SSH) bound to them work through the dataplane.
absl::Status AssignKernelAddresses(const std::string& iface,
                                   std::span<const net::Ipv4Interface> addresses);

// Receive Packet Steering on a kernel interface: the kernel's receive work
// for what arrives on `iface` (every rx queue) runs on the CPUs of `mask`
// (CpuMaskHex). Returns how many queues took it; an error when none did.
absl::StatusOr<int> SteerKernelReceive(const std::string& iface, const std::string& mask);

// Frames one receive queue of the port holds: what the driver says, else
// what the vdev `spec`'s arguments say (SpecRxFrames), else `rx_descriptors`.
uint32_t RxQueueFrames(uint16_t port_id, const std::string& spec, uint16_t rx_descriptors);

// Frames the port's receive rings had no room for, read as they grow: the
// driver's count (imissed: NICs', af_xdp's) and, for af_packet, whose driver
// does not count them, the kernel's for each of its ring sockets
// (PACKET_STATISTICS tp_drops, which a read resets).
class RxLoss {
 public:
  RxLoss(uint16_t port_id, std::vector<int> ring_sockets)
      : port_id_(port_id), ring_sockets_(std::move(ring_sockets)) {}
  // Frames lost since the last call (the first: since the port started).
  uint64_t TakeNew();

 private:
  uint16_t port_id_;
  std::vector<int> ring_sockets_;
  uint64_t imissed_seen_ = 0;
};

// Descriptor counts and pool size for `workers` queue pairs on `ports` ports.
uint32_t MbufPoolSize(uint32_t workers, uint32_t ports, uint16_t rx_descriptors,
                      uint16_t tx_descriptors);

}  // namespace stampede::port
