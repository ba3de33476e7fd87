// The appliance's own link and network addresses, as the fast path checks them.
#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "dataplane/net/address.h"

namespace stampede::net {

class LocalAddresses {
 public:
  static constexpr size_t kMaxIpv4 = 8;

  LocalAddresses() = default;
  explicit LocalAddresses(MacAddress mac) : mac_(mac) {}

  // False when kMaxIpv4 addresses are already held.
  bool AddIpv4(Ipv4Interface interface);

  const MacAddress& mac() const { return mac_; }
  std::span<const Ipv4Interface> ipv4() const { return {ipv4_.data(), ipv4_count_}; }

  bool IsOurUnicast(Ipv4Address address) const;
  // Ours, limited broadcast, one of our subnets' broadcast, or multicast.
  bool Accepts(Ipv4Address destination) const;
  // Whether a neighbour at `address` is on one of our links.
  bool OnLink(Ipv4Address address) const;

 private:
  MacAddress mac_;
  std::array<Ipv4Interface, kMaxIpv4> ipv4_{};
  size_t ipv4_count_ = 0;
};

}  // namespace stampede::net
