// The boot menus a compiled policy serves: from the profiles (and what
// detection found in their images) to PXELINUX configs, GRUB configs and
// iPXE scripts, as generated catalog files, under the names each loader asks
// for (docs/images.md#generated-menus).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/catalog/images.h"
#include "control/config/loader.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::config {

// Hosts or subnets beyond this many get no file of their own in the
// PXELINUX lookup cascade and no line in GRUB's dispatch (the menus still
// reach them through DHCP option 209 and the iPXE URL); said in a warning.
inline constexpr size_t kMaxMenuDispatch = 4096;

// Fills each profile's pxelinux_config / ipxe_script fields in `policy` (its
// profiles, hosts, subnets, addresses and http_port compiled already) and
// returns the files to serve, sorted by path. An image a profile names that
// is not served leaves that entry out (a warning); answer-file fields the
// image's installer does not take are an error naming the field.
absl::StatusOr<std::vector<v1::CatalogFile>> GenerateMenus(
    const LoadedConfig& loaded, const std::vector<catalog::ImageStatus>& images,
    v1::BootPolicy& policy, std::vector<std::string>* warnings);

}  // namespace stampede::config
