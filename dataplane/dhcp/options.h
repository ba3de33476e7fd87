// DHCPv4 option codes (RFC 2132 unless noted), and which of them the server
// sets itself, so that an operator's options (docs/dhcp.md#options) never
// replace them. Header-only: the policy checks (dataplane/policy) use it too.
#pragma once

#include <cstdint>

namespace stampede::dhcp {

// Option codes used by the server (RFC 2132 unless noted).
namespace option {
inline constexpr uint8_t kPad = 0;
inline constexpr uint8_t kSubnetMask = 1;
inline constexpr uint8_t kRouter = 3;
inline constexpr uint8_t kDns = 6;
inline constexpr uint8_t kHostName = 12;
inline constexpr uint8_t kDomainName = 15;
inline constexpr uint8_t kBroadcastAddress = 28;
inline constexpr uint8_t kVendorSpecific = 43;
inline constexpr uint8_t kRequestedAddress = 50;
inline constexpr uint8_t kLeaseTime = 51;
inline constexpr uint8_t kOverload = 52;
inline constexpr uint8_t kMessageType = 53;
inline constexpr uint8_t kServerId = 54;
inline constexpr uint8_t kParameterList = 55;
inline constexpr uint8_t kMessage = 56;
inline constexpr uint8_t kMaxMessageSize = 57;
inline constexpr uint8_t kRenewalTime = 58;
inline constexpr uint8_t kRebindingTime = 59;
inline constexpr uint8_t kVendorClass = 60;
inline constexpr uint8_t kClientId = 61;
inline constexpr uint8_t kTftpServer = 66;
inline constexpr uint8_t kBootfileName = 67;
inline constexpr uint8_t kUserClass = 77;            // RFC 3004
inline constexpr uint8_t kClientFqdn = 81;           // RFC 4702
inline constexpr uint8_t kRelayAgentInfo = 82;       // RFC 3046
inline constexpr uint8_t kClientArch = 93;           // RFC 4578
inline constexpr uint8_t kClientNdi = 94;            // RFC 4578
inline constexpr uint8_t kClientUuid = 97;           // RFC 4578
inline constexpr uint8_t kSubnetSelection = 118;     // RFC 3011
inline constexpr uint8_t kIpxeEncap = 175;           // iPXE's own option space
inline constexpr uint8_t kPxelinuxConfigFile = 209;  // RFC 5071
inline constexpr uint8_t kEnd = 255;

// Options the server writes from its own state or the request, or that are
// the protocol's own (message type, lease times, boot fields, relay and PXE
// options): an operator's option may not carry these codes. 1, 3, 6 and 15
// come from the subnet's `subnet`, `router`, `dns` and `domain`.
constexpr bool ServerOwned(uint8_t code) {
  switch (code) {
    case kPad:
    case kSubnetMask:
    case kRouter:
    case kDns:
    case kDomainName:
    case kVendorSpecific:
    case kRequestedAddress:
    case kLeaseTime:
    case kOverload:
    case kMessageType:
    case kServerId:
    case kParameterList:
    case kMessage:
    case kMaxMessageSize:
    case kRenewalTime:
    case kRebindingTime:
    case kVendorClass:
    case kClientId:
    case kTftpServer:
    case kBootfileName:
    case kUserClass:
    case kClientFqdn:
    case kRelayAgentInfo:
    case kClientArch:
    case kClientNdi:
    case kClientUuid:
    case kSubnetSelection:
    case kIpxeEncap:
    case kPxelinuxConfigFile:
    case kEnd:
      return true;
    default:
      return false;
  }
}
}  // namespace option

}  // namespace stampede::dhcp
