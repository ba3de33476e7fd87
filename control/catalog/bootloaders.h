// The boot loaders stampede serves at the TFTP root straight from where
// Debian's packages install them (pxelinux.0 and its modules, shim and
// GRUB, iPXE, memtest86+), so nobody copies them into a TFTP folder by hand.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::catalog {

// One served name and the installed file behind it.
struct BootloaderFile {
  const char* served;     // path at the TFTP root
  const char* installed;  // absolute path the package installs
};

// What one name in `tftp.bootloaders` brings. A bundle is served when its
// `required` files are installed; `optional` ones are added when present.
struct BootloaderBundle {
  const char* name;
  const char* packages;  // the Debian packages to install, for errors
  std::vector<BootloaderFile> required;
  std::vector<BootloaderFile> optional;
  // Every "*.c32" in this folder, served at the root under its own name
  // (PXELINUX looks for its modules beside pxelinux.0); "" for none.
  const char* module_folder = "";
};

// The table: adding a loader is one entry.
const std::vector<BootloaderBundle>& BootloaderBundles();

struct BootloaderScan {
  std::vector<v1::CatalogFile> files;  // sorted by path, unique
  std::vector<std::string> bundles;    // the bundles served
  std::vector<std::string> notes;      // bundles left out, and why
};

// Catalogues the bundles `names` asks for: empty means every bundle that is
// installed (the others are noted), {"none"} means none. A named bundle that
// is not installed, or an unknown name, is an error saying what to install
// or which names exist. `prefix` is prepended to installed paths (tests).
absl::StatusOr<BootloaderScan> ScanBootloaders(const std::vector<std::string>& names,
                                               const std::string& prefix = {});

}  // namespace stampede::catalog
