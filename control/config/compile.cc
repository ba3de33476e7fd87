#include "control/config/compile.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/catalog/bootloaders.h"
#include "control/catalog/images.h"
#include "control/catalog/tftp_root.h"
#include "control/config/dhcp_options.h"
#include "control/config/menus.h"
#include "control/config/validate.h"
#include "dataplane/net/address.h"
#include "dataplane/policy/tables.h"

namespace stampede::config {
namespace {

uint32_t Address(const std::string& text) {
  std::optional<net::Ipv4Address> address = net::Ipv4Address::Parse(std::string_view(text));
  return address ? address->value : 0;
}

uint32_t Seconds(const std::string& text, uint32_t fallback) {
  std::optional<uint64_t> seconds = ParseDurationSeconds(text);
  return seconds ? static_cast<uint32_t>(std::min<uint64_t>(*seconds, UINT32_MAX)) : fallback;
}

uint32_t OrDefault(uint32_t value, uint32_t fallback) { return value != 0 ? value : fallback; }

// Defaults applied, client classes parsed (Validate() checked them), the
// root catalogued; scan problems become `warnings`.
absl::Status CompileTftp(const LoadedConfig& loaded, v1::CompiledTftp& out,
                         std::vector<std::string>* warnings) {
  const v1::Tftp& in = loaded.config.tftp();
  out.set_root(in.root());
  out.set_max_blksize(OrDefault(in.max_blksize(), kDefaultTftpBlksize));
  out.set_max_windowsize(OrDefault(in.max_windowsize(), kDefaultTftpWindowsize));
  out.set_case_insensitive(in.case_insensitive());
  out.set_rollover_to(in.rollover_to());
  for (const v1::TftpClientClass& tftp_class : in.client_classes()) {
    std::optional<net::Ipv4Interface> network =
        net::Ipv4Interface::Parse(std::string_view(tftp_class.network()));
    v1::CompiledTftpClass* compiled = out.add_client_classes();
    compiled->set_network(network->address.value);
    compiled->set_prefix_length(network->prefix_length);
    compiled->set_rollover_to(tftp_class.rollover_to());
    compiled->set_max_blksize(OrDefault(tftp_class.max_blksize(), out.max_blksize()));
    compiled->set_max_windowsize(OrDefault(tftp_class.max_windowsize(), out.max_windowsize()));
  }
  if (in.root().empty()) return absl::OkStatus();
  std::string where = absl::StrCat(loaded.Where("tftp.root"), ": tftp.root: ");
  absl::StatusOr<catalog::TftpRootScan> scan =
      catalog::ScanTftpRoot(in.root(), in.case_insensitive());
  if (!scan.ok()) return absl::InvalidArgumentError(absl::StrCat(where, scan.status().message()));
  for (v1::CatalogFile& file : scan->files) *out.add_files() = std::move(file);
  if (warnings == nullptr) return absl::OkStatus();
  for (const catalog::ScanProblem& problem : scan->problems) {
    warnings->push_back(
        absl::StrCat(where, problem.path.empty() ? "" : problem.path + ": ", problem.what));
  }
  return absl::OkStatus();
}

std::string CatalogKey(const v1::CompiledTftp& tftp, const std::string& path) {
  return tftp.case_insensitive() ? absl::AsciiStrToLower(path) : path;
}

// Adds `files` to the catalog where their path is still free (what is there
// first wins); returns how many were left out for that.
size_t MergeCatalog(v1::CompiledTftp& tftp, std::vector<v1::CatalogFile> files) {
  absl::flat_hash_set<std::string> taken;
  for (const v1::CatalogFile& file : tftp.files()) taken.insert(CatalogKey(tftp, file.path()));
  std::vector<v1::CatalogFile> merged(tftp.files().begin(), tftp.files().end());
  size_t shadowed = 0;
  for (v1::CatalogFile& file : files) {
    if (!taken.insert(CatalogKey(tftp, file.path())).second) {
      ++shadowed;
      // A hand-written file is served as it is, to everyone.
      auto* client_files = tftp.mutable_client_files();
      client_files->erase(std::remove_if(client_files->begin(), client_files->end(),
                                         [&](const v1::ClientFile& c) {
                                           return CatalogKey(tftp, c.path()) ==
                                                  CatalogKey(tftp, file.path());
                                         }),
                          client_files->end());
      continue;
    }
    merged.push_back(std::move(file));
  }
  std::sort(merged.begin(), merged.end(),
            [](const v1::CatalogFile& a, const v1::CatalogFile& b) { return a.path() < b.path(); });
  tftp.clear_files();
  for (v1::CatalogFile& file : merged) *tftp.add_files() = std::move(file);
  return shadowed;
}

// The boot loaders from Debian's packages, where tftp.root has no file of
// the same name.
absl::Status CompileBootloaders(const LoadedConfig& loaded, v1::CompiledTftp& tftp,
                                std::vector<std::string>* warnings) {
  const auto& names = loaded.config.tftp().bootloaders();
  absl::StatusOr<catalog::BootloaderScan> scan =
      catalog::ScanBootloaders(std::vector<std::string>(names.begin(), names.end()));
  if (!scan.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        loaded.Where("tftp.bootloaders"), ": tftp.bootloaders: ", scan.status().message()));
  }
  MergeCatalog(tftp, std::move(scan->files));
  if (warnings != nullptr) {
    for (const std::string& note : scan->notes) warnings->push_back(note);
  }
  return absl::OkStatus();
}

