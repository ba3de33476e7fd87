#include "dataplane/dhcp/server.h"

#include <utility>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <span>
#include <string_view>

namespace stampede::dhcp {

// What the server knows about one request while it answers it.
struct Server::Client {
  const Message& request;
  const RequestContext& context;
  const policy::PolicyTables& policy;
  MessageType type;
  ClientKey key;
  uint64_t mac;
  const v1::CompiledHost* host;      // a reservation, if any
  const v1::CompiledSubnet* subnet;  // the subnet it is on, if any
  uint32_t prefix_length;            // of that subnet
  uint64_t classes;                  // bit i: in policy.dhcp().classes(i); 0 until matched
  bool known = false;                // a host entry or in a `known` class; once matched
};

namespace {

// BootFiles.ipxe: iPXE clients get the architecture's boot program.
constexpr std::string_view kIpxeGetsNbp = "nbp";

std::string_view Text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string_view VendorClass(const Message& m) {
  auto value = m.Option(option::kVendorClass);
  return value ? Text(*value) : std::string_view();
}

bool IsPxeClient(const Message& m) { return VendorClass(m).starts_with("PXEClient"); }
bool IsHttpClient(const Message& m) { return VendorClass(m).starts_with("HTTPClient"); }

// iPXE announces itself with user class "iPXE" (option 77) and its own
// option 175; it then gets the script URL instead of an NBP (no chainload loop).
bool IsIpxe(const Message& m) {
  if (m.Has(option::kIpxeEncap)) return true;
  auto user_class = m.Option(option::kUserClass);
  return user_class && Text(*user_class).find("iPXE") != std::string_view::npos;
}

// Whether the request may get boot options (AddBootOptions).
bool WantsBoot(const Message& m) {
  return IsIpxe(m) || ArchOf(m) != BootArch::kNone || IsHttpClient(m);
}

// Option 82 sub-option `code` (RFC 3046 §2.0: 1 circuit id, 2 remote id).
std::string_view RelaySubOption(const Message& m, uint8_t code) {
  auto info = m.Option(option::kRelayAgentInfo);
  if (!info) return {};
  size_t i = 0;
  while (i + 2 <= info->size()) {
    uint8_t sub = net::Load8(*info, i);
    size_t length = net::Load8(*info, i + 1);
    if (i + 2 + length > info->size()) break;
    if (sub == code) return Text(info->subspan(i + 2, length));
    i += 2 + length;
  }
  return {};
}

// RFC 3527 §3: the link selection sub-option of option 82.
constexpr uint8_t kLinkSelection = 5;

using net::PrefixMask;

// A reserved host's identity for the one-shot next boot, without building a
// string: its MAC, else a hash of its relay ids (top bit set).
uint64_t HostKey(const v1::CompiledHost& host) {
  if (host.mac().size() == 6) {
    return net::MacAddress::Load({reinterpret_cast<const std::byte*>(host.mac().data()), 6}, 0)
        .Key();
  }
  // Journaled with the next boot it used: a hash that survives a restart,
  // each id prefixed by its length so the pair is unambiguous.
  uint64_t hash = 0xcbf29ce484222325;
  for (const std::string& id : {host.circuit_id(), host.remote_id()}) {
    uint8_t length = static_cast<uint8_t>(std::min<size_t>(id.size(), 255));
    hash = StableHash(std::as_bytes(std::span(&length, 1)), hash);
    hash = StableHash(std::as_bytes(std::span(id.data(), id.size())), hash);
  }
  return hash | uint64_t{1} << 63;
}

}  // namespace

std::optional<uint16_t> ClientArchOf(const Message& request) {
  std::optional<uint16_t> arch = request.U16(option::kClientArch);
  if (!arch) {
    // Option 93 can also be a list; take the first entry.
    auto value = request.Option(option::kClientArch);
    if (value && value->size() >= 2 && value->size() % 2 == 0) arch = net::Load16(*value, 0);
  }
  return arch;
}

BootArch ArchOf(const Message& request) {
  std::optional<uint16_t> arch = ClientArchOf(request);
  if (!arch) return IsPxeClient(request) ? BootArch::kBios : BootArch::kNone;
  switch (*arch) {
    case 0:
      return BootArch::kBios;
    case 6:
      return BootArch::kEfiIa32;
    case 7:
    case 9:
      return BootArch::kEfiX64;
    case 11:
      return BootArch::kEfiArm64;
    case 16:
      return BootArch::kEfiX64Http;
    case 19:
      return BootArch::kEfiArm64Http;
    default:
      return BootArch::kNone;
  }
}

namespace {

bool AnyEquals(const google::protobuf::RepeatedPtrField<std::string>& items,
               std::string_view value) {
  for (const std::string& item : items) {
    if (item == value) return true;
  }
  return false;
}

// Option 77 is `wanted` whole (iPXE's "iPXE") or holds it as one of its RFC
// 3004 items (a length, then the bytes).
bool UserClassHas(std::string_view value, std::string_view wanted) {
  if (value == wanted) return true;
  for (size_t i = 0; i < value.size();) {
    size_t length = static_cast<uint8_t>(value[i]);
    if (length == 0 || i + 1 + length > value.size()) return false;
    if (value.substr(i + 1, length) == wanted) return true;
    i += 1 + length;
  }
  return false;
}

// The classes the request is in: bit i for policy.dhcp().classes(i).
uint64_t ClassesOf(const Message& request, const policy::PolicyTables& policy) {
  const auto& classes = policy.policy.dhcp().classes();
  if (classes.empty()) return 0;  // most policies
  bool ethernet = request.htype == 1 && request.hlen == 6;
  uint64_t mac = ethernet ? request.Mac().Key() : 0;
  auto vendor = request.Option(option::kVendorClass);
  auto user = request.Option(option::kUserClass);
  std::optional<uint16_t> arch = ClientArchOf(request);
  std::string_view circuit_id = RelaySubOption(request, 1);
  std::string_view remote_id = RelaySubOption(request, 2);
  uint64_t in = 0;
  for (int i = 0; i < classes.size() && i < static_cast<int>(policy::kMaxClientClasses); ++i) {
    const v1::CompiledClass& c = classes[i];
    auto mac_matches = [&] {
      for (const v1::MacPattern& p : c.macs()) {
        if ((mac & p.mask()) == p.value()) return true;
      }
      return false;
    };
    if (!c.macs().empty() && (!ethernet || !mac_matches())) continue;
    if (!c.vendor_classes().empty()) {
      std::string_view text = vendor ? Text(*vendor) : std::string_view();
      bool any = false;
      for (const std::string& prefix : c.vendor_classes()) any = any || text.starts_with(prefix);
      if (!any) continue;
    }
    if (!c.user_classes().empty()) {
      std::string_view text = user ? Text(*user) : std::string_view();
      bool any = false;
      for (const std::string& wanted : c.user_classes()) any = any || UserClassHas(text, wanted);
      if (!any) continue;
    }
    if (!c.client_archs().empty() &&
        (!arch || std::find(c.client_archs().begin(), c.client_archs().end(), *arch) ==
                      c.client_archs().end())) {
      continue;
    }
    if (!c.circuit_ids().empty() && !AnyEquals(c.circuit_ids(), circuit_id)) continue;
    if (!c.remote_ids().empty() && !AnyEquals(c.remote_ids(), remote_id)) continue;
    in |= uint64_t{1} << i;
  }
  return in;
}

// One of `classes` (ClassesOf's set) says its clients are known.
bool AnyKnown(uint64_t classes, const policy::PolicyTables& policy) {
  return (classes & policy.known_classes) != 0;
}

// The host's lease time, else the first of `classes` with one, else the
// subnet's.
uint32_t LeaseSeconds(const v1::CompiledHost* host, uint64_t classes,
                      const policy::PolicyTables& policy, const v1::CompiledSubnet& subnet) {
  if (host != nullptr && host->lease_seconds() != 0) return host->lease_seconds();
  if (uint64_t timed = classes & policy.lease_time_classes; timed != 0) {
    return policy.policy.dhcp().classes(std::countr_zero(timed)).lease_seconds();
  }
  return subnet.lease_seconds();
}

// A client in `classes`, `known` or not, may take addresses from `pool`.
bool OpenTo(const v1::AddressRange& pool, uint64_t classes, bool known) {
  bool wanted = (pool.allow_classes() == 0 && !pool.allow_known()) ||
                (pool.allow_classes() & classes) != 0 || (pool.allow_known() && known);
  return wanted && (pool.deny_classes() & classes) == 0 && !(pool.deny_known() && known);
}

}  // namespace

Decision Server::Handle(const Message& request, const RequestContext& context,
                        const policy::PolicyTables& policy, net::ByteSpan reply,
                        size_t reply_limit) {
  MessageType type = request.Type();
  next_boot_host_ = 0;
  auto client_id = request.Option(option::kClientId);
  ClientKey key;
  if (client_id && !client_id->empty()) {
    key = ClientKey::From(*client_id);
  } else {
    std::byte id[17];
    id[0] = std::byte{request.htype};
    size_t hlen = std::min<size_t>(request.hlen, 16);
    std::memcpy(id + 1, request.chaddr.data(), hlen);
    key = ClientKey::From({id, hlen + 1});
  }
  net::MacAddress mac = request.Mac();
  // A host by the client identifier first (dnsmasq's order: it names the
  // client even when its MAC does not), then by MAC, then by option 82.
  const v1::CompiledHost* host = client_id ? policy.HostByClientId(Text(*client_id)) : nullptr;
  if (host == nullptr && request.htype == 1 && request.hlen == 6) {
    host = policy.HostByMac(std::span<const std::byte, 6>(
        reinterpret_cast<const std::byte*>(request.chaddr.data()), 6));
  }
  if (host == nullptr && request.Has(option::kRelayAgentInfo)) {
    host = policy.HostByRelayIds(RelaySubOption(request, 1), RelaySubOption(request, 2));
  }
  // The client's subnet, in the order Kea uses: the subnet selection option
  // (RFC 3011, option 118), the relay's link selection (RFC 3527, option 82
  // sub-option 5), the relay's own address (giaddr), a renewing client's
  // address, else the interface the request came in on.
  uint32_t where = request.giaddr.value != 0   ? request.giaddr.value
                   : request.ciaddr.value != 0 ? request.ciaddr.value
                                               : context.local.address.value;
  std::string_view link = RelaySubOption(request, kLinkSelection);
  if (auto selection = request.Address(option::kSubnetSelection)) {
    where = selection->value;
  } else if (link.size() == 4) {
    where = net::Load32({reinterpret_cast<const std::byte*>(link.data()), 4}, 0);
  }
  const v1::CompiledSubnet* subnet = policy.SubnetOf(where);
  Client c{request, context, policy,
           type,    key,     mac.Key(),
           host,    subnet,  subnet ? subnet->prefix_length() : 0,
           0};

  if (type == MessageType::kNone || type == MessageType::kOffer || type == MessageType::kAck ||
      type == MessageType::kNak) {
    DhcpCounters::Bump(counters_->ignored);
    return {};
  }
  // A known_clients_only subnet answers hosts[] and clients of classes with
  // `known: true` alone; what a client gives back (RELEASE, DECLINE) is
  // still taken. (Such a class does not exempt from the rate limit, as a
  // host does: a MAC pattern is easy to flood from.)
  bool matched = false;
  if (host == nullptr && subnet != nullptr && subnet->known_clients_only() &&
      type != MessageType::kRelease && type != MessageType::kDecline) {
    c.classes = ClassesOf(request, policy);
    matched = true;
    if (!AnyKnown(c.classes, policy)) {
      DhcpCounters::Bump(counters_->unknown_clients);
      return {};
    }
  }
  if (RateLimited(c)) {
    DhcpCounters::Bump(counters_->rate_limited);
    return {};
  }
  // Only for what is answered: a flood that is dropped above is not matched.
  if (!matched) c.classes = ClassesOf(request, policy);
  c.known = host != nullptr || AnyKnown(c.classes, policy);
  ReplyBuilder out(reply, reply_limit);
  if (policy.policy.dhcp().mode() == v1::CompiledDhcp::PROXY) return Proxy(c, out);
  if (context.boot_server_port) {
    DhcpCounters::Bump(counters_->ignored);  // port 4011 serves proxyDHCP only
    return {};
  }
  switch (type) {
    case MessageType::kDiscover:
      return Discover(c, out);
    case MessageType::kRequest:
      return Request(c, out);
    case MessageType::kDecline:
      return Decline(c);
    case MessageType::kRelease:
      return Release(c);
    case MessageType::kInform:
      return Inform(c, out);
    default:
      DhcpCounters::Bump(counters_->ignored);
      return {};
  }
}

bool Server::RateLimited(const Client& c) {
  // Reserved hosts are never limited: a flood of made-up MACs must not keep
  // known machines from booting.
  if (c.host != nullptr) return false;
  uint32_t rate = c.policy.policy.limits().dhcp_rate_per_mac();
  return rate != 0 && rate_limiter_.Limited(c.mac, c.context.now_ms, rate);
}

// A reserved host may have only its fixed address (when it has one); others
// only pool addresses.
bool Server::Allowed(const Client& c, uint32_t address) const {
  if (c.host != nullptr && c.host->ipv4() != 0) return address == c.host->ipv4();
  return InPool(c, address);
}

void Server::ReserveFor(const policy::PolicyTables& policy) {
  uint64_t addresses = policy.host_by_address.size();
  for (const v1::CompiledSubnet& subnet : policy.policy.dhcp().subnets()) {
    for (const v1::AddressRange& pool : subnet.pools()) {
      if (pool.last() >= pool.first()) addresses += uint64_t{pool.last()} - pool.first() + 1;
    }
  }
  leases_.Reserve(static_cast<size_t>(addresses));  // capped there
}

bool Server::InPool(const Client& c, uint32_t address) const {
  for (const v1::AddressRange& pool : c.subnet->pools()) {
    if (address >= pool.first() && address <= pool.last()) return OpenTo(pool, c.classes, c.known);
  }
  return false;
}

// The address may be this client's: on its subnet, not the appliance's,
// not another host's reservation, not held by anyone else.
bool Server::Usable(const Client& c, uint32_t address) const {
  if (c.subnet == nullptr || (address & PrefixMask(c.prefix_length)) != c.subnet->network())
    return false;
  if (address == c.context.local.address.value) return false;
  if (auto it = c.policy.host_by_address.find(address); it != c.policy.host_by_address.end()) {
    if (&c.policy.policy.hosts(static_cast<int>(it->second)) != c.host) return false;
  }
  return leases_.AvailableFor(address, c.key, c.context.now_ms);
}

std::optional<uint32_t> Server::ChooseAddress(const Client& c,
                                              const LeaseTable::ClientLeases& mine) {
  if (c.host != nullptr && c.host->ipv4() != 0) {
    return Usable(c, c.host->ipv4()) ? std::optional<uint32_t>(c.host->ipv4()) : std::nullopt;
  }
  const v1::CompiledSubnet& subnet = *c.subnet;
  auto pooled = [&](uint32_t a) { return InPool(c, a) && Usable(c, a); };
  if (const Lease* held = mine.held;
      held != nullptr && held->state != LeaseState::kDeclined && pooled(held->address)) {
    return held->address;
  }
  if (auto requested = c.request.Address(option::kRequestedAddress);
      requested && pooled(requested->value)) {
    return requested->value;
  }
  if (mine.last && pooled(*mine.last)) return *mine.last;
  // A bounded walk of the pools open to the client from where the last
  // allocation stopped.
  uint64_t size = 0;
  for (const v1::AddressRange& pool : subnet.pools()) {
    if (OpenTo(pool, c.classes, c.known)) size += uint64_t{pool.last()} - pool.first() + 1;
  }
  uint32_t& cursor = pool_cursor_[subnet.network()];
  for (uint64_t step = 0; step < size; ++step) {
    uint64_t index = (cursor + step) % size;
    for (const v1::AddressRange& pool : subnet.pools()) {
      if (!OpenTo(pool, c.classes, c.known)) continue;
      uint64_t span = uint64_t{pool.last()} - pool.first() + 1;
      if (index >= span) {
        index -= span;
        continue;
      }
      uint32_t address = static_cast<uint32_t>(pool.first() + index);
      if (Usable(c, address)) {
        cursor = static_cast<uint32_t>((cursor + step + 1) % size);
        return address;
      }
      break;
    }
  }
  return std::nullopt;
}

Decision Server::Discover(const Client& c, ReplyBuilder& out) {
  DhcpCounters::Bump(counters_->discovers);
  if (c.subnet == nullptr) {
    DhcpCounters::Bump(counters_->no_subnet);
    return {};
  }
  // What it holds and what it held last, from one probe of the table.
  LeaseTable::ClientLeases mine = leases_.ForClient(c.key);
  std::optional<uint32_t> address = ChooseAddress(c, mine);
  if (!address) {
    DhcpCounters::Bump(counters_->pool_exhausted);
    Decision d;
    d.exhausted_subnet = c.subnet->network();
    d.exhausted_prefix = c.subnet->prefix_length();
    return d;
  }
  // An address the client already holds stays bound; otherwise it is held
  // for the offer, so a retried DISCOVER gets the same one. (The client
  // holds one address at most: `mine.held`, no other lookup needed.)
  const Lease* held = mine.held;
  if (held == nullptr || held->address != *address || held->state != LeaseState::kBound ||
      held->expires_ms <= c.context.now_ms) {
    leases_.Put(
        {*address, c.key, LeaseState::kOffered, c.context.now_ms + kOfferHoldMs, c.request.xid});
  }
  out.Begin(c.request, MessageType::kOffer);
  out.SetYiaddr({*address});
  AddNetworkOptions(c, out, LeaseSeconds(c.host, c.classes, c.policy, *c.subnet), /*final=*/false);
  DhcpCounters::Bump(counters_->offers);
  return Finish(c, out, MessageType::kOffer, *address);
}

Decision Server::Request(const Client& c, ReplyBuilder& out) {
  DhcpCounters::Bump(counters_->requests);
  const Message& r = c.request;
  std::optional<net::Ipv4Address> server_id = r.Address(option::kServerId);
  std::optional<net::Ipv4Address> requested = r.Address(option::kRequestedAddress);
  if (server_id) {
    // SELECTING (RFC 2131 §4.3.2): answer only if we are the chosen server.
    if (server_id->value != c.context.local.address.value) {
      if (const Lease* held = leases_.ByClient(c.key);
          held != nullptr && held->state == LeaseState::kOffered) {
        leases_.Remove(held->address);  // the offer it turned down
      }
      DhcpCounters::Bump(counters_->other_server);
      return {};
    }
    if (!requested || r.ciaddr.value != 0 || c.subnet == nullptr) return Nak(c, out);
    if (!Allowed(c, requested->value) || !Usable(c, requested->value)) return Nak(c, out);
    return Ack(c, requested->value, out);
  }
  // INIT-REBOOT (requested address, no ciaddr) or RENEWING/REBINDING (ciaddr).
  uint32_t address = requested && r.ciaddr.value == 0 ? requested->value : r.ciaddr.value;
  if (address == 0 || c.subnet == nullptr) return Nak(c, out);
  if (!Allowed(c, address) || !Usable(c, address)) return Nak(c, out);
  return Ack(c, address, out);
}

Decision Server::Ack(const Client& c, uint32_t address, ReplyBuilder& out) {
  uint32_t lease_seconds = LeaseSeconds(c.host, c.classes, c.policy, *c.subnet);
  Lease lease{address, c.key, LeaseState::kBound, c.context.now_ms + uint64_t{lease_seconds} * 1000,
              c.request.xid};
  leases_.Put(lease);
  out.Begin(c.request, MessageType::kAck);
  out.SetYiaddr({address});
  AddNetworkOptions(c, out, lease_seconds, /*final=*/true);
  uint32_t boot_profile = boot_profile_;
  // An ACK without boot options empties the entry (the address may have
  // changed hands).
  NoteClientBoot(c, address, boot_profile);
  DhcpCounters::Bump(counters_->acks);
  Decision d = Finish(c, out, MessageType::kAck, address);
  d.change = LeaseChange::kGranted;
  d.lease = lease;
  d.boot_profile = boot_profile;
  if (std::optional<uint16_t> arch = ClientArchOf(c.request)) d.client_arch = *arch;
  return d;
}

Decision Server::Nak(const Client& c, ReplyBuilder& out) {
  out.Begin(c.request, MessageType::kNak);
  out.AddAddress(option::kServerId, c.context.local.address);
  out.AddText(option::kMessage, "address not available");
  DhcpCounters::Bump(counters_->naks);
  Decision d;
  d.reply = true;
  d.reply_type = MessageType::kNak;
  d.reply_length = out.Finish();
  // RFC 2131 §4.1: a NAK goes to the relay, or is broadcast.
  d.to_relay = c.request.giaddr.value != 0;
  d.broadcast = !d.to_relay;
  d.destination = c.request.giaddr;
  return d;
}

Decision Server::Decline(const Client& c) {
  DhcpCounters::Bump(counters_->declines);
  auto server_id = c.request.Address(option::kServerId);
  auto requested = c.request.Address(option::kRequestedAddress);
  if (!server_id || server_id->value != c.context.local.address.value || !requested) return {};
  const Lease* held = leases_.ByAddress(requested->value);
  if (held == nullptr || !(held->client == c.key)) return {};
  // The address is in use by someone we do not know of: quarantined, and
  // the client's next DISCOVER gets another one.
  Lease quarantined{requested->value, c.key, LeaseState::kDeclined,
                    c.context.now_ms + kDeclineQuarantineMs, c.request.xid};
  quarantined.client.overflow_hash ^= 0x9e3779b97f4a7c15;  // held by nobody
  leases_.Put(quarantined);
  if (directory_ != nullptr) directory_->Clear(requested->value);
  Decision d;
  d.change = LeaseChange::kDeclined;
  d.lease = quarantined;
  return d;
}

Decision Server::Release(const Client& c) {
  DhcpCounters::Bump(counters_->releases);
  auto server_id = c.request.Address(option::kServerId);
  if (!server_id || server_id->value != c.context.local.address.value) return {};
  const Lease* held = leases_.ByAddress(c.request.ciaddr.value);
  if (held == nullptr || !(held->client == c.key)) return {};
  Decision d;
  d.change = LeaseChange::kReleased;
  d.lease = *held;
  leases_.Remove(c.request.ciaddr.value);
  if (directory_ != nullptr) directory_->Clear(c.request.ciaddr.value);
  return d;
}

Decision Server::Inform(const Client& c, ReplyBuilder& out) {
  DhcpCounters::Bump(counters_->informs);
  if (c.subnet == nullptr || c.request.ciaddr.value == 0) {
    DhcpCounters::Bump(counters_->no_subnet);
    return {};
  }
  // RFC 2131 §3.4: configuration only, no lease, no lease time.
  out.Begin(c.request, MessageType::kAck);
  AddNetworkOptions(c, out, 0, /*final=*/false);
  DhcpCounters::Bump(counters_->acks);
  return Finish(c, out, MessageType::kAck, 0);
}

Decision Server::Proxy(const Client& c, ReplyBuilder& out) {
  // proxyDHCP (PXE spec §2.2.5): only PXE clients, no address, boot fields
  // only; DISCOVERs on 67 and REQUESTs on 4011.
  if (!IsPxeClient(c.request) && !IsHttpClient(c.request)) {
    DhcpCounters::Bump(counters_->ignored);
    return {};
  }
  bool discover = c.type == MessageType::kDiscover && !c.context.boot_server_port;
  bool boot_request = c.type == MessageType::kRequest && c.context.boot_server_port;
  if (!discover && !boot_request) {
    DhcpCounters::Bump(counters_->ignored);
    Decision d;
    if (c.type == MessageType::kRequest) {
      // A REQUEST on 67 is the site server's (stampede never ACKs there):
      // it says which address this client asks for, the one its TFTP and
      // HTTP requests will likely come from.
      std::optional<net::Ipv4Address> asked = c.request.Address(option::kRequestedAddress);
      uint32_t address = asked ? asked->value : c.request.ciaddr.value;
      if (address != 0) {
        d.proxy = ProxyStep::kRequested;
        d.lease.client = c.key;
        d.lease.address = address;
        if (std::optional<uint16_t> arch = ClientArchOf(c.request)) d.client_arch = *arch;
      }
    }
    return d;
  }
  MessageType type = discover ? MessageType::kOffer : MessageType::kAck;
  out.Begin(c.request, type);
  out.AddAddress(option::kServerId, c.context.local.address);
  if (!AddBootOptions(c, out, /*final=*/boot_request)) {
    // Nothing to boot: stay silent, the site server answers.
    DhcpCounters::Bump(counters_->ignored);
    return {};
  }
  DhcpCounters::Bump(counters_->proxy_offers);
  Decision d = Finish(c, out, type, 0);
  d.proxy = discover ? ProxyStep::kOffered : ProxyStep::kAcked;
  d.lease.client = c.key;
  d.lease.address = discover ? 0 : c.request.ciaddr.value;
  d.boot_profile = boot_profile_;
  // The address a boot-server request comes from gets its per-client
  // files as a leased one does.
  if (boot_request && d.lease.address != 0) NoteClientBoot(c, d.lease.address, d.boot_profile);
  if (std::optional<uint16_t> arch = ClientArchOf(c.request)) d.client_arch = *arch;
  if (boot_request) {
    d.broadcast = false;
    d.to_source = true;
  }
  return d;
}

void Server::NoteClientBoot(const Client& c, uint32_t address, uint32_t profile) {
  // What this address boots, for the files answered per client.
  if (directory_ != nullptr &&
      !directory_->Set(address, profile, boot_once_, c.policy.profile_fingerprint)) {
    DhcpCounters::Bump(counters_->client_directory_full);
  }
}

void Server::AddNetworkOptions(const Client& c, ReplyBuilder& out, uint32_t lease_seconds,
                               bool final) {
  const v1::CompiledSubnet& s = *c.subnet;
  // Server id and lease times first; then what the client asked for, in its
  // order (option 55); then the rest of what this subnet has.
  out.AddAddress(option::kServerId, c.context.local.address);
  if (lease_seconds != 0) {
    out.AddU32(option::kLeaseTime, lease_seconds);
    out.AddU32(option::kRenewalTime,
               static_cast<uint32_t>(uint64_t{lease_seconds} * kT1Permille / 1000));
    out.AddU32(option::kRebindingTime,
               static_cast<uint32_t>(uint64_t{lease_seconds} * kT2Permille / 1000));
  }
  // The operator's options (each list sorted by code): the host's win over
  // its classes', which win over the subnet's.
  using Options = google::protobuf::RepeatedPtrField<v1::CompiledOption>;
  const Options* lists[policy::kMaxClientClasses + 2];
  size_t list_count = 0;
  if (c.host != nullptr) lists[list_count++] = &c.host->options();
  for (uint64_t in = c.classes; in != 0; in &= in - 1) {
    lists[list_count++] = &c.policy.policy.dhcp().classes(std::countr_zero(in)).options();
  }
  lists[list_count++] = &s.options();
  std::span<const Options* const> option_lists(lists, list_count);
  auto configured = [&](uint8_t code) -> const v1::CompiledOption* {
    for (const Options* list : option_lists) {
      for (const v1::CompiledOption& o : *list) {
        if (o.code() >= code) {
          if (o.code() == code) return &o;
          break;
        }
      }
    }
    return nullptr;
  };
  // A boot client's configured options go after its boot options: when the
  // client's maximum message size cannot take everything, they are the ones
  // left out, never the boot file.
  bool defer = WantsBoot(c.request);
  const v1::CompiledOption* deferred[256];
  size_t deferred_count = 0;
  auto add_configured = [&](const v1::CompiledOption& o) {
    out.Add(static_cast<uint8_t>(o.code()),
            std::as_bytes(std::span(o.value().data(), o.value().size())));
  };
  uint64_t sent[4] = {};  // a bit per option code: 32 bytes to clear, not 256
  auto add = [&](uint8_t code) {
    uint64_t bit = uint64_t{1} << (code & 63);
    if (sent[code >> 6] & bit) return;
    sent[code >> 6] |= bit;
    if (const v1::CompiledOption* o = configured(code)) {
      if (defer) {
        deferred[deferred_count++] = o;  // each code once (`sent`): never past 256
      } else {
        add_configured(*o);
      }
      return;
    }
    switch (code) {
      case option::kSubnetMask:
        out.AddU32(code, PrefixMask(s.prefix_length()));
        break;
      case option::kRouter:
        if (s.router() != 0) out.AddU32(code, s.router());
        break;
      case option::kDns: {
        std::byte bytes[4 * 16];
        size_t n = 0;
        for (uint32_t dns : s.dns()) {
          if (n == 16) break;
          net::Store32(bytes, 4 * n++, dns);
        }
        if (n > 0) out.Add(code, {bytes, 4 * n});
        break;
      }
      case option::kDomainName:
        if (!s.domain().empty()) out.AddText(code, s.domain());
        break;
      case option::kBroadcastAddress:
        out.AddU32(code, s.network() | ~PrefixMask(s.prefix_length()));
        break;
      default:
        break;
    }
  };
  if (auto wanted = c.request.Option(option::kParameterList)) {
    for (std::byte b : *wanted) add(static_cast<uint8_t>(b));
  }
  for (uint8_t code : {option::kSubnetMask, option::kRouter, option::kDns, option::kDomainName}) {
    add(code);
  }
  AddBootOptions(c, out, final);
  for (size_t i = 0; i < deferred_count; ++i) add_configured(*deferred[i]);
  defer = false;
  for (const Options* list : option_lists) {
    for (const v1::CompiledOption& o : *list) {
      if (o.always_send()) add(static_cast<uint8_t>(o.code()));
    }
  }
}

bool Server::AddBootOptions(const Client& c, ReplyBuilder& out, bool final) {
  // What this reply boots, for its event and the client directory: nothing
  // until a profile is chosen below.
  boot_profile_ = 0;
  boot_once_ = false;
  const Message& r = c.request;
  if (!WantsBoot(r)) return false;
  bool ipxe = IsIpxe(r);
  BootArch arch = ArchOf(r);
  // The profile: a one-shot next boot (until an ACK carried it), the
  // host's, the first of its classes' that has one, else the subnet's.
  uint32_t index = 0;
  bool once = false;
  if (c.host != nullptr) {
    index = c.host->profile();
    if (c.host->next_boot() != 0) {
      uint64_t host_key = HostKey(*c.host);
      auto used = next_boot_used_.find(host_key);
      if (used == next_boot_used_.end() || used->second != c.host->next_boot()) {
        index = c.host->next_boot();
        once = true;
        if (final) {
          next_boot_used_[host_key] = c.host->next_boot();
          next_boot_host_ = host_key;
          next_boot_profile_ = c.host->next_boot();
        }
      }
    }
  }
  for (uint64_t in = c.classes; index == 0 && in != 0; in &= in - 1) {
    index = c.policy.policy.dhcp().classes(std::countr_zero(in)).profile();
  }
  if (index == 0 && c.subnet != nullptr) index = c.subnet->profile();
  if (index == 0 || index > static_cast<uint32_t>(c.policy.policy.profiles_size())) return false;
  boot_profile_ = index;
  boot_once_ = final && once;
  const v1::CompiledProfile& profile = c.policy.policy.profiles(static_cast<int>(index - 1));
  // Built in place: no allocation per reply.
  char server[16];
  uint32_t a = c.context.local.address.value;
  std::snprintf(server, sizeof(server), "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
                a & 255);
  char url[kFileSize + 256];
  uint32_t http_port = c.policy.policy.http_port();
  auto make_url = [&](std::string_view path) {
    int n = http_port == 80 ? std::snprintf(url, sizeof(url), "http://%s/%.*s", server,
                                            int(path.size()), path.data())
                            : std::snprintf(url, sizeof(url), "http://%s:%u/%.*s", server,
                                            http_port, int(path.size()), path.data());
    // A URL that does not fit is no URL: better no boot file than a cut one.
    if (n < 0 || static_cast<size_t>(n) >= sizeof(url)) return std::string_view();
    return std::string_view(url, static_cast<size_t>(n));
  };
  std::string_view file;
  bool is_url = false;
  // The generated menus for this profile (a one-shot next boot has its own,
  // booting it at once); see control/config/menus.h.
  const std::string& script = once && !profile.ipxe_script_once().empty()
                                  ? profile.ipxe_script_once()
                                  : profile.ipxe_script();
  const std::string& pxelinux_config = once && !profile.pxelinux_config_once().empty()
                                           ? profile.pxelinux_config_once()
                                           : profile.pxelinux_config();
  bool as_pxe = ipxe && profile.ipxe() == kIpxeGetsNbp;
  if (ipxe && !profile.ipxe().empty() && !as_pxe) {
    const std::string& path = profile.ipxe();
    is_url = path.starts_with("http://") || path.starts_with("https://");
    file = is_url ? std::string_view(path) : path;
  } else if (ipxe && !as_pxe) {
    file = make_url(script.empty() ? std::string_view("boot.ipxe") : std::string_view(script));
    is_url = true;
  } else if (arch == BootArch::kEfiX64Http || arch == BootArch::kEfiArm64Http ||
             (IsHttpClient(r) && !r.Has(option::kClientArch))) {
    // An HTTP client of another architecture (x86 or ARM32 HTTP, RISC-V)
    // gets nothing rather than an x64 program.
    const std::string& path =
        arch == BootArch::kEfiArm64Http ? profile.efi_arm64_http() : profile.efi_x64_http();
    if (path.empty()) return false;
    file = path.starts_with("http") ? std::string_view(path) : make_url(path);
    is_url = true;
  } else {
    switch (arch) {
      case BootArch::kBios:
        file = profile.bios();
        break;
      case BootArch::kEfiIa32:
        file = profile.efi_ia32();
        break;
      case BootArch::kEfiX64:
        file = profile.efi_x64();
        break;
      case BootArch::kEfiArm64:
        file = profile.efi_arm64();
        break;
      default:
        break;
    }
  }
  if (file.empty()) return false;
  // next-server, option 66 and the `file` field agree (RFC 2132 §9.4/9.5).
  out.SetSiaddr(c.context.local.address);
  if (!is_url) out.AddText(option::kTftpServer, server);
  out.AddText(option::kBootfileName, file);
  out.SetFile(file);  // false when over 127 bytes: option 67 alone carries it
  // PXELINUX reads its config file's name from option 209 of the reply its
  // PXE ROM got; the ROM never asks for 209, so it is sent unasked (as
  // dnsmasq's dhcp-option-force does). Other programs ignore it.
  if (arch == BootArch::kBios && (!ipxe || as_pxe) && !pxelinux_config.empty()) {
    out.AddText(option::kPxelinuxConfigFile, pxelinux_config);
  }
  if (IsPxeClient(r)) {
    out.AddText(option::kVendorClass, "PXEClient");
    // PXE spec §2.2.5 option 43 sub-option 6 (discovery control) = 8:
    // boot the file in this offer, no boot server discovery or menu.
    const std::byte vendor[] = {std::byte{6}, std::byte{1}, std::byte{8}, std::byte{255}};
    out.Add(option::kVendorSpecific, vendor);
  } else if (IsHttpClient(r)) {
    out.AddText(option::kVendorClass, "HTTPClient");  // UEFI HTTP boot wants it echoed
  }
  if (auto uuid = r.Option(option::kClientUuid)) out.Add(option::kClientUuid, *uuid);
  DhcpCounters::Bump(counters_->boot_replies);
  return true;
}

Decision Server::Finish(const Client& c, ReplyBuilder& out, MessageType type, uint32_t yiaddr) {
  // RFC 3046 §2.2: option 82 comes back unchanged, last.
  if (auto relay = c.request.Option(option::kRelayAgentInfo)) {
    out.Add(option::kRelayAgentInfo, *relay);
  }
  DhcpCounters::Bump(counters_->options_dropped, out.dropped());
  Decision d;
  d.reply = true;
  d.reply_type = type;
  d.next_boot_host = std::exchange(next_boot_host_, 0);
  d.next_boot_profile = std::exchange(next_boot_profile_, 0);
  d.reply_length = out.Finish();
  const Message& r = c.request;
  if (r.giaddr.value != 0) {
    d.to_relay = true;
    d.destination = r.giaddr;
  } else if (r.ciaddr.value != 0) {
    d.to_ciaddr = true;
    d.destination = r.ciaddr;
  } else {
    // RFC 2131 §4.1: broadcast if the client asked (or has no address to
    // be reached at), else unicast to yiaddr at chaddr.
    d.broadcast = r.Broadcast() || yiaddr == 0;
    d.destination = {yiaddr};
  }
  return d;
}

}  // namespace stampede::dhcp
