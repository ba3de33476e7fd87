// Value types for Ethernet MAC, IPv4 and IPv6 addresses, with parsing and
// formatting for flags, logs and tests.
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

// An IPv6 address, network order, as the wire carries it. The dataplane only
// answers router solicitations (dataplane/net/ndp.h), so it needs no more.
struct Ipv6Address {
  std::array<uint8_t, 16> octets{};

  static Ipv6Address Load(ConstByteSpan bytes, size_t offset) {
    Ipv6Address address;
    std::memcpy(address.octets.data(), bytes.data() + offset, address.octets.size());
    return address;
  }
  void Store(ByteSpan bytes, size_t offset) const {
    std::memcpy(bytes.data() + offset, octets.data(), octets.size());
  }
  // RFC 4291 §2.7.1: ff02::1, every node on the link.
  static constexpr Ipv6Address AllNodes() {
    return {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};
  }
  // RFC 4291 §2.7.1: ff02::2, every router on the link.
  static constexpr Ipv6Address AllRouters() {
    return {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}};
  }
  // RFC 4291 §2.5.6 and appendix A: fe80:: with the modified EUI-64 of `mac`.
  static constexpr Ipv6Address LinkLocal(const MacAddress& mac) {
    const auto& m = mac.octets;
    return {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(m[0] ^ 0x02), m[1], m[2], 0xff,
             0xfe, m[3], m[4], m[5]}};
  }
  // The Ethernet group an IPv6 multicast goes to (RFC 2464 §7): 33:33 and
  // the address's last 32 bits.
  MacAddress MulticastMac() const {
    return {{0x33, 0x33, octets[12], octets[13], octets[14], octets[15]}};
  }
  bool IsUnspecified() const { return *this == Ipv6Address{}; }
  bool IsMulticast() const { return octets[0] == 0xff; }
  bool IsLinkLocalUnicast() const { return octets[0] == 0xfe && (octets[1] & 0xc0) == 0x80; }
  // RFC 5952 text ("fe80::200:5eff:fe10:1"), for logs and tests.
  std::string ToString() const;
  auto operator<=>(const Ipv6Address&) const = default;
};

// Hex bytes as an operator writes them ("01:02:0a", "01020a", "0x01020a",
// "01 02 0a"); nullopt unless a whole number of them, at least one, and
// then `why` (if given) says what is wrong: "not hex bytes like ...".
std::optional<std::string> ParseHexBytes(std::string_view text, std::string* why = nullptr);

}  // namespace stampede::net
