#include "dataplane/net/neighbour_table.h"

namespace stampede::net {

size_t NeighbourTable::Slot(Ipv4Address ip, size_t probe) {
  // Fibonacci hashing spreads consecutive pool addresses across the table.
  uint32_t hash = ip.value * 2654435769u;
  return (static_cast<size_t>(hash >> 16) + probe) & (kCapacity - 1);
}

void NeighbourTable::Learn(Ipv4Address ip, MacAddress mac, uint64_t now) {
  Entry* victim = nullptr;
  for (size_t probe = 0; probe < kProbeLimit; ++probe) {
    Entry& entry = entries_[Slot(ip, probe)];
    if (entry.used && entry.ip == ip) {
      entry.mac = mac;
      entry.learnt = now;
      return;
    }
    if (!entry.used) {
      if (victim == nullptr || victim->used) victim = &entry;
    } else if (victim == nullptr || (victim->used && entry.learnt < victim->learnt)) {
      victim = &entry;
    }
  }
  if (!victim->used) ++size_;
  *victim = Entry{ip, mac, true, now};
}

std::optional<MacAddress> NeighbourTable::Lookup(Ipv4Address ip, uint64_t now) const {
  for (size_t probe = 0; probe < kProbeLimit; ++probe) {
    const Entry& entry = entries_[Slot(ip, probe)];
    if (entry.used && entry.ip == ip) {
      if (now - entry.learnt > max_age_) return std::nullopt;
      return entry.mac;
    }
  }
  return std::nullopt;
}

}  // namespace stampede::net
