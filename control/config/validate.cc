#include "control/config/validate.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config/dhcp_options.h"
#include "dataplane/net/address.h"
#include "dataplane/policy/tables.h"

namespace stampede::config {
namespace {

using net::Ipv4Address;
using net::Ipv4Interface;

// RFC 2348: blksize 8..65464.
constexpr uint32_t kMinBlksize = 8;
constexpr uint32_t kMaxBlksize = 65464;
// RFC 7440: windowsize 1..65535.
constexpr uint32_t kMaxWindowsize = 65535;

std::string_view View(const std::string& s) { return s; }

class Checker {
 public:
  explicit Checker(const LoadedConfig& loaded) : loaded_(loaded), config_(loaded.config) {}

  std::vector<std::string> Run() {
    CheckDataplane();
    CollectProfiles();
    CheckSubnets();
    CheckHosts();
    CheckClasses();
    CheckServices();
    return std::move(problems_);
  }

 private:
  void Problem(const std::string& path, absl::string_view what) {
    problems_.push_back(absl::StrCat(loaded_.Where(path), ": ", path, ": ", what));
  }

  std::optional<Ipv4Address> Address(const std::string& path, const std::string& text) {
    std::optional<Ipv4Address> address = Ipv4Address::Parse(View(text));
    if (!address) Problem(path, absl::StrCat("'", text, "' is not an IPv4 address"));
    return address;
  }

  void Duration(const std::string& path, const std::string& text) {
    if (!text.empty() && !ParseDurationSeconds(View(text))) {
      Problem(path, absl::StrCat("'", text, "' is not a duration like 90s, 15m, 12h or 7d"));
    }
  }

  // A class's or host's lease time: left out, or a duration over 0.
  void LeaseTime(const std::string& path, const std::string& text) {
    Duration(path, text);
    if (ParseDurationSeconds(View(text)) == uint64_t{0}) {
      Problem(path, "must be longer than 0 (left out: the subnet's)");
    }
  }

  void Profile(const std::string& path, const std::string& name) {
    if (!name.empty() && !profiles_.contains(name)) {
      Problem(path, absl::StrCat("no profile named '", name, "'"));
    }
  }

  // Each option encodes; no code twice in one list.
  void Options(const std::string& path,
               const google::protobuf::RepeatedPtrField<v1::DhcpOption>& options) {
    std::map<uint32_t, int> codes;
    for (int i = 0; i < options.size(); ++i) {
      std::string item = absl::StrCat(path, ".options[", i, "]");
      std::string field;
      absl::StatusOr<v1::CompiledOption> encoded = EncodeOption(options[i], field);
      if (!encoded.ok()) {
        Problem(absl::StrCat(item, ".", field), encoded.status().message());
        continue;
      }
      if (auto [it, fresh] = codes.emplace(encoded->code(), i); !fresh) {
        Problem(item, absl::StrCat(OptionLabel(encoded->code()), " is also ", path, ".options[",
                                   it->second, "]"));
      }
    }
  }

