#include "control/catalog/bootloaders.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dataplane/policy/tables.h"

namespace stampede::catalog {
namespace {

// A folder of PXELINUX modules holds about a hundred; more means a wrong
// folder, not a bigger syslinux.
constexpr size_t kMaxModules = 512;

std::optional<v1::CatalogFile> Catalogue(const std::string& served, const std::string& installed) {
  char real[PATH_MAX];
  if (realpath(installed.c_str(), real) == nullptr) return std::nullopt;
  struct stat st {};
  if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  v1::CatalogFile file;
  file.set_path(served);
  file.set_source(real);
  file.set_offset(0);
  file.set_length(static_cast<uint64_t>(st.st_size));
  policy::SetFileIdentity(st, file);
  return file;
}

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

std::vector<std::string> Modules(const std::string& folder) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, DirCloser> dir(opendir(folder.c_str()));
  if (!dir) return names;
  while (dirent* entry = readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name.size() > 4 && name.ends_with(".c32") && name.find('/') == std::string_view::npos) {
      names.emplace_back(name);
      if (names.size() == kMaxModules) break;
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The bundle's files, or why it cannot be served (a required file missing).
absl::StatusOr<std::vector<v1::CatalogFile>> ScanBundle(const BootloaderBundle& bundle,
                                                        const std::string& prefix) {
  std::vector<v1::CatalogFile> files;
  for (const BootloaderFile& wanted : bundle.required) {
    std::string installed = absl::StrCat(prefix, wanted.installed);
    std::optional<v1::CatalogFile> file = Catalogue(wanted.served, installed);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat(installed, " is missing (install ", bundle.packages, ")"));
    }
    files.push_back(*std::move(file));
  }
  for (const BootloaderFile& wanted : bundle.optional) {
    std::optional<v1::CatalogFile> file =
        Catalogue(wanted.served, absl::StrCat(prefix, wanted.installed));
    if (file) files.push_back(*std::move(file));
  }
  if (*bundle.module_folder != '\0') {
    std::string folder = absl::StrCat(prefix, bundle.module_folder);
    for (const std::string& name : Modules(folder)) {
      std::optional<v1::CatalogFile> file = Catalogue(name, absl::StrCat(folder, "/", name));
      if (file) files.push_back(*std::move(file));
    }
  }
  return files;
}

}  // namespace

const std::vector<BootloaderBundle>& BootloaderBundles() {
  static const auto* bundles = new std::vector<BootloaderBundle>{
      {.name = "pxelinux",
       .packages = "pxelinux and syslinux-common",
       .required = {{"pxelinux.0", "/usr/lib/PXELINUX/pxelinux.0"},
                    {"ldlinux.c32", "/usr/lib/syslinux/modules/bios/ldlinux.c32"}},
       .optional = {{"lpxelinux.0", "/usr/lib/PXELINUX/lpxelinux.0"}},
       .module_folder = "/usr/lib/syslinux/modules/bios"},
      // shim asks for grubx64.efi at the TFTP root, not beside itself, and
      // Debian's netboot GRUB then reads grub/grub.cfg (its prefix is /grub).
      {.name = "grub-efi",
       .packages = "shim-signed and grub-efi-amd64-signed",
       .required = {{"bootnetx64.efi", "/usr/lib/shim/shimx64.efi.signed"},
                    {"grubx64.efi", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"}},
       .optional = {{"mmx64.efi", "/usr/lib/shim/mmx64.efi.signed"}}},
      {.name = "ipxe",
       .packages = "ipxe",
       .required = {{"undionly.kpxe", "/usr/lib/ipxe/undionly.kpxe"},
                    {"ipxe.efi", "/usr/lib/ipxe/ipxe.efi"}},
       .optional = {{"snponly.efi", "/usr/lib/ipxe/snponly.efi"},
                    {"ipxe.pxe", "/usr/lib/ipxe/ipxe.pxe"}}},
      {.name = "memtest86+",
       .packages = "memtest86+",
       .required = {{"memtest86+x64.bin", "/boot/memtest86+x64.bin"}},
       .optional = {{"memtest86+x64.efi", "/boot/memtest86+x64.efi"}}},
  };
  return *bundles;
}

absl::StatusOr<BootloaderScan> ScanBootloaders(const std::vector<std::string>& names,
                                               const std::string& prefix) {
  BootloaderScan scan;
  if (names.size() == 1 && names.front() == "none") return scan;
  const std::vector<BootloaderBundle>& bundles = BootloaderBundles();
  std::vector<const BootloaderBundle*> wanted;
  for (const std::string& name : names) {
    auto it = std::find_if(bundles.begin(), bundles.end(),
                           [&](const BootloaderBundle& bundle) { return name == bundle.name; });
    if (it == bundles.end()) {
      std::vector<std::string> known;
      for (const BootloaderBundle& bundle : bundles) known.push_back(bundle.name);
      return absl::InvalidArgumentError(absl::StrCat("no boot loader named '", name,
                                                     "' (known: ", absl::StrJoin(known, ", "),
                                                     ", or none alone)"));
    }
    if (std::find(wanted.begin(), wanted.end(), &*it) == wanted.end()) wanted.push_back(&*it);
  }
  bool all = wanted.empty();
  if (all) {
    for (const BootloaderBundle& bundle : bundles) wanted.push_back(&bundle);
  }
  absl::flat_hash_set<std::string> taken;
  for (const BootloaderBundle* bundle : wanted) {
    absl::StatusOr<std::vector<v1::CatalogFile>> files = ScanBundle(*bundle, prefix);
    if (!files.ok()) {
      if (!all) {
        return absl::NotFoundError(
            absl::StrCat("boot loader '", bundle->name, "': ", files.status().message()));
      }
      scan.notes.push_back(
          absl::StrCat("boot loader '", bundle->name, "' not served: ", files.status().message()));
      continue;
    }
    scan.bundles.emplace_back(bundle->name);
    for (v1::CatalogFile& file : *files) {
      if (taken.insert(file.path()).second) scan.files.push_back(std::move(file));
    }
  }
  std::sort(scan.files.begin(), scan.files.end(),
            [](const v1::CatalogFile& a, const v1::CatalogFile& b) { return a.path() < b.path(); });
  return scan;
}

}  // namespace stampede::catalog
