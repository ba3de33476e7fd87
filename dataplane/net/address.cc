#include "dataplane/net/address.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace stampede::net {
namespace {

std::optional<uint32_t> ParseDecimal(absl::string_view text, uint32_t max) {
  uint32_t value = 0;
  if (text.empty() || text.size() > 3) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), ':');
  if (parts.size() != 6) return std::nullopt;
  MacAddress mac;
  for (size_t i = 0; i < 6; ++i) {
    if (parts[i].size() != 2) return std::nullopt;
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + 2, value, 16);
    if (ec != std::errc() || end != parts[i].data() + 2) return std::nullopt;
    mac.octets[i] = static_cast<uint8_t>(value);
  }
  return mac;
}

std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", octets[0], octets[1], octets[2],
                         octets[3], octets[4], octets[5]);
}

std::optional<Ipv4Address> Ipv4Address::Parse(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t value = 0;
  for (absl::string_view part : parts) {
    std::optional<uint32_t> octet = ParseDecimal(part, 255);
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
  }
  return Ipv4Address{value};
}

std::string Ipv4Address::ToString() const {
  return absl::StrFormat("%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                         value & 0xff);
}

std::optional<Ipv4Interface> Ipv4Interface::Parse(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), '/');
  if (parts.size() != 2) return std::nullopt;
  std::optional<Ipv4Address> address =
      Ipv4Address::Parse(std::string_view(parts[0].data(), parts[0].size()));
  std::optional<uint32_t> prefix = ParseDecimal(parts[1], 32);
  if (!address || !prefix) return std::nullopt;
  return Ipv4Interface{*address, static_cast<uint8_t>(*prefix)};
}

std::string Ipv4Interface::ToString() const {
  return absl::StrFormat("%s/%u", address.ToString(), prefix_length);
}

std::string Ipv6Address::ToString() const {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, octets.data(), text, sizeof(text));
  return text;
}

std::optional<std::string> ParseHexBytes(std::string_view text, std::string* why) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  std::string digits;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      if (why != nullptr) *why = "not hex bytes like 01:02:0a or 01020a";
      return std::nullopt;
    }
    digits.push_back(c);
  }
  if (digits.empty() || digits.size() % 2 != 0) {
    if (why != nullptr) *why = "not a whole number of hex bytes";
    return std::nullopt;
  }
  auto nibble = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c))
               ? c - '0'
               : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  std::string bytes;
  for (size_t i = 0; i < digits.size(); i += 2) {
    bytes.push_back(static_cast<char>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
  }
  return bytes;
}

}  // namespace stampede::net
