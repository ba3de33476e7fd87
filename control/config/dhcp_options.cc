#include "control/config/dhcp_options.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "dataplane/dhcp/options.h"
#include "dataplane/net/address.h"
#include "dataplane/policy/tables.h"

namespace stampede::config {
namespace {

enum class Type {
  kIpv4,
  kUint8,
  kUint16,
  kUint32,
  kInt32,
  kBoolean,
  kString,
  kHostName,  // a string that must be a host name
  kFqdn,      // RFC 1035 §3.1 names, uncompressed
  kBinary,    // hex
  kRoutes,    // RFC 3442 classless static routes
};

struct Known {
  uint8_t code;
  absl::string_view name;
  Type type;
  bool list;
};

// Kea's names for the options of RFC 2132 and later that a boot network
// sets; any other goes by code and type.
constexpr Known kKnown[] = {
    {2, "time-offset", Type::kInt32, false},
    {4, "time-servers", Type::kIpv4, true},
    {7, "log-servers", Type::kIpv4, true},
    {9, "lpr-servers", Type::kIpv4, true},
    {12, "host-name", Type::kHostName, false},
    {13, "boot-size", Type::kUint16, false},
    {14, "merit-dump", Type::kString, false},
    {16, "swap-server", Type::kIpv4, false},
    {17, "root-path", Type::kString, false},
    {18, "extensions-path", Type::kString, false},
    {19, "ip-forwarding", Type::kBoolean, false},
    {23, "default-ip-ttl", Type::kUint8, false},
    {26, "interface-mtu", Type::kUint16, false},
    {27, "all-subnets-local", Type::kBoolean, false},
    {28, "broadcast-address", Type::kIpv4, false},
    {31, "router-discovery", Type::kBoolean, false},
    {35, "arp-cache-timeout", Type::kUint32, false},
    {37, "default-tcp-ttl", Type::kUint8, false},
    {38, "tcp-keepalive-interval", Type::kUint32, false},
    {40, "nis-domain", Type::kString, false},
    {41, "nis-servers", Type::kIpv4, true},
    {42, "ntp-servers", Type::kIpv4, true},
    {44, "netbios-name-servers", Type::kIpv4, true},
    {46, "netbios-node-type", Type::kUint8, false},
    {47, "netbios-scope", Type::kString, false},
    {69, "smtp-server", Type::kIpv4, true},
    {70, "pop-server", Type::kIpv4, true},
    {72, "www-server", Type::kIpv4, true},
    {100, "pcode", Type::kString, false},
    {101, "tcode", Type::kString, false},
    {114, "v4-captive-portal", Type::kString, false},
    {119, "domain-search", Type::kFqdn, true},
    {121, "classless-static-route", Type::kRoutes, true},
};

// What `type` may say, for an option by code.
constexpr std::pair<absl::string_view, Type> kTypeNames[] = {
    {"ipv4", Type::kIpv4},     {"uint8", Type::kUint8}, {"uint16", Type::kUint16},
    {"uint32", Type::kUint32}, {"int32", Type::kInt32}, {"boolean", Type::kBoolean},
    {"string", Type::kString}, {"fqdn", Type::kFqdn},   {"binary", Type::kBinary},
};

std::string_view Std(absl::string_view text) { return {text.data(), text.size()}; }

// RFC 2132 §5.1: the smallest MTU.
constexpr uint32_t kMinMtu = 68;

const Known* FindKnown(uint32_t code) {
  for (const Known& k : kKnown) {
    if (k.code == code) return &k;
  }
  return nullptr;
}

const Known* FindKnown(absl::string_view name) {
  for (const Known& k : kKnown) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

bool IsLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

template <typename T>
std::optional<T> Number(absl::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void Put(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i) & 0xff));
}

// One list item (or the whole value) of `type` appended to `out`; an error
// text when it is not one.
std::optional<std::string> EncodeItem(Type type, absl::string_view item, std::string& out) {
  switch (type) {
    case Type::kIpv4: {
      std::optional<net::Ipv4Address> address = net::Ipv4Address::Parse(Std(item));
      if (!address) return absl::StrCat("'", item, "' is not an IPv4 address");
      Put(out, address->value, 4);
      return std::nullopt;
    }
    case Type::kUint8:
    case Type::kUint16:
    case Type::kUint32: {
      int bytes = type == Type::kUint8 ? 1 : type == Type::kUint16 ? 2 : 4;
      uint64_t max = bytes == 4 ? UINT32_MAX : (uint64_t{1} << (8 * bytes)) - 1;
      std::optional<uint64_t> value = Number<uint64_t>(item);
      if (!value || *value > max) return absl::StrCat("'", item, "' is not a number 0..", max);
      Put(out, *value, bytes);
      return std::nullopt;
    }
    case Type::kInt32: {
      std::optional<int32_t> value = Number<int32_t>(item);
      if (!value) return absl::StrCat("'", item, "' is not a number -2147483648..2147483647");
      Put(out, static_cast<uint32_t>(*value), 4);
      return std::nullopt;
    }
    case Type::kBoolean: {
      std::string lower = absl::AsciiStrToLower(item);
      if (lower != "true" && lower != "false" && lower != "1" && lower != "0") {
        return absl::StrCat("'", item, "' is not true or false");
      }
      out.push_back(lower == "true" || lower == "1" ? 1 : 0);
      return std::nullopt;
    }
    case Type::kString:
      if (item.empty()) return "is empty";
      if (item.find('\0') != absl::string_view::npos) return "holds a NUL byte";
      out.append(item.data(), item.size());
      return std::nullopt;
    case Type::kHostName:
      if (!IsHostName(Std(item))) {
        return absl::StrCat("'", item,
                            "' is not a host name (letters, digits, hyphens; labels of 1..63)");
      }
      out.append(item.data(), item.size());
      return std::nullopt;
    case Type::kFqdn: {
      absl::string_view name = item;
      if (!name.empty() && name.back() == '.') name.remove_suffix(1);
      if (name.empty() || name.size() > 253) return absl::StrCat("'", item, "' is not a domain");
      for (absl::string_view label : absl::StrSplit(name, '.')) {
        if (!IsLabel(label)) {
          return absl::StrCat("'", item, "' is not a domain (label '", label, "')");
        }
        out.push_back(static_cast<char>(label.size()));
        out.append(label.data(), label.size());
      }
      out.push_back(0);
      return std::nullopt;
    }
    case Type::kBinary: {
      std::string why;
      std::optional<std::string> bytes =
          net::ParseHexBytes(std::string_view(item.data(), item.size()), &why);
      if (!bytes) return absl::StrCat("'", item, "' is ", why);
      out += *bytes;
      return std::nullopt;
    }
    case Type::kRoutes: {
      // "198.18.5.0/24 - 198.18.0.1": RFC 3442 §3, the destination's
      // significant octets after its width, then the router.
      std::vector<absl::string_view> parts = absl::StrSplit(item, '-');
      absl::string_view destination = parts.size() == 2 ? absl::StripAsciiWhitespace(parts[0]) : "";
      std::optional<net::Ipv4Interface> network = net::Ipv4Interface::Parse(Std(destination));
      std::optional<net::Ipv4Address> router =
          parts.size() == 2 ? net::Ipv4Address::Parse(Std(absl::StripAsciiWhitespace(parts[1])))
                            : std::nullopt;
      if (!network || !router) {
        return absl::StrCat("'", item, "' is not a route like 198.18.5.0/24 - 198.18.0.1");
      }
      if ((network->address.value & ~network->Netmask()) != 0) {
        return absl::StrCat("'", destination, "' has host bits set");
      }
      out.push_back(static_cast<char>(network->prefix_length));
      int significant = static_cast<int>((network->prefix_length + 7) / 8);
      for (int i = 0; i < significant; ++i) {
        out.push_back(static_cast<char>(network->address.value >> (24 - 8 * i) & 0xff));
      }
      Put(out, router->value, 4);
      return std::nullopt;
    }
  }
  return "has an unknown type";
}

std::string TypeNames() {
  std::vector<absl::string_view> names;
  for (const auto& [name, type] : kTypeNames) names.push_back(name);
  return absl::StrJoin(names, ", ");
}

}  // namespace

