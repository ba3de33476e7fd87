// A small fixed-size IPv4 -> MAC table, one per worker (no locks), learnt from
// ARP and from received IPv4 frames, so replies can be addressed without asking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "dataplane/net/address.h"

namespace stampede::net {

class NeighbourTable {
 public:
  // Power of two; a boot storm of a few thousand clients per segment fits.
  static constexpr size_t kCapacity = 8192;
  // Linear probing is bounded: past this many slots the oldest entry is replaced.
  static constexpr size_t kProbeLimit = 8;

  // `max_age` is in the same unit as the `now` passed to Learn/Lookup.
  explicit NeighbourTable(uint64_t max_age) : max_age_(max_age) {}

  void Learn(Ipv4Address ip, MacAddress mac, uint64_t now);
  std::optional<MacAddress> Lookup(Ipv4Address ip, uint64_t now) const;
  size_t size() const { return size_; }

 private:
  struct Entry {
    Ipv4Address ip;
    MacAddress mac;
    bool used = false;
    uint64_t learnt = 0;
  };
  static size_t Slot(Ipv4Address ip, size_t probe);

  uint64_t max_age_;
  size_t size_ = 0;
  std::array<Entry, kCapacity> entries_{};
};

}  // namespace stampede::net
