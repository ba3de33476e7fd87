#include "dataplane/policy/tables.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "dataplane/dhcp/options.h"
#include "dataplane/net/address.h"
#include "dataplane/tftp/message.h"

namespace stampede::policy {
namespace {

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

using net::PrefixMask;

// CheckPolicy has made sure a host's MAC is 6 bytes.
uint64_t MacKey(const std::string& bytes) {
  return net::MacAddress::Load({reinterpret_cast<const std::byte*>(bytes.data()), 6}, 0).Key();
}

// A path inside a root: relative or absolute, never a ".." component.
bool ClimbsOut(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

absl::Status CheckProfileRef(uint32_t profile, const v1::BootPolicy& policy,
                             const std::string& where) {
  if (profile > static_cast<uint32_t>(policy.profiles_size())) {
    return Bad(where, absl::StrCat("profile ", profile, " of ", policy.profiles_size()));
  }
  return absl::OkStatus();
}

// Sorted by code and unique: the server takes the first match.
absl::Status CheckOptions(const google::protobuf::RepeatedPtrField<v1::CompiledOption>& options,
                          const std::string& where) {
  uint32_t previous = 0;
  for (const v1::CompiledOption& option : options) {
    uint32_t code = option.code();
    if (code == 0 || code > 254 || dhcp::option::ServerOwned(static_cast<uint8_t>(code))) {
      return Bad(where, absl::StrCat("option ", code, " may not be configured"));
    }
    if (code <= previous) return Bad(where, "options unsorted or repeated");
    if (option.value().size() > kMaxOptionBytes) {
      return Bad(where, absl::StrCat("option ", code, " longer than ", kMaxOptionBytes, " bytes"));
    }
    previous = code;
  }
  return absl::OkStatus();
}

absl::Status CheckSubnet(const v1::CompiledSubnet& subnet, const v1::BootPolicy& policy,
                         const std::string& where) {
  if (subnet.prefix_length() > 32) return Bad(where, "prefix length over 32");
  uint32_t mask = PrefixMask(subnet.prefix_length());
  if ((subnet.network() & ~mask) != 0) return Bad(where, "network has host bits set");
  if (subnet.lease_seconds() == 0) return Bad(where, "lease time 0");
  uint64_t previous_last = 0;
  bool first_pool = true;
  int classes = policy.dhcp().classes_size();  // bits a pool may name
  uint64_t present = classes >= 64 ? ~uint64_t{0} : (uint64_t{1} << classes) - 1;
  for (const v1::AddressRange& pool : subnet.pools()) {
    if (pool.first() > pool.last()) return Bad(where, "pool reversed");
    if ((pool.first() & mask) != subnet.network() || (pool.last() & mask) != subnet.network()) {
      return Bad(where, "pool outside its subnet");
    }
    if (!first_pool && pool.first() <= previous_last) {
      return Bad(where, "pools unsorted or overlapping");
    }
    if (((pool.allow_classes() | pool.deny_classes()) & ~present) != 0) {
      return Bad(where, "pool names a class the policy does not have");
    }
    if ((pool.allow_classes() & pool.deny_classes()) != 0 ||
        (pool.allow_known() && pool.deny_known())) {
      return Bad(where, "pool both wants and keeps out a class");
    }
    previous_last = pool.last();
    first_pool = false;
  }
  if (absl::Status status = CheckOptions(subnet.options(), where); !status.ok()) return status;
  return CheckProfileRef(subnet.profile(), policy, where);
}

// Each item of a class's byte matchers: 1..255 bytes, what one option (or
// sub-option) can hold.
absl::Status CheckMatchBytes(const google::protobuf::RepeatedPtrField<std::string>& items,
                             const std::string& where, const char* what) {
  for (const std::string& item : items) {
    if (item.empty() || item.size() > 255) {
      return Bad(where, absl::StrCat(what, " is not 1 to 255 bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckClass(const v1::CompiledClass& c, const v1::BootPolicy& policy,
                        const std::string& where) {
  if (c.macs().empty() && c.vendor_classes().empty() && c.user_classes().empty() &&
      c.client_archs().empty() && c.circuit_ids().empty() && c.remote_ids().empty()) {
    return Bad(where, "matches nothing (no matcher)");
  }
  constexpr uint64_t kMacBits = (uint64_t{1} << 48) - 1;
  for (const v1::MacPattern& pattern : c.macs()) {
    if ((pattern.mask() & ~kMacBits) != 0 || (pattern.value() & ~pattern.mask()) != 0) {
      return Bad(where, "MAC pattern past 48 bits or outside its mask");
    }
  }
  for (uint32_t arch : c.client_archs()) {
    if (arch > 0xffff) return Bad(where, absl::StrCat("client arch ", arch, " over 65535"));
  }
  for (const auto& [items, what] : {std::pair{&c.vendor_classes(), "vendor class"},
                                    {&c.user_classes(), "user class"},
                                    {&c.circuit_ids(), "circuit id"},
                                    {&c.remote_ids(), "remote id"}}) {
    if (absl::Status status = CheckMatchBytes(*items, where, what); !status.ok()) return status;
  }
  if (absl::Status status = CheckProfileRef(c.profile(), policy, where); !status.ok()) {
    return status;
  }
  return CheckOptions(c.options(), where);
}

absl::Status CheckProfile(const v1::CompiledProfile& profile, const std::string& where) {
  for (const std::string* path : {&profile.bios(), &profile.efi_ia32(), &profile.efi_x64(),
                                  &profile.efi_arm64(), &profile.kernel()}) {
    if (ClimbsOut(*path)) return Bad(where, absl::StrCat("path '", *path, "' climbs out"));
  }
  for (const std::string& initrd : profile.initrds()) {
    if (ClimbsOut(initrd)) return Bad(where, absl::StrCat("path '", initrd, "' climbs out"));
  }
  return absl::OkStatus();
}

absl::Status CheckTftpSizes(uint32_t max_blksize, uint32_t max_windowsize,
                            const std::string& where) {
  if (max_blksize < kMinTftpBlksize || max_blksize > kMaxTftpBlksize) {
    return Bad(where, absl::StrCat("max blksize ", max_blksize, " outside 8..65464"));
  }
  if (max_windowsize == 0 || max_windowsize > kMaxTftpWindowsize) {
    return Bad(where, absl::StrCat("max windowsize ", max_windowsize, " outside 1..65535"));
  }
  return absl::OkStatus();
}

absl::Status CheckTftpClass(const v1::CompiledTftpClass& tftp_class, const std::string& where) {
  if (tftp_class.prefix_length() > 32) return Bad(where, "prefix length over 32");
  if ((tftp_class.network() & ~PrefixMask(tftp_class.prefix_length())) != 0) {
    return Bad(where, "network has host bits set");
  }
  if (tftp_class.rollover_to() > 1) {
    return Bad(where, absl::StrCat("rollover to ", tftp_class.rollover_to(), ", not 0 or 1"));
  }
  return CheckTftpSizes(tftp_class.max_blksize(), tftp_class.max_windowsize(), where);
}

// Paths sorted and unique: lookups and the control plane's diffs rely on it.
absl::Status CheckCatalogFile(const v1::CatalogFile& file, const v1::CatalogFile* previous,
                              const std::string& where) {
  std::optional<std::string> normal = tftp::NormalisePath(file.path());
  if (!normal || *normal != file.path()) {
    return Bad(where, absl::StrCat("path '", absl::CHexEscape(file.path()), "' is not normalised"));
  }
  if (previous != nullptr && !(previous->path() < file.path())) {
    return Bad(where, absl::StrCat("path '", file.path(), "' unsorted or repeated"));
  }
  if (file.source().empty()) {  // generated bytes
    if (file.content().empty() || file.content().size() > kMaxGeneratedFileBytes) {
      return Bad(where, absl::StrCat("generated file of ", file.content().size(), " bytes (1 to ",
                                     kMaxGeneratedFileBytes, ")"));
    }
    if (file.offset() != 0 || file.length() != file.content().size()) {
      return Bad(where, "generated file's offset or length does not match its content");
    }
    return absl::OkStatus();
  }
  if (!file.content().empty()) return Bad(where, "has both a source and content");
  if (!file.source().starts_with('/') || file.source().find('\0') != std::string::npos) {
    return Bad(where, absl::StrCat("source '", absl::CHexEscape(file.source()),
                                   "' is not an absolute path"));
  }
  if (file.length() > UINT64_MAX - file.offset()) {
    return Bad(where, "offset + length overflows");
  }
  return absl::OkStatus();
}

absl::Status CheckTftp(const v1::CompiledTftp& tftp) {
  if (absl::Status status = CheckTftpSizes(tftp.max_blksize(), tftp.max_windowsize(), "tftp");
      !status.ok()) {
    return status;
  }
  if (tftp.rollover_to() > 1) {
    return Bad("tftp", absl::StrCat("rollover to ", tftp.rollover_to(), ", not 0 or 1"));
  }
  for (int i = 0; i < tftp.client_classes_size(); ++i) {
    absl::Status status =
        CheckTftpClass(tftp.client_classes(i), absl::StrCat("tftp.client_classes[", i, "]"));
    if (!status.ok()) return status;
  }
  for (int i = 0; i < tftp.files_size(); ++i) {
    absl::Status status = CheckCatalogFile(tftp.files(i), i > 0 ? &tftp.files(i - 1) : nullptr,
                                           absl::StrCat("tftp.files[", i, "]"));
    if (!status.ok()) return status;
  }
  for (int i = 0; i < tftp.client_files_size(); ++i) {
    const v1::ClientFile& file = tftp.client_files(i);
    std::string where = absl::StrCat("tftp.client_files[", i, "]");
    if (file.kind() <= v1::CLIENT_FILE_KIND_UNSPECIFIED ||
        static_cast<size_t>(file.kind()) > kClientFileKinds) {
      return Bad(where, absl::StrCat("unknown kind ", static_cast<int>(file.kind())));
    }
    // files are sorted by path (checked above).
    auto it = std::lower_bound(
        tftp.files().begin(), tftp.files().end(), file.path(),
        [](const v1::CatalogFile& f, const std::string& path) { return f.path() < path; });
    if (it == tftp.files().end() || it->path() != file.path()) {
      return Bad(where,
                 absl::StrCat("path '", absl::CHexEscape(file.path()), "' is not in tftp.files"));
    }
    for (int j = 0; j < i; ++j) {
      if (tftp.client_files(j).path() == file.path()) return Bad(where, "path repeated");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPolicy(const v1::BootPolicy& policy) {
  for (int i = 0; i < policy.addresses_size(); ++i) {
    if (policy.addresses(i).prefix_length() > 32) {
      return Bad(absl::StrCat("addresses[", i, "]"), "prefix length over 32");
    }
  }
  if (policy.dhcp().mode() == v1::CompiledDhcp::MODE_UNSPECIFIED) {
    return Bad("dhcp", "mode not set");
  }
  for (int i = 0; i < policy.dhcp().subnets_size(); ++i) {
    absl::Status status =
        CheckSubnet(policy.dhcp().subnets(i), policy, absl::StrCat("dhcp.subnets[", i, "]"));
    if (!status.ok()) return status;
  }
  if (policy.dhcp().classes_size() > static_cast<int>(kMaxClientClasses)) {
    return Bad("dhcp.classes", absl::StrCat(policy.dhcp().classes_size(), " classes, more than ",
                                            kMaxClientClasses));
  }
  for (int i = 0; i < policy.dhcp().classes_size(); ++i) {
    absl::Status status =
        CheckClass(policy.dhcp().classes(i), policy, absl::StrCat("dhcp.classes[", i, "]"));
    if (!status.ok()) return status;
  }
  for (int i = 0; i < policy.profiles_size(); ++i) {
    absl::Status status = CheckProfile(policy.profiles(i), absl::StrCat("profiles[", i, "]"));
    if (!status.ok()) return status;
  }
  for (int i = 0; i < policy.hosts_size(); ++i) {
    const v1::CompiledHost& host = policy.hosts(i);
    std::string where = absl::StrCat("hosts[", i, "]");
    if (!host.mac().empty() && host.mac().size() != 6) return Bad(where, "MAC is not 6 bytes");
    if (host.mac().empty() && host.circuit_id().empty() && host.remote_id().empty() &&
        host.client_id().empty()) {
      return Bad(where, "matches nothing (no MAC, client id, circuit id or remote id)");
    }
    if (!host.client_id().empty() &&
        (host.client_id().size() < 2 || host.client_id().size() > 255)) {
      return Bad(where, "client id is not 2 to 255 bytes");
    }
    if (absl::Status status = CheckProfileRef(host.profile(), policy, where); !status.ok()) {
      return status;
    }
    if (absl::Status status = CheckProfileRef(host.next_boot(), policy, where); !status.ok()) {
      return status;
    }
    if (absl::Status status = CheckOptions(host.options(), where); !status.ok()) return status;
  }
  if (absl::Status status = CheckTftp(policy.tftp()); !status.ok()) return status;
  if (policy.http_port() == 0 || policy.http_port() > 65535) {
    return Bad("http_port", absl::StrCat(policy.http_port(), " is not a port"));
  }
  return absl::OkStatus();
}

const v1::CompiledHost* PolicyTables::HostByMac(std::span<const std::byte, 6> mac) const {
  auto it = host_by_mac.find(net::MacAddress::Load(mac, 0).Key());
  return it == host_by_mac.end() ? nullptr : &policy.hosts(static_cast<int>(it->second));
}

const v1::CompiledHost* PolicyTables::HostByClientId(std::string_view client_id) const {
  if (host_by_client_id.empty() || client_id.empty()) return nullptr;  // most policies
  auto it = host_by_client_id.find(absl::string_view(client_id.data(), client_id.size()));
  return it == host_by_client_id.end() ? nullptr : &policy.hosts(static_cast<int>(it->second));
}

const v1::CompiledHost* PolicyTables::HostByRelayIds(std::string_view circuit_id,
                                                     std::string_view remote_id) const {
  if (!circuit_id.empty()) {
    if (auto it = host_by_circuit_id.find(std::string(circuit_id));
        it != host_by_circuit_id.end()) {
      return &policy.hosts(static_cast<int>(it->second));
    }
  }
  if (!remote_id.empty()) {
    if (auto it = host_by_remote_id.find(std::string(remote_id)); it != host_by_remote_id.end()) {
      return &policy.hosts(static_cast<int>(it->second));
    }
  }
  return nullptr;
}

const v1::CompiledSubnet* PolicyTables::SubnetOf(uint32_t address) const {
  for (const v1::CompiledSubnet& subnet : policy.dhcp().subnets()) {
    if ((address & PrefixMask(subnet.prefix_length())) == subnet.network()) return &subnet;
  }
  return nullptr;
}

std::optional<uint32_t> PolicyTables::FindFileIndex(std::string_view normalised_path) const {
  auto found = [this](absl::string_view key) -> std::optional<uint32_t> {
    auto it = file_by_path.find(key);
    if (it == file_by_path.end()) return std::nullopt;
    return it->second;
  };
  if (!policy.tftp().case_insensitive()) {
    return found(absl::string_view(normalised_path.data(), normalised_path.size()));
  }
  // Catalog paths are normalised, so never longer than a request can name.
  if (normalised_path.size() > tftp::kMaxPathLength) return std::nullopt;
  char folded[tftp::kMaxPathLength];
  for (size_t i = 0; i < normalised_path.size(); ++i) {
    folded[i] = absl::ascii_tolower(static_cast<unsigned char>(normalised_path[i]));
  }
  return found(absl::string_view(folded, normalised_path.size()));
}

const v1::CatalogFile* PolicyTables::FindFile(std::string_view normalised_path) const {
  std::optional<uint32_t> index = FindFileIndex(normalised_path);
  return index ? &policy.tftp().files(static_cast<int>(*index)) : nullptr;
}

const v1::CompiledTftpClass* PolicyTables::TftpClassOf(uint32_t client_address) const {
  for (const v1::CompiledTftpClass& tftp_class : policy.tftp().client_classes()) {
    if ((client_address & PrefixMask(tftp_class.prefix_length())) == tftp_class.network()) {
      return &tftp_class;
    }
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<PolicyTables>> BuildTables(std::span<const std::byte> payload,
                                                          uint64_t generation) {
  auto tables = std::make_unique<PolicyTables>();
  tables->generation = generation;
  if (!tables->policy.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InvalidArgumentError("payload is not a serialized BootPolicy");
  }
  if (absl::Status status = CheckPolicy(tables->policy); !status.ok()) return status;
  for (int i = 0; i < tables->policy.dhcp().classes_size(); ++i) {  // at most 64: checked
    const v1::CompiledClass& c = tables->policy.dhcp().classes(i);
    if (c.known()) tables->known_classes |= uint64_t{1} << i;
    if (c.lease_seconds() != 0) tables->lease_time_classes |= uint64_t{1} << i;
  }
  for (int i = 0; i < tables->policy.hosts_size(); ++i) {
    const v1::CompiledHost& host = tables->policy.hosts(i);
    uint32_t index = static_cast<uint32_t>(i);
    std::string where = absl::StrCat("hosts[", i, "]");
    if (!host.mac().empty() && !tables->host_by_mac.emplace(MacKey(host.mac()), index).second) {
      return Bad(where, "MAC repeated");
    }
    if (!host.circuit_id().empty() &&
        !tables->host_by_circuit_id.emplace(host.circuit_id(), index).second) {
      return Bad(where, "circuit id repeated");
    }
    if (!host.remote_id().empty() &&
        !tables->host_by_remote_id.emplace(host.remote_id(), index).second) {
      return Bad(where, "remote id repeated");
    }
    if (!host.client_id().empty() &&
        !tables->host_by_client_id.emplace(host.client_id(), index).second) {
      return Bad(where, "client id repeated");
    }
    if (host.ipv4() != 0 && !tables->host_by_address.emplace(host.ipv4(), index).second) {
      return Bad(where, "fixed address repeated");
    }
  }
  const v1::CompiledTftp& tftp = tables->policy.tftp();
  tables->file_by_path.reserve(static_cast<size_t>(tftp.files_size()));
  for (int i = 0; i < tftp.files_size(); ++i) {
    std::string key = tftp.case_insensitive() ? absl::AsciiStrToLower(tftp.files(i).path())
                                              : tftp.files(i).path();
    if (!tables->file_by_path.emplace(std::move(key), static_cast<uint32_t>(i)).second) {
      return Bad(absl::StrCat("tftp.files[", i, "]"), "path repeated ignoring case");
    }
  }
  // Per-client files: what each profile answers for each kind.
  uint64_t fingerprint = 0x5354414d50454445;  // any start; names the list, not one profile
  for (const v1::CompiledProfile& profile : tables->policy.profiles()) {
    fingerprint = absl::HashOf(fingerprint, profile.name());
    std::array<int32_t, 2 * kClientFileKinds> files;
    files.fill(-1);
    auto set = [&](v1::ClientFileKind kind, const std::string& path, const std::string& once) {
      size_t at = 2 * (static_cast<size_t>(kind) - 1);
      if (std::optional<uint32_t> index = tables->FindFileIndex(path); index && !path.empty()) {
        files[at] = static_cast<int32_t>(*index);
      }
      if (std::optional<uint32_t> index = tables->FindFileIndex(once); index && !once.empty()) {
        files[at + 1] = static_cast<int32_t>(*index);
      }
    };
    set(v1::CLIENT_FILE_KIND_PXELINUX, profile.pxelinux_config(), profile.pxelinux_config_once());
    set(v1::CLIENT_FILE_KIND_GRUB, profile.grub_config(), profile.grub_config_once());
    set(v1::CLIENT_FILE_KIND_IPXE, profile.ipxe_script(), profile.ipxe_script_once());
    tables->profile_files.push_back(files);
  }
  tables->profile_fingerprint = static_cast<uint16_t>(fingerprint ^ fingerprint >> 16 ^
                                                      fingerprint >> 32 ^ fingerprint >> 48);
  for (const v1::ClientFile& file : tftp.client_files()) {
    if (std::optional<uint32_t> index = tables->FindFileIndex(file.path())) {
      tables->client_files.push_back({*index, file.kind()});
    }
  }
  return tables;
}

uint32_t PolicyTables::ForClient(uint32_t index, uint32_t client_address,
                                 const ClientDirectory* directory) const {
  if (directory == nullptr) return index;
  for (const auto& [file, kind] : client_files) {
    if (file != index) continue;
    std::optional<ClientBoot> boot = directory->Find(client_address, profile_fingerprint);
    if (!boot || boot->profile > profile_files.size()) return index;
    const std::array<int32_t, 2 * kClientFileKinds>& files = profile_files[boot->profile - 1];
    size_t at = 2 * (static_cast<size_t>(kind) - 1);
    // The one-shot variant while the lease carries the next boot (a profile
    // without one has only its own menu, which boots the same).
    int32_t chosen = boot->once && files[at + 1] >= 0 ? files[at + 1] : files[at];
    return chosen >= 0 ? static_cast<uint32_t>(chosen) : index;
  }
  return index;
}

namespace {

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

void SetFileIdentity(const struct stat& st, v1::CatalogFile& file) {
  file.set_device(static_cast<uint64_t>(st.st_dev));
  file.set_inode(static_cast<uint64_t>(st.st_ino));
  file.set_mtime_ns(MtimeNs(st));
}

bool SameFileIdentity(const struct stat& st, const v1::CatalogFile& file) {
  return file.device() == static_cast<uint64_t>(st.st_dev) &&
         file.inode() == static_cast<uint64_t>(st.st_ino) && file.mtime_ns() == MtimeNs(st);
}

}  // namespace stampede::policy