  void CheckClasses() {
    const auto& classes = config_.dhcp().classes();
    if (classes.size() > static_cast<int>(policy::kMaxClientClasses)) {
      Problem("dhcp.classes",
              absl::StrCat(classes.size(), " classes; at most ", policy::kMaxClientClasses));
    }
    std::map<std::string, std::string> names;
    for (int i = 0; i < classes.size(); ++i) {
      const v1::ClientClass& c = classes[i];
      std::string path = absl::StrCat("dhcp.classes[", i, "]");
      if (c.name().empty()) {
        Problem(path + ".name", "is required");
      } else if (c.name() == kKnownClients) {
        Problem(path + ".name",
                "'known' is built in (host entries and classes with known: true); use another "
                "name");
      } else if (auto [it, fresh] = names.emplace(c.name(), path); !fresh) {
        Problem(path + ".name", absl::StrCat("class '", c.name(), "' is also ", it->second));
      }
      if (ClassMatchers(c).empty()) {
        Problem(path,
                "needs a mac, vendor_class, user_class, arch, circuit_id or remote_id to match");
      }
      for (int m = 0; m < c.mac_size(); ++m) {
        if (!ParseMacPattern(c.mac(m))) {
          Problem(absl::StrCat(path, ".mac[", m, "]"),
                  absl::StrCat("'", c.mac(m), "' is not a MAC pattern like 0c:c4:7a:*:*:*"));
        }
      }
      for (int a = 0; a < c.arch_size(); ++a) {
        if (!ParseClientArch(c.arch(a))) {
          Problem(absl::StrCat(path, ".arch[", a, "]"),
                  absl::StrCat("'", c.arch(a),
                               "' is not bios, efi_ia32, efi_x64, efi_arm64, efi_x64_http, "
                               "efi_arm64_http or a number 0..65535"));
        }
      }
      for (const auto& [items, field] : {std::pair{&c.vendor_class(), "vendor_class"},
                                         {&c.user_class(), "user_class"},
                                         {&c.circuit_id(), "circuit_id"},
                                         {&c.remote_id(), "remote_id"}}) {
        for (int k = 0; k < items->size(); ++k) {
          if ((*items)[k].empty() || (*items)[k].size() > 255) {
            Problem(absl::StrCat(path, ".", field, "[", k, "]"), "must be 1 to 255 bytes");
          }
        }
      }
      Profile(path + ".profile", c.profile());
      Options(path, c.options());
      LeaseTime(path + ".lease_time", c.lease_time());
    }
    for (int s = 0; s < config_.dhcp().subnets_size(); ++s) {
      const v1::Subnet& subnet = config_.dhcp().subnets(s);
      for (int p = 0; p < subnet.pools_size(); ++p) {
        PoolClasses(absl::StrCat("dhcp.subnets[", s, "].pools[", p, "]"), subnet.pools(p), names);
      }
    }
  }

  // A pool's `classes`: names of classes, or "!" and one; none twice.
  void PoolClasses(const std::string& path, const v1::Pool& pool,
                   const std::map<std::string, std::string>& names) {
    std::map<std::string, bool> seen;  // name -> kept out
    for (int k = 0; k < pool.classes_size(); ++k) {
      std::string item = absl::StrCat(path, ".classes[", k, "]");
      const std::string& text = pool.classes(k);
      bool excluded = text.starts_with('!');
      std::string name = excluded ? text.substr(1) : text;
      if (name.empty()) {
        Problem(item, "is empty; a class name, or ! and one");
      } else if (name != kKnownClients && !names.contains(name)) {
        Problem(item, absl::StrCat("no class named '", name,
                                   "' in dhcp.classes, nor the built-in 'known'"));
      } else if (auto [it, fresh] = seen.emplace(name, excluded); !fresh) {
        Problem(item, absl::StrCat("class '", name, "' is named twice",
                                   it->second != excluded ? ", wanted and kept out" : ""));
      }
    }
  }

  void CheckDataplane() {
    const v1::Dataplane& dp = config_.dataplane();
    if (dp.port().empty()) Problem("dataplane.port", "is required (a PCI address or vdev spec)");
    if (dp.ipv4().empty()) Problem("dataplane.ipv4", "needs at least one address/prefix");
    for (int i = 0; i < dp.ipv4_size(); ++i) {
      std::optional<Ipv4Interface> interface = Ipv4Interface::Parse(View(dp.ipv4(i)));
      if (!interface) {
        Problem(absl::StrCat("dataplane.ipv4[", i, "]"),
                absl::StrCat("'", dp.ipv4(i), "' is not an address/prefix like 198.18.0.1/24"));
      }
    }
    if (!dp.mac().empty() && !net::MacAddress::Parse(View(dp.mac()))) {
      Problem("dataplane.mac", absl::StrCat("'", dp.mac(), "' is not a MAC address"));
    }
    const std::string& huge = dp.huge_pages();
    if (!huge.empty() && huge != "auto" && huge != "on" && huge != "off") {
      Problem("dataplane.huge_pages", absl::StrCat("'", huge, "' is not auto, on or off"));
    }
    if (dp.memory_mb() != 0 && dp.memory_mb() < 64) Problem("dataplane.memory_mb", "must be >= 64");
    if (dp.idle_sleep_us() > 1000) {
      Problem("dataplane.idle_sleep_us", "must be at most 1000 (1 ms)");
    }
  }

