#include "dataplane/port/port.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "absl/strings/str_cat.h"
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
  if (int rc = rte_eth_dev_configure(port_id, config.queues, config.queues, &conf); rc != 0) {
    return DpdkError("configure", rc);
  }
  uint16_t rx = config.rx_descriptors, tx = config.tx_descriptors;
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

uint32_t PortMtu(uint16_t port_id) {
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id, &mtu) != 0 || mtu < 576) return 1500;
  return mtu;
}

}  // namespace stampede::port
