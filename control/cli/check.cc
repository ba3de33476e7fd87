#include "control/cli/check.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/config/compile.h"
#include "control/config/dhcp_options.h"
#include "control/config/loader.h"
#include "control/config/validate.h"
#include "dataplane/net/address.h"
#include "dataplane/port/options.h"

namespace stampede::cli {
namespace {

std::string Or(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

// The addresses of the pools `wanted` picks (all of them by default).
uint64_t PoolAddresses(const v1::Dhcp& dhcp,
                       const std::function<bool(const v1::Pool&)>& wanted = nullptr) {
  uint64_t total = 0;
  for (const v1::Subnet& subnet : dhcp.subnets()) {
    for (const v1::Pool& pool : subnet.pools()) {
      if (wanted && !wanted(pool)) continue;
      auto first = net::Ipv4Address::Parse(std::string_view(pool.first()));
      auto last = net::Ipv4Address::Parse(std::string_view(pool.last()));
      if (first && last && first->value <= last->value) total += last->value - first->value + 1;
    }
  }
  return total;
}

std::string Count(uint64_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string BootFiles(const v1::BootProfile& profile) {
  std::vector<std::string> parts;
  const v1::BootFiles& files = profile.boot_files();
  if (!files.bios().empty()) parts.push_back("bios=" + files.bios());
  if (!files.efi_ia32().empty()) parts.push_back("efi_ia32=" + files.efi_ia32());
  if (!files.efi_x64().empty()) parts.push_back("efi_x64=" + files.efi_x64());
  if (!files.efi_arm64().empty()) parts.push_back("efi_arm64=" + files.efi_arm64());
  if (!files.efi_x64_http().empty()) parts.push_back("efi_x64_http=" + files.efi_x64_http());
  if (!files.efi_arm64_http().empty()) {
    parts.push_back("efi_arm64_http=" + files.efi_arm64_http());
  }
  if (!profile.kernel().empty()) parts.push_back("kernel=" + profile.kernel());
  if (!profile.image().empty()) parts.push_back("image=" + profile.image());
  return absl::StrJoin(parts, " ");
}

struct CatalogOrigins {
  size_t root = 0, loaders = 0, images = 0, generated = 0;
};

// Where each catalogued file comes from, for the summary: generated menus
// carry their bytes, images' files are under images/, the root's files are
// under the root's real path, and the rest are the packaged boot loaders.
CatalogOrigins Origins(const v1::Config& config, const v1::CompiledTftp& tftp) {
  CatalogOrigins origins;
  std::error_code error;
  std::string root = config.tftp().root().empty()
                         ? std::string()
                         : std::filesystem::canonical(config.tftp().root(), error).string();
  for (const v1::CatalogFile& file : tftp.files()) {
    if (!file.content().empty()) {
      ++origins.generated;
    } else if (!root.empty() && file.source().starts_with(root + "/")) {
      ++origins.root;
    } else if (file.path().starts_with("images/")) {
      ++origins.images;
    } else {
      ++origins.loaders;
    }
  }
  return origins;
}

int Show(const v1::CompiledTftp& tftp, const std::string& path, std::ostream& out,
         std::ostream& err) {
  for (const v1::CatalogFile& file : tftp.files()) {
    if (file.path() != path) continue;
    if (!file.content().empty()) {
      out << file.content();
    } else {
      out << file.path() << ": " << file.length() << " bytes at offset " << file.offset() << " of "
          << file.source() << "\n";
    }
    return 0;
  }
  err << "stampede: the catalog has no file '" << path << "'\n";
  return 1;
}

// A line per subnet with DHCP options, and one for the hosts with their own.
void PrintOptions(const v1::BootPolicy& policy, std::ostream& out) {
  for (const v1::CompiledSubnet& subnet : policy.dhcp().subnets()) {
    if (subnet.options().empty()) continue;
    std::vector<std::string> labels;
    for (const v1::CompiledOption& option : subnet.options()) {
      labels.push_back(config::OptionLabel(option.code()) +
                       (option.always_send() ? " always" : ""));
    }
    out << "  options    " << net::Ipv4Address{subnet.network()}.ToString() << "/"
        << subnet.prefix_length() << ": " << absl::StrJoin(labels, ", ") << "\n";
  }
  size_t hosts = 0, names = 0;
  for (const v1::CompiledHost& host : policy.hosts()) {
    hosts += host.options().empty() ? 0 : 1;
    for (const v1::CompiledOption& option : host.options()) names += option.code() == 12 ? 1 : 0;
  }
  if (hosts > 0) {
    out << "  options    " << Count(hosts, "host", "hosts") << " with options of their own ("
        << Count(names, "host name", "host names") << ")\n";
  }
}

// One line per client class: what it matches on and what it gives.
void PrintClasses(const v1::Dhcp& dhcp, std::ostream& out) {
  for (const v1::ClientClass& c : dhcp.classes()) {
    size_t pools = 0;
    auto for_class = [&](const v1::Pool& pool) {
      return std::find(pool.classes().begin(), pool.classes().end(), c.name()) !=
             pool.classes().end();
    };
    for (const v1::Subnet& subnet : dhcp.subnets()) {
      pools += std::count_if(subnet.pools().begin(), subnet.pools().end(), for_class);
    }
    out << "  class      " << c.name() << ": by "
        << absl::StrJoin(config::ClassMatchers(c), " and ") << " -> "
        << (c.profile().empty() ? "no profile" : "profile " + c.profile()) << ", "
        << Count(static_cast<size_t>(c.options_size()), "option", "options")
        << (c.known() ? ", known" : "")
        << (c.lease_time().empty() ? "" : ", lease " + c.lease_time());
    if (pools > 0) {
      out << ", " << Count(pools, "pool", "pools") << " ("
          << Count(PoolAddresses(dhcp, for_class), "address", "addresses") << ")";
    }
    out << "\n";
  }
}

}  // namespace

int Check(const std::string& path, std::ostream& out, std::ostream& err, const std::string& show) {
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) {
    err << loaded.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> warnings;
  absl::StatusOr<v1::BootPolicy> policy = config::Compile(*loaded, &warnings);
  for (const std::string& warning : warnings) err << "warning: " << warning << "\n";
  if (!policy.ok()) {
    std::vector<std::string> problems = absl::StrSplit(policy.status().message(), '\n');
    for (const std::string& problem : problems) err << problem << "\n";
    err << path << ": " << Count(problems.size(), "problem", "problems") << "\n";
    return 1;
  }
  if (!show.empty()) return Show(policy->tftp(), show, out, err);
  const v1::Config& c = loaded->config;
  absl::StatusOr<uint32_t> workers = port::CountWorkers(Or(c.dataplane().lcores(), "0"));
  size_t by_mac = 0, by_client_id = 0;
  for (const v1::Host& host : c.hosts()) {
    // As the dataplane looks them up: the client id first, then the MAC.
    by_client_id += host.client_id().empty() ? 0 : 1;
    by_mac += host.client_id().empty() && !host.mac().empty() ? 1 : 0;
  }
  size_t pools = 0, known_only = 0;
  for (const v1::Subnet& subnet : c.dhcp().subnets()) {
    pools += subnet.pools_size();
    known_only += subnet.known_clients_only() ? 1 : 0;
  }
  std::string mode = c.dhcp().mode() == v1::Dhcp::PROXY ? "proxy" : "authoritative";

  out << path << ": valid\n";
  out << "  dataplane  port=" << c.dataplane().port()
      << " lcores=" << Or(c.dataplane().lcores(), "0") << " (" << workers.value_or(0)
      << " workers) memory=" << (c.dataplane().memory_mb() ? c.dataplane().memory_mb() : 256)
      << "MiB ipv4=" << absl::StrJoin(c.dataplane().ipv4(), ",") << "\n";
  out << "  dhcp       " << mode << ", " << Count(c.dhcp().subnets_size(), "subnet", "subnets")
      << ", " << Count(pools, "pool", "pools") << " ("
      << Count(PoolAddresses(c.dhcp()), "address", "addresses") << "), lease "
      << Or(c.dhcp().lease_time(), "1h")
      << (known_only > 0 ? ", known clients only on " + Count(known_only, "subnet", "subnets") : "")
      << "\n";
  out << "  hosts      " << c.hosts_size() << " (" << by_mac << " by MAC, " << by_client_id
      << " by client id, " << c.hosts_size() - by_mac - by_client_id << " by option 82)\n";
  PrintClasses(c.dhcp(), out);
  PrintOptions(*policy, out);
  for (const v1::BootProfile& profile : c.profiles()) {
    out << "  profile    " << profile.name() << ": " << BootFiles(profile)
        << (profile.menu_default() ? " (menu default)" : "") << "\n";
  }
  CatalogOrigins origins = Origins(c, policy->tftp());
  out << "  tftp       root=" << Or(c.tftp().root(), "(none)");
  if (!c.tftp().root().empty()) {
    out << " (" << Count(origins.root, "file", "files") << " served, "
        << Count(warnings.size(), "warning", "warnings") << ")";
  }
  out << (c.tftp().case_insensitive() ? " case-insensitive" : "") << "\n";
  out << "  catalog    " << Count(policy->tftp().files_size(), "file", "files") << ": "
      << origins.root << " from the root, " << origins.loaders << " boot loaders, "
      << origins.images << " from images, " << origins.generated << " generated menus\n";
  out << "  images     " << Or(c.images().folder(), "(none)") << "\n";
  out << "  http       port " << policy->http_port() << "\n";
  if (policy->ipv6_ra()) {
    out << "  ipv6       router solicitations answered: no router, no prefix\n";
  }
  out << "  policy     " << policy->ByteSizeLong() << " bytes compiled, "
      << Count(policy->profiles_size(), "profile", "profiles")
      << ", tftp blksize<=" << policy->tftp().max_blksize()
      << " windowsize<=" << policy->tftp().max_windowsize() << "\n";
  return 0;
}

}  // namespace stampede::cli