  void CollectProfiles() {
    for (int i = 0; i < config_.profiles_size(); ++i) {
      const v1::BootProfile& profile = config_.profiles(i);
      std::string path = absl::StrCat("profiles[", i, "]");
      if (profile.name().empty()) Problem(path + ".name", "is required");
      if (!profiles_.insert(profile.name()).second) {
        Problem(path + ".name", absl::StrCat("profile '", profile.name(), "' is defined twice"));
      }
      Duration(path + ".menu_timeout", profile.menu_timeout());
      // An image missing from the folder is no error here: images come and
      // go while the appliance runs, and the menus leave out (with a
      // warning) what is not served, rather than refusing the whole config.
      if (!profile.image().empty() && config_.images().folder().empty()) {
        Problem(path + ".image",
                absl::StrCat("image '", profile.image(), "' needs images.folder to be set"));
      }
    }
  }

  void CheckSubnets() {
    const v1::Dhcp& dhcp = config_.dhcp();
    Duration("dhcp.lease_time", dhcp.lease_time());
    Options("dhcp", dhcp.options());
    struct Range {
      uint32_t first, last;
      std::string path;
    };
    std::vector<Range> ranges;
    for (int s = 0; s < dhcp.subnets_size(); ++s) {
      const v1::Subnet& subnet = dhcp.subnets(s);
      std::string path = absl::StrCat("dhcp.subnets[", s, "]");
      std::optional<Ipv4Interface> network = Ipv4Interface::Parse(View(subnet.subnet()));
      if (!network) {
        Problem(path + ".subnet",
                absl::StrCat("'", subnet.subnet(), "' is not a network like 198.18.0.0/24"));
      } else if ((network->address.value & ~network->Netmask()) != 0) {
        Problem(path + ".subnet", absl::StrCat("'", subnet.subnet(), "' has host bits set"));
        network.reset();
      } else {
        subnets_.push_back(*network);
      }
      if (!subnet.router().empty()) Address(path + ".router", subnet.router());
      for (int d = 0; d < subnet.dns_size(); ++d) {
        Address(absl::StrCat(path, ".dns[", d, "]"), subnet.dns(d));
      }
      Duration(path + ".lease_time", subnet.lease_time());
      Profile(path + ".profile", subnet.profile());
      Options(path, subnet.options());
      for (int p = 0; p < subnet.pools_size(); ++p) {
        std::string pool_path = absl::StrCat(path, ".pools[", p, "]");
        std::optional<Ipv4Address> first = Address(pool_path + ".first", subnet.pools(p).first());
        std::optional<Ipv4Address> last = Address(pool_path + ".last", subnet.pools(p).last());
        if (!first || !last) continue;
        std::string range = absl::StrCat(first->ToString(), "-", last->ToString());
        if (first->value > last->value) {
          Problem(pool_path, absl::StrCat("pool ", range, " is reversed"));
          continue;
        }
        if (network && (!network->Contains(*first) || !network->Contains(*last))) {
          Problem(pool_path, absl::StrCat("pool ", range, " is not inside ", subnet.subnet()));
        }
        ranges.push_back({first->value, last->value, pool_path});
      }
    }
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.first < b.first; });
    for (size_t i = 1; i < ranges.size(); ++i) {
      if (ranges[i].first <= ranges[i - 1].last) {
        Problem(ranges[i].path, absl::StrCat("pool overlaps ", ranges[i - 1].path));
      }
    }
  }

