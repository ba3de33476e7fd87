// Compiles a validated Config into the BootPolicy the dataplane runs: defaults
// applied, addresses parsed, profile references resolved to indexes.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config/loader.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::config {

// Defaults for fields the operator left out.
inline constexpr uint32_t kDefaultLeaseSeconds = 3600;
inline constexpr uint32_t kDefaultTftpBlksize = 1468;  // fits a 1500-byte MTU
inline constexpr uint32_t kDefaultTftpWindowsize = 16;
inline constexpr uint32_t kDefaultHttpPort = 80;
inline constexpr uint32_t kDefaultMaxTftpSessions = 50000;
inline constexpr uint32_t kDefaultDhcpRatePerMac = 20;
inline constexpr uint32_t kDefaultMaxHttpConnections = 4096;

// Validates first: errors are Validate()'s problems, joined by newlines.
// Then catalogues tftp.root (control/catalog/tftp_root.h): a root that
// cannot be read is an error too. What compiles but is not served as written
// (files under the root left out of the catalog) is a warning, in the
// errors' form ("file:line:col: tftp.root: path: why"), appended to
// `warnings` when given: the daemon logs them, `stampede check` prints them.
absl::StatusOr<v1::BootPolicy> Compile(const LoadedConfig& loaded,
                                       std::vector<std::string>* warnings = nullptr);

}  // namespace stampede::config
