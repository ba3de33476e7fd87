#include "control/config/menus.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "control/catalog/detect.h"
#include "control/catalog/menus.h"
#include "dataplane/policy/tables.h"

namespace stampede::config {
namespace {

using catalog::Menu;
using catalog::MenuEntry;

constexpr char kMenuTitle[] = "stampede";
constexpr char kGrubFolder[] = "grub";  // Debian's netboot GRUB: prefix /grub
constexpr char kIpxeFolder[] = "ipxe";
constexpr char kIpxeDefault[] = "boot.ipxe";
// PXELINUX's config folder, as absl::StrCat takes it.
const std::string kPxelinuxFolder(catalog::kPxelinuxConfigFolder);

std::string Ipv4Text(uint32_t a) {
  return absl::StrFormat("%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

// A profile's name as a file name: what a loader can ask for over TFTP and
// in a URL without escaping.
std::string FileSafe(std::string_view name) {
  std::string out;
  for (char c : name) {
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                          c == '.'
                      ? c
                      : '_');
  }
  return out;
}

class Generator {
 public:
  Generator(const LoadedConfig& loaded, const std::vector<catalog::ImageStatus>& images,
            v1::BootPolicy& policy, std::vector<std::string>* warnings)
      : loaded_(loaded), images_(images), policy_(policy), warnings_(warnings) {}

  absl::StatusOr<std::vector<v1::CatalogFile>> Run() {
    if (policy_.addresses_size() == 0) return files_;
    server_ = catalog::HttpAuthority(Ipv4Text(policy_.addresses(0).address()), policy_.http_port());
    if (absl::Status status = CollectEntries(); !status.ok()) return status;
    if (std::none_of(entries_.begin(), entries_.end(),
                     [](const std::optional<MenuEntry>& e) { return e.has_value(); })) {
      return files_;  // nothing to put in a menu: profiles boot their NBPs only
    }
    NameProfiles();
    for (int i = 0; i < policy_.profiles_size(); ++i) AddProfileFiles(i);
    AddDefaults();
    AddPxelinuxCascade();
    std::sort(files_.begin(), files_.end(), [](const v1::CatalogFile& a, const v1::CatalogFile& b) {
      return a.path() < b.path();
    });
    return files_;
  }

 private:
  void Warn(const std::string& text) {
    if (warnings_ != nullptr) warnings_->push_back(text);
  }

  // The menu entry of each profile: from its image (detection, then the
  // profile's overrides) or its kernel; none for profiles that only name
  // boot programs.
  absl::Status CollectEntries() {
    const v1::Config& config = loaded_.config;
    for (int i = 0; i < config.profiles_size(); ++i) {
      const v1::BootProfile& profile = config.profiles(i);
      std::string where =
          absl::StrCat(loaded_.Where(absl::StrCat("profiles[", i, "]")), ": profiles[", i, "]: ");
      absl::StatusOr<std::optional<MenuEntry>> entry = EntryOf(profile, where);
      if (!entry.ok()) return entry.status();
      entries_.push_back(*std::move(entry));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<MenuEntry>> EntryOf(const v1::BootProfile& profile,
                                                   const std::string& where) {
    if (!profile.image().empty()) {
      auto image = std::find_if(images_.begin(), images_.end(),
                                [&](const auto& status) { return status.name == profile.image(); });
      if (image == images_.end() || !image->served) {
        Warn(absl::StrCat(where, "image '", profile.image(), "' ",
                          image == images_.end() ? std::string("is not in the images folder")
                                                 : absl::StrCat("is not served: ", image->error),
                          "; left out of the menus until it is"));
        return std::nullopt;
      }
      absl::StatusOr<catalog::BootRecipe> recipe = catalog::ApplyOverrides(image->recipe, profile);
      if (!recipe.ok())
        return absl::InvalidArgumentError(where + std::string(recipe.status().message()));
      catalog::BootRecipe filled = catalog::FillPlaceholders(*recipe, server_, image->name);
      return catalog::EntryForImage(filled, image->name, profile.name(), profile.menu_title());
    }
    if (profile.kernel().empty()) {
      if (!profile.preseed().empty() || !profile.kickstart().empty() ||
          !profile.autoinstall().empty()) {
        return absl::InvalidArgumentError(
            where + "an answer file (preseed, kickstart, autoinstall) needs an image to boot");
      }
      return std::nullopt;
    }
    absl::StatusOr<catalog::BootRecipe> recipe = catalog::ApplyOverrides({}, profile);
    if (!recipe.ok())
      return absl::InvalidArgumentError(where + std::string(recipe.status().message()));
    MenuEntry entry;
    entry.id = profile.name();
    entry.title = profile.menu_title().empty() ? profile.name() : profile.menu_title();
    entry.kernel = recipe->kernel;
    entry.efi_kernel = recipe->kernel;
    entry.initrds = recipe->initrds;
    entry.cmdline = catalog::FillPlaceholders(*recipe, server_, "").cmdline;
    return entry;
  }

  void NameProfiles() {
    std::set<std::string> used;
    for (const v1::CompiledProfile& profile : policy_.profiles()) {
      std::string name = FileSafe(profile.name());
      for (int n = 2; used.contains(name); ++n)
        name = absl::StrCat(FileSafe(profile.name()), "-", n);
      used.insert(name);
      names_.push_back(name);
    }
    for (const v1::CompiledHost& host : policy_.hosts()) {
      if (host.next_boot() != 0) once_.insert(static_cast<int>(host.next_boot() - 1));
    }
  }

  // The menu a profile's clients see: every entry, this profile's first
  // choice (else the menu_default one), this profile's timeout.
  Menu MenuFor(std::optional<int> profile) const {
    Menu menu;
    menu.title = std::string(kMenuTitle);
    for (const std::optional<MenuEntry>& entry : entries_) {
      if (entry) menu.entries.push_back(*entry);
    }
    int chosen = -1;
    if (profile && entries_[static_cast<size_t>(*profile)]) chosen = *profile;
    for (int i = 0; chosen < 0 && i < policy_.profiles_size(); ++i) {
      if (policy_.profiles(i).menu_default() && entries_[static_cast<size_t>(i)]) chosen = i;
    }
    for (int i = 0; chosen < 0 && i < policy_.profiles_size(); ++i) {
      if (entries_[static_cast<size_t>(i)]) chosen = i;
    }
    int timeout_from = profile ? *profile : chosen;
    if (chosen >= 0) menu.default_id = entries_[static_cast<size_t>(chosen)]->id;
    if (timeout_from >= 0)
      menu.timeout_seconds = policy_.profiles(timeout_from).menu_timeout_seconds();
    return menu;
  }

  void Add(std::string path, std::string content) {
    v1::CatalogFile file;
    file.set_path(std::move(path));
    file.set_length(content.size());
    file.set_content(std::move(content));
    files_.push_back(std::move(file));
  }

  void AddProfileFiles(int i) {
    v1::CompiledProfile& profile = *policy_.mutable_profiles(i);
    const std::string& name = names_[static_cast<size_t>(i)];
    Menu menu = MenuFor(i);
    std::vector<std::string> skipped_bios, skipped_uefi;
    profile.set_pxelinux_config(absl::StrCat(kPxelinuxFolder, "/p-", name));
    pxelinux_.push_back(catalog::RenderPxelinux(menu, &skipped_bios));
    Add(profile.pxelinux_config(), pxelinux_.back());
    profile.set_grub_config(GrubProfileFile(i, ""));
    Add(profile.grub_config(), catalog::RenderGrub(menu, server_, &skipped_uefi));
    profile.set_ipxe_script(absl::StrCat(kIpxeFolder, "/p-", name, ".ipxe"));
    Add(profile.ipxe_script(), catalog::RenderIpxe(menu, server_));
    // Every profile's menu holds every entry: say it once, for the entry's own.
    if (const std::optional<MenuEntry>& own = entries_[static_cast<size_t>(i)]) {
      for (auto [loader, skipped] :
           {std::pair{"PXELINUX", &skipped_bios}, std::pair{"GRUB", &skipped_uefi}}) {
        for (const std::string& why : *skipped) {
          if (why.starts_with(own->id + ":")) {
            Warn(absl::StrCat("profile '", profile.name(), "': not in ", loader, " menus: ", why));
          }
        }
      }
    }
    if (!once_.contains(i)) return;
    absl::StatusOr<Menu> once = catalog::WithNextBoot(menu, menu.default_id);
    if (!once.ok()) return;  // no entry of its own: the normal menu serves
    profile.set_pxelinux_config_once(profile.pxelinux_config() + "-once");
    Add(profile.pxelinux_config_once(), catalog::RenderPxelinux(*once));
    profile.set_ipxe_script_once(absl::StrCat(kIpxeFolder, "/p-", name, "-once.ipxe"));
    Add(profile.ipxe_script_once(), catalog::RenderIpxe(*once, server_));
    // GRUB reads grub/grub.cfg whatever DHCP said: the dataplane answers it
    // with this file for the client whose lease carried the next boot.
    profile.set_grub_config_once(GrubProfileFile(i, "-once"));
    Add(profile.grub_config_once(), catalog::RenderGrub(*once, server_));
  }

  std::string GrubProfileFile(int i, std::string_view variant) const {
    return absl::StrCat(kGrubFolder, "/p-", names_[static_cast<size_t>(i)], std::string(variant),
                        ".cfg");
  }

  // GRUB from Debian's signed netboot image reads grub/grub.cfg only (its
  // embedded config does not try per-client names), so grub.cfg itself sends
  // each known client on to its profile's menu: hosts by MAC, then fixed
  // addresses, then subnets (longest prefix first).
  std::string GrubDispatch() {
    std::string out;
    size_t lines = 0;
    auto line = [&](const std::string& test, uint32_t profile) {
      if (profile == 0 || ++lines > kMaxMenuDispatch) return;
      absl::StrAppend(
          &out, "if ", test, "; then configfile $prefix/",
          GrubProfileFile(static_cast<int>(profile - 1), "").substr(sizeof(kGrubFolder)), "; fi\n");
    };
    for (const v1::CompiledHost& host : policy_.hosts()) {
      if (host.mac().size() != 6) continue;
      std::string mac;
      for (char c : host.mac()) {
        absl::StrAppendFormat(&mac, "%s%02x", mac.empty() ? "" : ":", static_cast<uint8_t>(c));
      }
      line(absl::StrCat("[ \"$net_default_mac\" = \"", mac, "\" ]"), host.profile());
    }
    for (const v1::CompiledHost& host : policy_.hosts()) {
      if (host.ipv4() == 0) continue;
      line(absl::StrCat("[ \"$net_default_ip\" = \"", Ipv4Text(host.ipv4()), "\" ]"),
           host.profile());
    }
    std::vector<const v1::CompiledSubnet*> subnets;
    for (const v1::CompiledSubnet& subnet : policy_.dhcp().subnets()) subnets.push_back(&subnet);
    std::stable_sort(subnets.begin(), subnets.end(), [](const auto* a, const auto* b) {
      return a->prefix_length() > b->prefix_length();
    });
    for (const v1::CompiledSubnet* subnet : subnets) {
      line(absl::StrCat("regexp '", SubnetRegexp(subnet->network(), subnet->prefix_length()),
                        "' \"$net_default_ip\""),
           subnet->profile());
    }
    if (lines > kMaxMenuDispatch) {
      Warn(absl::StrCat("grub/grub.cfg: only the first ", kMaxMenuDispatch,
                        " hosts and subnets are sent to their own menu; the others get the "
                        "default menu"));
    }
    return out;
  }

  // A POSIX ERE matching the dotted addresses of network/prefix: whole
  // octets literally, the octet the prefix cuts as an alternation.
  static std::string SubnetRegexp(uint32_t network, uint32_t prefix) {
    std::string out = "^";
    uint32_t whole = prefix / 8;
    for (uint32_t octet = 0; octet < 4; ++octet) {
      uint32_t value = network >> (24 - 8 * octet) & 255;
      if (octet < whole) {
        absl::StrAppend(&out, value, octet < 3 ? "\\." : "$");
        continue;
      }
      uint32_t bits = prefix - 8 * whole;
      if (bits > 0) {
        uint32_t span = 1u << (8 - bits);
        std::vector<uint32_t> values;
        for (uint32_t v = value; v < value + span; ++v) values.push_back(v);
        absl::StrAppend(&out, "(", absl::StrJoin(values, "|"), ")", octet < 3 ? "\\." : "$");
      }
      break;
    }
    return out;
  }

  void AddDefaults() {
    Menu menu = MenuFor(std::nullopt);
    Add(absl::StrCat(kPxelinuxFolder, "/default"), catalog::RenderPxelinux(menu));
    std::string grub = catalog::RenderGrub(menu, server_);
    grub.insert(grub.find('\n') + 1, GrubDispatch());  // after the header line
    Add(absl::StrCat(kGrubFolder, "/grub.cfg"), std::move(grub));
    Add(std::string(kIpxeDefault), catalog::RenderIpxe(menu, server_));
    // Each of these is answered per client when its lease names a profile
    // (dataplane/policy/tables.h); the files above serve everyone else.
    for (auto [path, kind] : {
             std::pair{absl::StrCat(kPxelinuxFolder, "/default"), v1::CLIENT_FILE_KIND_PXELINUX},
             std::pair{absl::StrCat(kGrubFolder, "/grub.cfg"), v1::CLIENT_FILE_KIND_GRUB},
             std::pair{std::string(kIpxeDefault), v1::CLIENT_FILE_KIND_IPXE},
         }) {
      v1::ClientFile* file = policy_.mutable_tftp()->add_client_files();
      file->set_path(path);
      file->set_kind(kind);
    }
  }

  // Beside option 209, the names PXELINUX tries on its own: 01-<mac> for
  // hosts, the address in hex for fixed addresses, hex prefixes for subnets.
  void AddPxelinuxCascade() {
    std::set<std::string> taken;
    for (const v1::CatalogFile& file : files_) taken.insert(file.path());
    size_t added = 0;
    auto link = [&](const std::string& name, uint32_t profile) {
      if (profile == 0 || added >= kMaxMenuDispatch) return;
      std::string path = absl::StrCat(kPxelinuxFolder, "/", name);
      if (!taken.insert(path).second) return;
      ++added;
      Add(path, pxelinux_[profile - 1]);  // the profile's own menu, rendered once
    };
    for (const v1::CompiledHost& host : policy_.hosts()) {
      if (host.mac().size() != 6) continue;
      std::string name = "01";
      for (char c : host.mac()) absl::StrAppendFormat(&name, "-%02x", static_cast<uint8_t>(c));
      link(name, host.profile());
    }
    for (const v1::CompiledHost& host : policy_.hosts()) {
      if (host.ipv4() != 0) link(absl::StrFormat("%08X", host.ipv4()), host.profile());
    }
    for (const v1::CompiledSubnet& subnet : policy_.dhcp().subnets()) {
      // PXELINUX shortens the hex address one digit at a time: a prefix not
      // on a nibble boundary is every nibble value it covers.
      uint32_t digits = (subnet.prefix_length() + 3) / 4;
      if (digits == 0 || digits > 8) continue;
      uint32_t spare = digits * 4 - subnet.prefix_length();
      for (uint32_t k = 0; k < (1u << spare); ++k) {
        uint32_t value = (subnet.network() >> (32 - digits * 4)) + k;
        link(absl::StrFormat("%0*X", static_cast<int>(digits), value), subnet.profile());
      }
    }
    if (added >= kMaxMenuDispatch) {
      Warn(absl::StrCat("pxelinux.cfg: only ", kMaxMenuDispatch,
                        " per-client files written; the others use DHCP option 209"));
    }
  }

  const LoadedConfig& loaded_;
  const std::vector<catalog::ImageStatus>& images_;
  v1::BootPolicy& policy_;
  std::vector<std::string>* warnings_;
  std::string server_;
  std::vector<std::optional<MenuEntry>> entries_;  // per profile
  std::vector<std::string> names_;                 // per profile, file-safe, unique
  std::vector<std::string> pxelinux_;              // per profile, its PXELINUX menu
  std::set<int> once_;                             // profiles some host boots once
  std::vector<v1::CatalogFile> files_;
};

}  // namespace

absl::StatusOr<std::vector<v1::CatalogFile>> GenerateMenus(
    const LoadedConfig& loaded, const std::vector<catalog::ImageStatus>& images,
    v1::BootPolicy& policy, std::vector<std::string>* warnings) {
  return Generator(loaded, images, policy, warnings).Run();
}

}  // namespace stampede::config