  void CheckHosts() {
    std::map<std::string, std::string> macs, addresses, circuit_ids, remote_ids, client_ids;
    for (int h = 0; h < config_.hosts_size(); ++h) {
      const v1::Host& host = config_.hosts(h);
      std::string path = absl::StrCat("hosts[", h, "]");
      if (host.mac().empty() && host.circuit_id().empty() && host.remote_id().empty() &&
          host.client_id().empty()) {
        Problem(path, "needs a mac, client_id, circuit_id or remote_id to be recognised");
      }
      if (!host.client_id().empty()) {
        // RFC 2132 §9.14: option 61 is at least 2 bytes (a type and a value).
        std::string why;
        std::optional<std::string> id = net::ParseHexBytes(host.client_id(), &why);
        if (!id) {
          Problem(path + ".client_id", absl::StrCat("'", host.client_id(), "' is ", why));
        } else if (id->size() < 2 || id->size() > 255) {
          Problem(path + ".client_id",
                  absl::StrCat("a client identifier is 2 to 255 bytes, not ", id->size()));
        } else if (auto [it, fresh] = client_ids.emplace(*id, path); !fresh) {
          Problem(path + ".client_id",
                  absl::StrCat("client id '", host.client_id(), "' is also ", it->second));
        }
      }
      if (!host.mac().empty()) {
        std::optional<net::MacAddress> mac = net::MacAddress::Parse(View(host.mac()));
        if (!mac) {
          Problem(path + ".mac", absl::StrCat("'", host.mac(), "' is not a MAC address"));
        } else if (auto [it, fresh] = macs.emplace(mac->ToString(), path); !fresh) {
          Problem(path + ".mac", absl::StrCat("MAC ", mac->ToString(), " is also ", it->second));
        }
      }
      if (!host.circuit_id().empty()) {
        if (auto [it, fresh] = circuit_ids.emplace(host.circuit_id(), path); !fresh) {
          Problem(path + ".circuit_id",
                  absl::StrCat("circuit id '", host.circuit_id(), "' is also ", it->second));
        }
      }
      if (!host.remote_id().empty()) {
        if (auto [it, fresh] = remote_ids.emplace(host.remote_id(), path); !fresh) {
          Problem(path + ".remote_id",
                  absl::StrCat("remote id '", host.remote_id(), "' is also ", it->second));
        }
      }
      if (!host.ipv4().empty()) {
        std::optional<Ipv4Address> ip = Address(path + ".ipv4", host.ipv4());
        if (ip) {
          bool inside = std::any_of(subnets_.begin(), subnets_.end(),
                                    [&](const Ipv4Interface& n) { return n.Contains(*ip); });
          if (!inside) Problem(path + ".ipv4", absl::StrCat(host.ipv4(), " is in no subnet"));
          if (auto [it, fresh] = addresses.emplace(ip->ToString(), path); !fresh) {
            Problem(path + ".ipv4", absl::StrCat(host.ipv4(), " is also given to ", it->second));
          }
        }
      }
      Profile(path + ".profile", host.profile());
      Profile(path + ".next_boot", host.next_boot());
      Options(path, host.options());
      LeaseTime(path + ".lease_time", host.lease_time());
    }
  }

  // 0 means the default (the global value, for a client class).
  void TftpSizes(const std::string& path, uint32_t blksize, uint32_t windowsize) {
    if (blksize != 0 && (blksize < kMinBlksize || blksize > kMaxBlksize)) {
      Problem(path + ".max_blksize", "must be 8..65464 (RFC 2348)");
    }
    if (windowsize > kMaxWindowsize) {
      Problem(path + ".max_windowsize", "must be 1..65535 (RFC 7440)");
    }
  }

  void Rollover(const std::string& path, uint32_t rollover_to) {
    if (rollover_to > 1) {
      Problem(path + ".rollover_to", absl::StrCat(rollover_to, " is not 0 or 1"));
    }
  }