// Adds the images folder's catalog to the TFTP catalog (the root's files
// win a path both have); a bad image is a warning.
absl::Status CompileImages(const LoadedConfig& loaded, v1::CompiledTftp& tftp,
                           std::vector<std::string>* warnings,
                           std::vector<catalog::ImageStatus>& images) {
  const std::string& folder = loaded.config.images().folder();
  if (folder.empty()) return absl::OkStatus();
  std::string where = absl::StrCat(loaded.Where("images.folder"), ": images.folder: ");
  absl::StatusOr<catalog::ImagesScan> scan = catalog::ScanImages(folder);
  if (!scan.ok()) return absl::InvalidArgumentError(absl::StrCat(where, scan.status().message()));
  size_t shadowed = MergeCatalog(tftp, std::move(scan->files));
  if (warnings != nullptr) {
    if (shadowed > 0) {
      warnings->push_back(absl::StrCat(where, shadowed,
                                       " image paths are also under tftp.root: the root's served"));
    }
    for (const catalog::ImageStatus& image : scan->images) {
      if (!image.served) {
        warnings->push_back(absl::StrCat(where, image.name, ".iso: not served: ", image.error));
      } else if (image.warnings > 0) {
        warnings->push_back(absl::StrCat(where, image.name, ".iso: ", image.warnings,
                                         " warnings (stampede images shows them)"));
      }
    }
  }
  images = std::move(scan->images);
  return absl::OkStatus();
}

// shim asks for grubx64.efi at the TFTP root, not beside itself: a profile
// whose UEFI program is a shim in a folder (an image's EFI/BOOT/BOOTX64.EFI)
// gets the grubx64.efi beside it served at the root too, unless tftp.root
// has its own.
void AliasShimGrub(const v1::BootPolicy& policy, const std::set<std::string>& root_paths,
                   v1::CompiledTftp& tftp, std::vector<std::string>* warnings) {
  const std::string alias = "grubx64.efi";
  if (root_paths.contains(CatalogKey(tftp, alias))) return;
  const v1::CatalogFile* chosen = nullptr;
  std::string chosen_for;
  for (const v1::CompiledProfile& profile : policy.profiles()) {
    const std::string& nbp = profile.efi_x64();
    size_t slash = nbp.rfind('/');
    if (slash == std::string::npos) continue;
    std::string sibling = absl::AsciiStrToLower(nbp.substr(0, slash + 1) + alias);
    auto it = std::find_if(tftp.files().begin(), tftp.files().end(), [&](const auto& file) {
      return absl::AsciiStrToLower(file.path()) == sibling;
    });
    if (it == tftp.files().end()) continue;
    if (chosen != nullptr && chosen->path() != it->path()) {
      if (warnings != nullptr) {
        warnings->push_back(absl::StrCat("profile '", profile.name(), "': its shim would ask for ",
                                         alias, " at the TFTP root, which serves ", chosen->path(),
                                         " (for profile '", chosen_for, "')"));
      }
      continue;
    }
    chosen = &*it;
    chosen_for = profile.name();
  }
  if (chosen == nullptr) return;
  v1::CatalogFile file = *chosen;
  file.set_path(alias);
  std::vector<v1::CatalogFile> files;
  for (const v1::CatalogFile& existing : tftp.files()) {
    if (CatalogKey(tftp, existing.path()) != CatalogKey(tftp, alias)) files.push_back(existing);
  }
  tftp.clear_files();
  for (v1::CatalogFile& existing : files) *tftp.add_files() = std::move(existing);
  MergeCatalog(tftp, {std::move(file)});
}

