// Value types for Ethernet MAC and IPv4 addresses, with parsing and formatting
// for flags, logs and tests.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/net/bytes.h"

namespace stampede::net {

struct MacAddress {
  std::array<uint8_t, 6> octets{};

  static constexpr MacAddress Broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  // Callers check `offset + 6 <= bytes.size()`, as for the other loads.
  static MacAddress Load(ConstByteSpan bytes, size_t offset) {
    MacAddress mac;
    std::memcpy(mac.octets.data(), bytes.data() + offset, mac.octets.size());
    return mac;
  }
  void Store(ByteSpan bytes, size_t offset) const {
    std::memcpy(bytes.data() + offset, octets.data(), octets.size());
  }
  // "02:00:5e:10:00:01"; nullopt on anything else.
  static std::optional<MacAddress> Parse(std::string_view text);
  std::string ToString() const;

  // The 48 bits as one integer, for hash-table keys.
  uint64_t Key() const {
    uint64_t key = 0;
    for (uint8_t b : octets) key = key << 8 | b;
    return key;
  }
  bool IsBroadcast() const { return *this == Broadcast(); }
  bool IsMulticast() const { return (octets[0] & 0x01) != 0; }  // includes broadcast
  bool IsZero() const { return *this == MacAddress{}; }
  auto operator<=>(const MacAddress&) const = default;
};

// The netmask of a prefix length (0..32), host order.
constexpr uint32_t PrefixMask(uint32_t prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

struct Ipv4Address {
  uint32_t value = 0;  // host byte order

  static Ipv4Address Load(ConstByteSpan bytes, size_t offset) { return {Load32(bytes, offset)}; }
  void Store(ByteSpan bytes, size_t offset) const { Store32(bytes, offset, value); }
  // Dotted quad, exactly four decimal octets; nullopt on anything else.
  static std::optional<Ipv4Address> Parse(std::string_view text);
  std::string ToString() const;

  bool IsLimitedBroadcast() const { return value == 0xffffffffu; }
  bool IsMulticast() const { return (value >> 28) == 0xe; }
  bool IsZero() const { return value == 0; }
  auto operator<=>(const Ipv4Address&) const = default;
};

// An interface address with its prefix: "198.18.0.1/24".
struct Ipv4Interface {
  Ipv4Address address;
  uint8_t prefix_length = 32;

  static std::optional<Ipv4Interface> Parse(std::string_view text);
  std::string ToString() const;
  uint32_t Netmask() const { return PrefixMask(prefix_length); }
  Ipv4Address SubnetBroadcast() const { return {address.value | ~Netmask()}; }
  bool Contains(Ipv4Address other) const {
    return (other.value & Netmask()) == (address.value & Netmask());
  }
  auto operator<=>(const Ipv4Interface&) const = default;
};

}  // namespace stampede::net