  void CheckTftp() {
    const v1::Tftp& tftp = config_.tftp();
    TftpSizes("tftp", tftp.max_blksize(), tftp.max_windowsize());
    Rollover("tftp", tftp.rollover_to());
    for (int i = 0; i < tftp.client_classes_size(); ++i) {
      const v1::TftpClientClass& tftp_class = tftp.client_classes(i);
      std::string path = absl::StrCat("tftp.client_classes[", i, "]");
      std::optional<Ipv4Interface> network = Ipv4Interface::Parse(View(tftp_class.network()));
      if (!network) {
        Problem(path + ".network",
                absl::StrCat("'", tftp_class.network(), "' is not a network like 198.18.7.0/24"));
      } else if ((network->address.value & ~network->Netmask()) != 0) {
        Problem(path + ".network", absl::StrCat("'", tftp_class.network(), "' has host bits set"));
      }
      Rollover(path, tftp_class.rollover_to());
      TftpSizes(path, tftp_class.max_blksize(), tftp_class.max_windowsize());
    }
  }

  void CheckServices() {
    CheckTftp();
    if (config_.http().port() > 65535) Problem("http.port", "must be 1..65535");
  }

  const LoadedConfig& loaded_;
  const v1::Config& config_;
  std::set<std::string> profiles_;
  std::vector<Ipv4Interface> subnets_;
  std::vector<std::string> problems_;
};

}  // namespace

std::optional<uint64_t> ParseDurationSeconds(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  uint64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    uint64_t number = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 9; ++i, ++digits) {
      number = number * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    switch (text[i++]) {
      case 's':
        total += number;
        break;
      case 'm':
        total += number * 60;
        break;
      case 'h':
        total += number * 3600;
        break;
      case 'd':
        total += number * 86400;
        break;
      default:
        return std::nullopt;
    }
  }
  return total;
}

std::optional<MacPattern> ParseMacPattern(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), absl::ByAnyChar(":-"));
  // Six octets, or fewer ending in "*", which covers the rest.
  if (parts.size() > 6 || (parts.size() < 6 && parts.back() != "*")) return std::nullopt;
  MacPattern pattern;
  for (size_t i = 0; i < 6; ++i) {
    absl::string_view part = i < parts.size() ? parts[i] : "*";
    pattern.value <<= 8;
    pattern.mask <<= 8;
    if (part == "*") continue;
    uint32_t octet = 0;
    const char* end = part.data() + part.size();
    auto [stop, ec] = std::from_chars(part.data(), end, octet, 16);
    if (part.empty() || part.size() > 2 || ec != std::errc() || stop != end) return std::nullopt;
    pattern.value |= octet;
    pattern.mask |= 0xff;
  }
  return pattern;
}

std::vector<const char*> ClassMatchers(const v1::ClientClass& c) {
  std::vector<const char*> matchers;
  for (const auto& [count, field] : {std::pair{c.mac_size(), "mac"},
                                     {c.vendor_class_size(), "vendor_class"},
                                     {c.user_class_size(), "user_class"},
                                     {c.arch_size(), "arch"},
                                     {c.circuit_id_size(), "circuit_id"},
                                     {c.remote_id_size(), "remote_id"}}) {
    if (count > 0) matchers.push_back(field);
  }
  return matchers;
}

std::optional<std::vector<uint32_t>> ParseClientArch(std::string_view text) {
  static constexpr std::pair<std::string_view, uint32_t> kNames[] = {
      {"bios", 0},       {"efi_ia32", 6},      {"efi_x64", 7},        {"efi_x64", 9},
      {"efi_arm64", 11}, {"efi_x64_http", 16}, {"efi_arm64_http", 19}};
  std::vector<uint32_t> codes;
  for (const auto& [name, code] : kNames) {
    if (name == text) codes.push_back(code);
  }
  if (!codes.empty()) return codes;
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t number = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    number = number * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (number > 0xffff) return std::nullopt;
  return std::vector<uint32_t>{number};
}

std::vector<std::string> Validate(const LoadedConfig& loaded) { return Checker(loaded).Run(); }

}  // namespace stampede::config