// Whether a UEFI boot file, by its name, is shim or GRUB: Debian's
// bootnetx64.efi (shim), shimx64.efi, grubx64.efi, grubnetx64.efi.signed.
bool IsShimOrGrub(std::string_view path) {
  std::string_view base = path.substr(path.rfind('/') + 1);
  std::string name = absl::AsciiStrToLower(absl::string_view(base.data(), base.size()));
  return name.starts_with("shim") || name.starts_with("bootnet") ||
         name.find("grub") != std::string::npos;
}

// In proxyDHCP mode, GRUB (behind shim or alone) asks the next-server of the
// DHCP server that gave the address for grub.cfg, not the proxy: a UEFI
// profile booting it stops at GRUB's prompt (docs/dhcp.md, proxyDHCP).
void WarnProxyGrub(const LoadedConfig& loaded, std::vector<std::string>* warnings) {
  if (warnings == nullptr || loaded.config.dhcp().mode() != v1::Dhcp::PROXY) return;
  for (int i = 0; i < loaded.config.profiles_size(); ++i) {
    const v1::BootFiles& files = loaded.config.profiles(i).boot_files();
    for (const auto& [field, path] :
         {std::pair<const char*, const std::string&>{"efi_x64", files.efi_x64()},
          {"efi_ia32", files.efi_ia32()},
          {"efi_arm64", files.efi_arm64()}}) {
      if (path.empty() || !IsShimOrGrub(path)) continue;
      std::string where = absl::StrCat("profiles[", i, "].boot_files.", field);
      warnings->push_back(absl::StrCat(
          loaded.Where(where), ": ", where, ": '", path,
          "' is shim or GRUB, which in proxyDHCP mode asks the site DHCP server's next-server "
          "for grub.cfg, not stampede: hand UEFI clients ipxe.efi, or make the site server's "
          "next-server this appliance (docs/dhcp.md, proxyDHCP)"));
    }
  }
}

// Options by code (Validate() checked that they encode); later ones win.
using OptionsByCode = std::map<uint32_t, v1::CompiledOption>;

void Encode(const google::protobuf::RepeatedPtrField<v1::DhcpOption>& options, OptionsByCode& out) {
  for (const v1::DhcpOption& option : options) {
    std::string field;
    absl::StatusOr<v1::CompiledOption> encoded = EncodeOption(option, field);
    if (encoded.ok()) out[encoded->code()] = *std::move(encoded);
  }
}

void Store(const OptionsByCode& options,
           google::protobuf::RepeatedPtrField<v1::CompiledOption>& out) {
  for (const auto& [code, option] : options) *out.Add() = option;  // a map: sorted by code
}

// proxyDHCP replies carry boot fields only: configured options go unsent.
void WarnProxyOptions(const LoadedConfig& loaded, std::vector<std::string>* warnings) {
  const v1::Config& config = loaded.config;
  if (warnings == nullptr || config.dhcp().mode() != v1::Dhcp::PROXY) return;
  std::vector<std::string> paths;
  if (!config.dhcp().options().empty()) paths.push_back("dhcp.options");
  for (int i = 0; i < config.dhcp().subnets_size(); ++i) {
    if (!config.dhcp().subnets(i).options().empty()) {
      paths.push_back(absl::StrCat("dhcp.subnets[", i, "].options"));
    }
  }
  for (int i = 0; i < config.dhcp().classes_size(); ++i) {
    if (!config.dhcp().classes(i).options().empty()) {
      paths.push_back(absl::StrCat("dhcp.classes[", i, "].options"));
    }
  }
  for (int i = 0; i < config.hosts_size(); ++i) {
    if (!config.hosts(i).options().empty()) paths.push_back(absl::StrCat("hosts[", i, "].options"));
  }
  for (const std::string& path : paths) {
    warnings->push_back(absl::StrCat(loaded.Where(path), ": ", path,
                                     ": not sent in proxy mode (proxyDHCP replies carry only the "
                                     "boot fields; the site DHCP server sends options)"));
  }
}

}  // namespace

