// Compiles a validated Config into the BootPolicy the dataplane runs: defaults
// applied, addresses parsed, profile references resolved to indexes.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/catalog/images.h"
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
// The images folder (images.folder) is read the same way
// (control/catalog/images.h): a folder that cannot be read is an error, a
// bad image a warning; each image's status goes to `images` when given.
absl::StatusOr<v1::BootPolicy> Compile(const LoadedConfig& loaded,
                                       std::vector<std::string>* warnings = nullptr,
                                       std::vector<catalog::ImageStatus>* images = nullptr);

}  // namespace stampede::config