bool IsHostName(std::string_view text) {
  absl::string_view name(text.data(), text.size());
  if (name.empty() || name.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (!IsLabel(label)) return false;
  }
  return true;
}

std::string OptionLabel(uint32_t code) {
  const Known* known = FindKnown(code);
  return known != nullptr ? absl::StrCat(known->name, " (", code, ")")
                          : absl::StrCat("option ", code);
}

absl::StatusOr<v1::CompiledOption> EncodeOption(const v1::DhcpOption& option, std::string& field) {
  auto error = [&](absl::string_view at, absl::string_view what) {
    field = std::string(at);
    return absl::InvalidArgumentError(what);
  };
  const Known* known = nullptr;
  if (!option.name().empty()) {
    known = FindKnown(option.name());
    if (known == nullptr) {
      return error("name", absl::StrCat("no option is named '", option.name(),
                                        "' here; give its code and type instead"));
    }
    if (option.code() != 0 && option.code() != known->code) {
      return error(
          "code", absl::StrCat(option.name(), " is option ", known->code, ", not ", option.code()));
    }
  } else if (option.code() == 0) {
    return error("name", "needs a name or a code");
  }
  uint32_t code = known != nullptr ? known->code : option.code();
  if (code > 254) return error("code", absl::StrCat(code, " is not an option code 1..254"));
  if (dhcp::option::ServerOwned(static_cast<uint8_t>(code))) {
    absl::string_view instead = code == dhcp::option::kSubnetMask ? ": the subnet's prefix sets it"
                                : code == dhcp::option::kRouter   ? ": use the subnet's router"
                                : code == dhcp::option::kDns      ? ": use the subnet's dns"
                                : code == dhcp::option::kDomainName ? ": use the subnet's domain"
                                                                    : "";
    return error(option.name().empty() ? "code" : "name",
                 absl::StrCat("option ", code, " is set by stampede itself", instead));
  }
  Type type;
  bool list;
  if (known == nullptr) {
    known = FindKnown(code);
    if (known != nullptr && option.type().empty()) {
      type = known->type;
      list = known->list;
    } else {
      auto it = std::find_if(std::begin(kTypeNames), std::end(kTypeNames),
                             [&](const auto& t) { return t.first == option.type(); });
      if (it == std::end(kTypeNames)) {
        return error("type",
                     option.type().empty()
                         ? absl::StrCat("option ", code, " needs a type: ", TypeNames())
                         : absl::StrCat("'", option.type(), "' is not one of: ", TypeNames()));
      }
      type = it->second;
      list = type != Type::kString && type != Type::kBinary;
    }
  } else {
    if (!option.type().empty()) {
      return error("type", absl::StrCat(known->name, " has a type of its own; leave type out"));
    }
    type = known->type;
    list = known->list;
  }
  absl::string_view data = absl::StripAsciiWhitespace(option.data());
  if (data.empty()) return error("data", "is required: the option's value");
  std::string value;
  std::vector<absl::string_view> items;
  if (list) {
    items = absl::StrSplit(data, ',');
  } else {
    items.push_back(data);
  }
  if (!list && type != Type::kString && type != Type::kBinary && data.find(',') != data.npos) {
    return error("data", absl::StrCat(OptionLabel(code), " takes one value"));
  }
  for (absl::string_view item : items) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) return error("data", "has an empty item in its list");
    if (std::optional<std::string> problem = EncodeItem(type, item, value)) {
      return error("data", *problem);
    }
  }
  if (code == 26 && value.size() == 2 &&
      static_cast<uint32_t>(static_cast<uint8_t>(value[0]) << 8 | static_cast<uint8_t>(value[1])) <
          kMinMtu) {
    return error("data", absl::StrCat("an MTU is at least ", kMinMtu, " (RFC 2132 §5.1)"));
  }
  if (value.size() > policy::kMaxOptionBytes) {
    return error("data", absl::StrCat("encodes to ", value.size(), " bytes; at most ",
                                      policy::kMaxOptionBytes));
  }
  v1::CompiledOption out;
  out.set_code(code);
  out.set_value(std::move(value));
  out.set_always_send(option.always_send());
  return out;
}

}  // namespace stampede::config