absl::StatusOr<v1::BootPolicy> Compile(const LoadedConfig& loaded,
                                       std::vector<std::string>* warnings,
                                       std::vector<catalog::ImageStatus>* images) {
  std::vector<std::string> problems = Validate(loaded);
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  const v1::Config& config = loaded.config;
  v1::BootPolicy policy;
  policy.set_source(loaded.file);
  for (const std::string& text : config.dataplane().ipv4()) {
    std::optional<net::Ipv4Interface> interface = net::Ipv4Interface::Parse(std::string_view(text));
    v1::Ipv4Interface* out = policy.add_addresses();
    out->set_address(interface->address.value);
    out->set_prefix_length(interface->prefix_length);
  }

  std::map<std::string, uint32_t> profile_index;
  for (const v1::BootProfile& in : config.profiles()) {
    profile_index[in.name()] = static_cast<uint32_t>(policy.profiles_size() + 1);
    v1::CompiledProfile* out = policy.add_profiles();
    out->set_name(in.name());
    out->set_bios(in.boot_files().bios());
    out->set_efi_ia32(in.boot_files().efi_ia32());
    out->set_efi_x64(in.boot_files().efi_x64());
    out->set_efi_arm64(in.boot_files().efi_arm64());
    out->set_efi_x64_http(in.boot_files().efi_x64_http());
    out->set_efi_arm64_http(in.boot_files().efi_arm64_http());
    out->set_ipxe(in.boot_files().ipxe());
    out->set_kernel(in.kernel());
    *out->mutable_initrds() = in.initrds();
    out->set_cmdline(in.cmdline());
    out->set_image(in.image());
    out->set_menu_title(in.menu_title().empty() ? in.name() : in.menu_title());
    out->set_menu_timeout_seconds(Seconds(in.menu_timeout(), 0));
    out->set_menu_default(in.menu_default());
  }
  auto profile = [&](const std::string& name) -> uint32_t {
    return name.empty() ? 0 : profile_index.at(name);  // Validate() checked it exists
  };

  v1::CompiledDhcp* dhcp = policy.mutable_dhcp();
  dhcp->set_mode(config.dhcp().mode() == v1::Dhcp::PROXY ? v1::CompiledDhcp::PROXY
                                                         : v1::CompiledDhcp::AUTHORITATIVE);
  uint32_t default_lease = Seconds(config.dhcp().lease_time(), kDefaultLeaseSeconds);
  OptionsByCode global_options;
  Encode(config.dhcp().options(), global_options);
  std::map<std::string, int> class_index;  // Validate() checked pools name classes
  for (int i = 0; i < config.dhcp().classes_size(); ++i)
    class_index.emplace(config.dhcp().classes(i).name(), i);
  for (const v1::Subnet& in : config.dhcp().subnets()) {
    std::optional<net::Ipv4Interface> network =
        net::Ipv4Interface::Parse(std::string_view(in.subnet()));
    v1::CompiledSubnet* out = dhcp->add_subnets();
    out->set_network(network->address.value);
    out->set_prefix_length(network->prefix_length);
    std::vector<v1::AddressRange> pools;
    for (const v1::Pool& pool : in.pools()) {
      v1::AddressRange& range = pools.emplace_back();
      range.set_first(Address(pool.first()));
      range.set_last(Address(pool.last()));
      for (const std::string& name : pool.classes()) {
        bool excluded = name.starts_with('!');
        std::string bare = excluded ? name.substr(1) : name;
        if (bare == kKnownClients) {
          excluded ? range.set_deny_known(true) : range.set_allow_known(true);
          continue;
        }
        uint64_t bit = uint64_t{1} << class_index.at(bare);
        if (excluded) {
          range.set_deny_classes(range.deny_classes() | bit);
        } else {
          range.set_allow_classes(range.allow_classes() | bit);
        }
      }
    }
    std::sort(pools.begin(), pools.end(), [](const v1::AddressRange& a, const v1::AddressRange& b) {
      return a.first() < b.first();
    });
    for (v1::AddressRange& range : pools) *out->add_pools() = std::move(range);
    out->set_router(in.router().empty() ? 0 : Address(in.router()));
    for (const std::string& dns : in.dns()) out->add_dns(Address(dns));
    out->set_domain(in.domain());
    out->set_lease_seconds(Seconds(in.lease_time(), default_lease));
    out->set_profile(profile(in.profile()));
    OptionsByCode options = global_options;
    Encode(in.options(), options);
    Store(options, *out->mutable_options());
    out->set_known_clients_only(in.known_clients_only());
  }

  for (const v1::ClientClass& in : config.dhcp().classes()) {
    v1::CompiledClass* out = dhcp->add_classes();
    out->set_name(in.name());
    for (const std::string& text : in.mac()) {
      std::optional<MacPattern> pattern = ParseMacPattern(text);
      v1::MacPattern* compiled = out->add_macs();
      compiled->set_value(pattern->value);
      compiled->set_mask(pattern->mask);
    }
    *out->mutable_vendor_classes() = in.vendor_class();
    *out->mutable_user_classes() = in.user_class();
    std::set<uint32_t> archs;
    for (const std::string& text : in.arch()) {
      std::optional<std::vector<uint32_t>> codes = ParseClientArch(text);
      archs.insert(codes->begin(), codes->end());
    }
    for (uint32_t code : archs) out->add_client_archs(code);
    *out->mutable_circuit_ids() = in.circuit_id();
    *out->mutable_remote_ids() = in.remote_id();
    out->set_profile(profile(in.profile()));
    OptionsByCode options;
    Encode(in.options(), options);
    Store(options, *out->mutable_options());
    out->set_known(in.known());
    out->set_lease_seconds(Seconds(in.lease_time(), 0));
  }

  for (const v1::Host& in : config.hosts()) {
    v1::CompiledHost* out = policy.add_hosts();
    out->set_name(in.name());
    if (std::optional<net::MacAddress> mac = net::MacAddress::Parse(std::string_view(in.mac()))) {
      out->set_mac(std::string(mac->octets.begin(), mac->octets.end()));
    }
    out->set_circuit_id(in.circuit_id());
    out->set_remote_id(in.remote_id());
    if (std::optional<std::string> id = net::ParseHexBytes(in.client_id())) out->set_client_id(*id);
    out->set_ipv4(in.ipv4().empty() ? 0 : Address(in.ipv4()));
    out->set_profile(profile(in.profile()));
    out->set_next_boot(profile(in.next_boot()));
    out->set_lease_seconds(Seconds(in.lease_time(), 0));
    OptionsByCode options;
    Encode(in.options(), options);
    if (!options.contains(12) && IsHostName(in.name())) {
      v1::CompiledOption host_name;
      host_name.set_code(12);
      host_name.set_value(in.name());
      options[12] = std::move(host_name);
    }
    Store(options, *out->mutable_options());
  }

  policy.set_http_port(OrDefault(config.http().port(), kDefaultHttpPort));
  policy.set_ipv6_ra(config.dataplane().ipv6_ra());
  v1::CompiledTftp& tftp = *policy.mutable_tftp();
  if (absl::Status status = CompileTftp(loaded, tftp, warnings); !status.ok()) return status;
  std::set<std::string> root_paths;
  for (const v1::CatalogFile& file : tftp.files()) root_paths.insert(CatalogKey(tftp, file.path()));
  if (absl::Status status = CompileBootloaders(loaded, tftp, warnings); !status.ok()) {
    return status;
  }
  std::vector<catalog::ImageStatus> image_statuses;
  if (absl::Status status = CompileImages(loaded, tftp, warnings, image_statuses); !status.ok()) {
    return status;
  }
  AliasShimGrub(policy, root_paths, tftp, warnings);
  WarnProxyGrub(loaded, warnings);
  WarnProxyOptions(loaded, warnings);
  absl::StatusOr<std::vector<v1::CatalogFile>> menus =
      GenerateMenus(loaded, image_statuses, policy, warnings);
  if (!menus.ok()) return menus.status();
  size_t hand_written = MergeCatalog(tftp, *std::move(menus));
  if (hand_written > 0 && warnings != nullptr) {
    warnings->push_back(absl::StrCat(loaded.Where("tftp.root"), ": tftp.root: ", hand_written,
                                     " generated menu files are also under tftp.root: the "
                                     "root's served"));
  }
  if (images != nullptr) *images = std::move(image_statuses);
  v1::CompiledLimits* limits = policy.mutable_limits();
  limits->set_max_tftp_sessions(
      OrDefault(config.limits().max_tftp_sessions(), kDefaultMaxTftpSessions));
  limits->set_dhcp_rate_per_mac(
      OrDefault(config.limits().dhcp_rate_per_mac(), kDefaultDhcpRatePerMac));
  limits->set_max_http_connections(
      OrDefault(config.limits().max_http_connections(), kDefaultMaxHttpConnections));
  // What control publishes is exactly what the dataplane accepts: a policy
  // failing the dataplane's own checks is a compiler bug, never published.
  if (absl::Status status = policy::CheckPolicy(policy); !status.ok()) {
    return absl::InternalError(
        absl::StrCat("compiled policy fails the dataplane's checks: ", status.message()));
  }
  return policy;
}

}  // namespace stampede::config
