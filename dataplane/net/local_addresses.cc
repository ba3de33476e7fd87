#include "dataplane/net/local_addresses.h"

namespace stampede::net {

bool LocalAddresses::AddIpv4(Ipv4Interface interface) {
  if (ipv4_count_ == kMaxIpv4) return false;
  ipv4_[ipv4_count_++] = interface;
  return true;
}

bool LocalAddresses::IsOurUnicast(Ipv4Address address) const {
  for (const Ipv4Interface& interface : ipv4()) {
    if (interface.address == address) return true;
  }
  return false;
}

bool LocalAddresses::Accepts(Ipv4Address destination) const {
  if (destination.IsLimitedBroadcast() || destination.IsMulticast()) return true;
  for (const Ipv4Interface& interface : ipv4()) {
    if (interface.address == destination) return true;
    if (interface.prefix_length < 31 && interface.SubnetBroadcast() == destination) return true;
  }
  return false;
}

bool LocalAddresses::OnLink(Ipv4Address address) const {
  for (const Ipv4Interface& interface : ipv4()) {
    if (interface.Contains(address)) return true;
  }
  return false;
}

}  // namespace stampede::net
