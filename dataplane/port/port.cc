#include "dataplane/port/port.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "absl/strings/str_cat.h"
#include "dataplane/port/log.h"
#include "dataplane/port/options.h"
#include "dataplane/port/worker.h"

namespace stampede::port {
namespace {

absl::Status DpdkError(absl::string_view what, int rc) {
  return absl::InternalError(absl::StrCat(what, ": ", rte_strerror(rc < 0 ? -rc : rc)));
}

absl::Status SetAddress(int fd, const std::string& label, unsigned long request, uint32_t value) {
  ifreq req{};
  std::strncpy(req.ifr_name, label.c_str(), IFNAMSIZ - 1);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(value);
  std::memcpy(&req.ifr_addr, &sin, sizeof(sin));
  if (ioctl(fd, request, &req) != 0) {
    return absl::InternalError(absl::StrCat("configuring ", label, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// What StartPort configured (rte_eth_dev_conf_get is experimental in 22.11).
std::array<uint64_t, RTE_MAX_ETHPORTS> started_tx_offloads{};

bool IsTap(const rte_eth_dev_info& info) {
  return info.driver_name != nullptr && absl::string_view(info.driver_name) == "net_tap";
}

bool OnPciBus(const rte_eth_dev_info& info) {
  const rte_bus* bus = info.device == nullptr ? nullptr : rte_dev_bus(info.device);
  return bus != nullptr && absl::string_view(rte_bus_name(bus)) == "pci";
}

// Rx descriptors of the exception TAP: net_tap reads one frame per readv()
// into a chain of as many mbufs as it has descriptors (and hands the kernel
// an iovec per descriptor each time), so enough for a kExceptionMtu frame and
// not many more.
uint16_t TapRxDescriptors(uint16_t wanted, rte_mempool* pool) {
  uint32_t room = pool == nullptr ? 0 : rte_pktmbuf_data_room_size(pool);
  room = room > RTE_PKTMBUF_HEADROOM ? room - RTE_PKTMBUF_HEADROOM : 1;
  uint32_t needed = (kExceptionMtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN) / room + 2;
  return static_cast<uint16_t>(
      std::min<uint32_t>(wanted, std::max<uint32_t>(needed, kTapRxDescriptors)));
}

int InterfaceIoctl(unsigned int if_index, unsigned long request, ifreq& req) {
  if (if_indextoname(if_index, req.ifr_name) == nullptr) return -1;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = ioctl(fd, request, &req);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

// The exception TAP's kernel side takes frames up to kExceptionMtu. ethdev
// checks an MTU against the frame size the driver advertises, 1522 bytes for
// net_tap (DPDK 22.11) though its kernel interface takes more: then the
// kernel interface's MTU is set directly.
void RaiseTapMtu(uint16_t port_id, const rte_eth_dev_info& info) {
  uint32_t frame = kExceptionMtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  if (info.max_rx_pktlen >= frame && rte_eth_dev_set_mtu(port_id, kExceptionMtu) == 0) return;
  ifreq req{};
  req.ifr_mtu = static_cast<int>(kExceptionMtu);
  if (InterfaceIoctl(info.if_index, SIOCSIFMTU, req) != 0) {
    Log(LogLevel::kWarning, absl::StrCat("event=exception_mtu_unchanged port=", port_id, " mtu=",
                                         kExceptionMtu, " error=\"", std::strerror(errno), "\""));
  }
}

}  // namespace

absl::StatusOr<uint16_t> FindPort(const std::string& device_name) {
  uint16_t port_id = 0;
  if (rte_eth_dev_get_port_by_name(device_name.c_str(), &port_id) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "no DPDK port named '", device_name,
        "': check the --port spec (driver loaded? interface exists? PCI device bound to vfio?)"));
  }
  return port_id;
}

absl::Status StartPort(uint16_t port_id, const QueueConfig& config) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) return DpdkError("dev_info", rc);
  if (info.max_rx_queues < config.queues || info.max_tx_queues < config.queues) {
    return absl::InvalidArgumentError(
        absl::StrCat("port ", port_id, " has ", info.max_rx_queues, " rx / ", info.max_tx_queues,
                     " tx queues but ", config.queues,
                     " workers need one each (for net_af_packet add qpairs=N to --port)"));
  }
  rte_eth_conf conf{};
  if (config.queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
  }
  // Chained frames (TFTP DATA: headers + a block cache segment) where the
  // port takes them.
  conf.txmode.offloads = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  bool tap = IsTap(info);
  if (tap) {
    // The exception path: the kernel's big frames arrive as mbuf chains.
    conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
  } else if (OnPciBus(info)) {
    // A NIC cuts and checksums the kernel's big TCP segments itself. Only
    // NICs: vdevs that advertise these (net_vhost, net_tap) do the work in
    // software or leave it to a guest that may not have negotiated it.
    conf.txmode.offloads |=
        info.tx_offload_capa &
        (RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
  }
  if (int rc = rte_eth_dev_configure(port_id, config.queues, config.queues, &conf); rc != 0) {
    return DpdkError("configure", rc);
  }
  uint16_t rx = tap ? TapRxDescriptors(config.rx_descriptors, config.pool) : config.rx_descriptors;
  uint16_t tx = config.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx, &tx); rc != 0) {
    return DpdkError("adjust descriptors", rc);
  }
  int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < config.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rx, socket, nullptr, config.pool); rc != 0) {
      return DpdkError("rx queue setup", rc);
    }
    if (int rc = rte_eth_tx_queue_setup(port_id, q, tx, socket, nullptr); rc != 0) {
      return DpdkError("tx queue setup", rc);
    }
  }
  if (int rc = rte_eth_dev_start(port_id); rc != 0) return DpdkError("start", rc);
  if (port_id < started_tx_offloads.size()) started_tx_offloads[port_id] = conf.txmode.offloads;
  if (tap && (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0) RaiseTapMtu(port_id, info);
  return absl::OkStatus();
}

