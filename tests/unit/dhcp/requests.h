// Builds DHCP request payloads for tests: the fixed header, the cookie and
// options written by hand, so the parser under test is not used to make them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/dhcp/message.h"

namespace stampede::dhcp::testing {

struct RequestSpec {
  MessageType type = MessageType::kDiscover;
  uint32_t xid = 0x1234;
  uint8_t mac_last = 1;  // chaddr 02:00:5e:00:00:<mac_last>
  uint16_t flags = 0;
  uint32_t ciaddr = 0;
  uint32_t giaddr = 0;
  // Extra options (code, value), in order, after option 53.
  std::vector<std::pair<uint8_t, std::string>> options;
};

inline std::string U32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
inline std::string U16(uint16_t v) { return {char(v >> 8), char(v)}; }

inline std::vector<std::byte> Request(const RequestSpec& spec) {
  std::vector<std::byte> m(kOptionsOffset, std::byte{0});
  auto put = [&](size_t at, std::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) m[at + i] = std::byte(uint8_t(bytes[i]));
  };
  put(0, std::string{1, 1, 6, 0});
  put(4, U32(spec.xid));
  put(10, U16(spec.flags));
  put(12, U32(spec.ciaddr));
  put(24, U32(spec.giaddr));
  put(28, std::string{0x02, 0x00, 0x5e, 0x00, 0x00, char(spec.mac_last)});
  put(kFixedSize, U32(kMagicCookie));
  auto option = [&](uint8_t code, std::string_view value) {
    m.push_back(std::byte{code});
    m.push_back(std::byte(uint8_t(value.size())));
    for (char c : value) m.push_back(std::byte(uint8_t(c)));
  };
  if (spec.type != MessageType::kNone)
    option(option::kMessageType, std::string(1, char(spec.type)));
  for (const auto& [code, value] : spec.options) option(code, value);
  m.push_back(std::byte{option::kEnd});
  return m;
}

}  // namespace stampede::dhcp::testing
