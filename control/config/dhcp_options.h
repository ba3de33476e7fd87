// The DHCP options an operator configures (docs/dhcp.md#options): a known
// option by Kea's name ("ntp-servers") or any other by code and type, its
// value written as text ("198.18.0.2, 198.18.0.3"), encoded here into the
// bytes the dataplane sends as they are (RFC 2132 and the RFCs of each).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "stampede/v1/config.pb.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::config {

// An option's encoding, or what is wrong with it. On error `field` names the
// DhcpOption field at fault ("name", "code", "type" or "data").
absl::StatusOr<v1::CompiledOption> EncodeOption(const v1::DhcpOption& option, std::string& field);

// The option's name for messages: its known name, else "option N".
std::string OptionLabel(uint32_t code);

// A host name as option 12 carries it (RFC 1123 §2.1): dot-separated labels
// of letters, digits and hyphens, each 1..63 long, not starting or ending
// with a hyphen; 253 characters at most.
bool IsHostName(std::string_view name);

}  // namespace stampede::config