void ClosePort(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

net::MacAddress PortMac(uint16_t port_id) {
  rte_ether_addr addr{};
  rte_eth_macaddr_get(port_id, &addr);
  net::MacAddress mac;
  std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), mac.octets.begin());
  return mac;
}

absl::Status UseMac(uint16_t port_id, net::MacAddress mac) {
  if (PortMac(port_id) == mac) return absl::OkStatus();
  rte_ether_addr addr{};
  std::copy(mac.octets.begin(), mac.octets.end(), addr.addr_bytes);
  if (rte_eth_dev_default_mac_addr_set(port_id, &addr) == 0) return absl::OkStatus();
  if (int rc = rte_eth_promiscuous_enable(port_id); rc != 0) {
    return DpdkError(absl::StrCat("port cannot take MAC ", mac.ToString(), " nor go promiscuous"),
                     rc);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint16_t> CreateTap(const std::string& iface, net::MacAddress mac) {
  std::string name = absl::StrCat("net_tap_", iface);
  std::string devargs = absl::StrCat(name, ",iface=", iface, ",mac=", mac.ToString());
  if (int rc = rte_dev_probe(devargs.c_str()); rc != 0) {
    return DpdkError(absl::StrCat("creating exception TAP ", iface), rc);
  }
  return FindPort(name);
}

absl::Status AssignKernelAddresses(const std::string& iface,
                                   std::span<const net::Ipv4Interface> addresses) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  absl::Status status;
  for (size_t i = 0; i < addresses.size() && status.ok(); ++i) {
    // Extra addresses go on alias labels, the one form the ioctl interface has.
    std::string label = i == 0 ? iface : absl::StrCat(iface, ":", i);
    status = SetAddress(fd, label, SIOCSIFADDR, addresses[i].address.value);
    if (status.ok()) status = SetAddress(fd, label, SIOCSIFNETMASK, addresses[i].Netmask());
  }
  close(fd);
  return status;
}

absl::StatusOr<int> SteerKernelReceive(const std::string& iface, const std::string& mask) {
  std::string queues = absl::StrCat("/sys/class/net/", iface, "/queues");
  std::error_code error;
  int steered = 0;
  for (const auto& entry : std::filesystem::directory_iterator(queues, error)) {
    if (!entry.path().filename().string().starts_with("rx-")) continue;
    std::ofstream out(entry.path() / "rps_cpus");
    out << mask << "\n";
    out.flush();
    if (out) ++steered;
  }
  if (steered == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("no rx queue of ", iface, " took rps_cpus ", mask,
                     error ? absl::StrCat(": ", error.message()) : std::string()));
  }
  return steered;
}

uint64_t RxLoss::TakeNew() {
  uint64_t lost = 0;
  rte_eth_stats stats{};
  if (rte_eth_stats_get(port_id_, &stats) == 0 && stats.imissed >= imissed_seen_) {
    lost += stats.imissed - imissed_seen_;
    imissed_seen_ = stats.imissed;
  }
  for (int fd : ring_sockets_) {
    tpacket_stats counts{};
    socklen_t length = sizeof(counts);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &counts, &length) == 0) {
      lost += counts.tp_drops;
    }
  }
  return lost;
}

uint32_t RxQueueFrames(uint16_t port_id, const std::string& spec, uint16_t rx_descriptors) {
  rte_eth_rxq_info info{};
  if (rte_eth_rx_queue_info_get(port_id, 0, &info) == 0 && info.nb_desc > 0) return info.nb_desc;
  if (uint32_t frames = SpecRxFrames(spec); frames > 0) return frames;
  return rx_descriptors;
}

uint32_t MbufPoolSize(uint32_t workers, uint32_t ports, uint16_t rx_descriptors,
                      uint16_t tx_descriptors) {
  // Every descriptor may hold an mbuf, every worker may hold a burst per port in
  // flight, and each lcore's mempool cache may park its share.
  uint64_t needed = uint64_t{workers} * ports * (rx_descriptors + tx_descriptors) +
                    uint64_t{workers} * ports * kBurstSize * 2 +
                    uint64_t{workers + 1} * kMbufCacheSize + 1024;
  uint32_t size = 1;
  while (size - 1 < needed) size <<= 1;  // mempools are most efficient at 2^n - 1
  return size - 1;
}

bool PortTakesChains(uint16_t port_id) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id, &info) != 0) return false;
  return (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
}

uint32_t KernelMtu(uint16_t port_id) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id, &info) != 0 || info.if_index == 0) return 0;
  ifreq req{};
  if (InterfaceIoctl(info.if_index, SIOCGIFMTU, req) != 0 || req.ifr_mtu <= 0) return 0;
  return static_cast<uint32_t>(req.ifr_mtu);
}

uint64_t PortTxOffloads(uint16_t port_id) {
  return port_id < started_tx_offloads.size() ? started_tx_offloads[port_id] : 0;
}

bool PortIsNic(uint16_t port_id) {
  rte_eth_dev_info info{};
  return rte_eth_dev_info_get(port_id, &info) == 0 && OnPciBus(info);
}

uint32_t PortMtu(uint16_t port_id) {
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id, &mtu) != 0 || mtu < 576) return 1500;
  return mtu;
}

}  // namespace stampede::port
