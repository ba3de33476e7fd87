#include "dataplane/dhcp/server.h"

#include <string>

#include "control/config/compile.h"
#include "gtest/gtest.h"
#include "tests/unit/dhcp/requests.h"

namespace stampede::dhcp {
namespace {

using testing::Request;
using testing::RequestSpec;
using testing::U16;
using testing::U32;

constexpr uint32_t kServer = 0xc6120001;  // 198.18.0.1
constexpr char kConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp:
  lease_time: 1h
  subnets:
    - subnet: 198.18.0.0/24
      router: 198.18.0.1
      dns: [198.18.0.53]
      domain: lab.test
      profile: install
      pools: [{first: 198.18.0.100, last: 198.18.0.102}]
    - subnet: 198.19.7.0/24
      pools: [{first: 198.19.7.10, last: 198.19.7.20}]
hosts:
  - {name: fixed, mac: "02:00:5e:00:00:63", ipv4: 198.18.0.7, profile: install}
  - {name: once, mac: "02:00:5e:00:00:64", profile: install, next_boot: burn}
  - {name: relayed, circuit_id: "rack1/port3", profile: burn}
  - {name: by-id, client_id: "ff:00:00:00:01:00:02", ipv4: 198.18.0.8, profile: burn}
profiles:
  - {name: install, boot_files: {bios: pxelinux.0, efi_x64: bootnetx64.efi, efi_x64_http: boot/grubx64.efi}}
  - {name: burn, boot_files: {bios: memtest.bin}}
limits: {dhcp_rate_per_mac: 5}
)";

std::string Str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// `text` with `from` (which it has) replaced by `to`.
std::string Edited(std::string text, std::string_view from, std::string_view to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string ProxyMode(const std::string& text) {
  return Edited(text, "dhcp:\n", "dhcp:\n  mode: proxy\n");
}

// The install profile boots a kernel: generated menus, per-client files.
std::string InstallMenus(const std::string& text) {
  return Edited(text, "efi_x64_http: boot/grubx64.efi}}",
                "efi_x64_http: boot/grubx64.efi}, kernel: d-i/linux}");
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Load(kConfig); }

  void Load(const std::string& text) {
    absl::StatusOr<config::LoadedConfig> loaded =
        config::ParseConfig(text, "c.yaml", config::Format::kYaml);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<v1::BootPolicy> policy = config::Compile(*loaded);
    ASSERT_TRUE(policy.ok()) << policy.status();
    std::string bytes = policy->SerializeAsString();
    auto tables =
        policy::BuildTables({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, 1);
    ASSERT_TRUE(tables.ok()) << tables.status();
    tables_ = *std::move(tables);
  }

  // Handles `spec` and parses the reply (if any) into reply_.
  Decision Send(const RequestSpec& spec, bool boot_server_port = false) {
    std::vector<std::byte> bytes = Request(spec);
    Message request;
    EXPECT_TRUE(Parse(bytes, request).ok());
    now_ms_ += step_ms_;  // time passes between requests (the rate limit refills)
    RequestContext context{{{kServer}, 24}, boot_server_port, now_ms_};
    std::vector<std::byte> buffer(1500);
    size_t limit = client_limit_ ? ReplyLimit(request, 1472) : 1472;
    Decision d = server_.Handle(request, context, *tables_, buffer, limit);
    if (d.reply) {
      buffer[0] = std::byte{kBootRequest};
      EXPECT_TRUE(Parse(std::span(buffer).first(d.reply_length), reply_).ok());
      reply_bytes_.assign(buffer.begin(), buffer.begin() + d.reply_length);
    }
    return d;
  }

  RequestSpec Discover(uint8_t mac, std::vector<std::pair<uint8_t, std::string>> options = {}) {
    RequestSpec spec;
    spec.mac_last = mac;
    spec.xid = 0x100 + mac;
    spec.options = std::move(options);
    return spec;
  }

  RequestSpec Select(uint8_t mac, uint32_t address, uint32_t server = kServer) {
    RequestSpec spec = Discover(mac);
    spec.type = MessageType::kRequest;
    spec.options = {{option::kServerId, U32(server)}, {option::kRequestedAddress, U32(address)}};
    return spec;
  }

  // INIT-REBOOT: a REQUEST for `address` (option 50) without a server id.
  RequestSpec Reboot(uint8_t mac, uint32_t address,
                     std::vector<std::pair<uint8_t, std::string>> options = {}) {
    RequestSpec spec = Discover(mac, std::move(options));
    spec.type = MessageType::kRequest;
    spec.options.push_back({option::kRequestedAddress, U32(address)});
    return spec;
  }

  // The reply's option codes in order, up to END.
  std::vector<uint8_t> Codes() const {
    std::vector<uint8_t> codes;
    for (size_t i = kOptionsOffset; i < reply_bytes_.size();) {
      uint8_t code = uint8_t(reply_bytes_[i]);
      if (code == option::kEnd) break;
      codes.push_back(code);
      i += 2 + uint8_t(reply_bytes_[i + 1]);
    }
    return codes;
  }

  std::string File() const {
    auto value = reply_.Option(option::kBootfileName);
    return value ? Str(*value) : "";
  }

  std::unique_ptr<const policy::PolicyTables> tables_;
  Server server_;
  Message reply_;
  std::vector<std::byte> reply_bytes_;
  uint64_t now_ms_ = 1'000'000;
  uint64_t step_ms_ = 250;
  bool client_limit_ = false;  // the client's maximum message size, as the worker does
};

// The lease table is sized for what the policy can hand out: both subnets'
// pools (3 and 11 addresses) and the one reserved address.
TEST_F(ServerTest, ReserveForMakesRoomForEveryAddressThePolicyHandsOut) {
  size_t before = server_.leases().capacity();
  server_.ReserveFor(*tables_);
  EXPECT_GE(server_.leases().capacity(), 15u);
  EXPECT_GE(server_.leases().capacity(), before);
  Load(R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/16]}
dhcp:
  subnets: [{subnet: 198.18.0.0/16, pools: [{first: 198.18.1.0, last: 198.18.40.255}]}]
)");
  server_.ReserveFor(*tables_);
  EXPECT_GE(server_.leases().capacity(), 40u * 256);
  Decision offer = Send(Discover(1));  // the table still works
  ASSERT_TRUE(offer.reply);
  EXPECT_EQ(offer.reply_type, MessageType::kOffer);
}

TEST_F(ServerTest, DiscoverOfferRequestAck) {
  Decision offer = Send(Discover(1));
  ASSERT_TRUE(offer.reply);
  EXPECT_EQ(offer.reply_type, MessageType::kOffer);
  uint32_t address = reply_.yiaddr.value;
  EXPECT_GE(address, 0xc6120064u);
  EXPECT_LE(address, 0xc6120066u);
  EXPECT_EQ(reply_.Address(option::kServerId)->value, kServer);
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 3600u);
  EXPECT_EQ(reply_.U32(option::kRenewalTime), 1800u);
  EXPECT_EQ(reply_.U32(option::kRebindingTime), 3150u);
  EXPECT_EQ(reply_.U32(option::kSubnetMask), 0xffffff00u);
  EXPECT_EQ(reply_.Address(option::kRouter)->value, kServer);
  EXPECT_EQ(Str(*reply_.Option(option::kDomainName)), "lab.test");
  EXPECT_EQ(File(), "");  // not a PXE client: no boot file

  Decision ack = Send(Select(1, address));
  ASSERT_TRUE(ack.reply);
  EXPECT_EQ(ack.reply_type, MessageType::kAck);
  EXPECT_EQ(reply_.yiaddr.value, address);
  EXPECT_EQ(ack.change, LeaseChange::kGranted);
  EXPECT_EQ(ack.lease.address, address);
  const Lease* lease = server_.leases().ByAddress(address);
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->state, LeaseState::kBound);
  EXPECT_EQ(lease->expires_ms, now_ms_ + 3'600'000);
}

// An ACK says what it boots, for its lease event (stampede boots): the
// profile its boot options came from and the client's option 93.
TEST_F(ServerTest, AnAckSaysWhatItBoots) {
  Load(kConfig);
  Send(Discover(1));
  Decision plain = Send(Select(1, reply_.yiaddr.value));
  ASSERT_EQ(plain.change, LeaseChange::kGranted);
  EXPECT_EQ(plain.boot_profile, 0u);  // not a PXE client: no boot options
  EXPECT_EQ(plain.client_arch, kNoClientArch);
  std::vector<std::pair<uint8_t, std::string>> pxe = {
      {option::kClientArch, U16(7)}, {option::kVendorClass, "PXEClient:Arch:00007"}};
  Decision offer = Send(Discover(2, pxe));
  EXPECT_EQ(offer.boot_profile, 0u);  // an OFFER is no lease
  RequestSpec select = Select(2, reply_.yiaddr.value);
  select.options.insert(select.options.end(), pxe.begin(), pxe.end());
  Decision ack = Send(select);
  ASSERT_EQ(ack.change, LeaseChange::kGranted);
  EXPECT_EQ(File(), "bootnetx64.efi");
  ASSERT_GT(ack.boot_profile, 0u);
  EXPECT_EQ(tables_->policy.profiles(static_cast<int>(ack.boot_profile - 1)).name(), "install");
  EXPECT_EQ(ack.client_arch, 7u);
}

TEST_F(ServerTest, RetriedDiscoverGetsTheSameOfferAndClientsDifferentOnes) {
  ASSERT_TRUE(Send(Discover(1)).reply);
  uint32_t first = reply_.yiaddr.value;
  ASSERT_TRUE(Send(Discover(1)).reply);
  EXPECT_EQ(reply_.yiaddr.value, first);
  ASSERT_TRUE(Send(Discover(2)).reply);
  EXPECT_NE(reply_.yiaddr.value, first);
}

// A bound client that sends DISCOVER again (a reboot that lost its state)
// is offered its address and keeps it bound; once the lease has run out the
// offer holds it again only for the offer's time.
TEST_F(ServerTest, ABoundClientsDiscoverKeepsItsLeaseUntilItEnds) {
  ASSERT_TRUE(Send(Discover(1)).reply);
  uint32_t address = reply_.yiaddr.value;
  ASSERT_EQ(Send(Select(1, address)).reply_type, MessageType::kAck);
  uint64_t bound_until = now_ms_ + 3'600'000;
  ASSERT_TRUE(Send(Discover(1)).reply);
  EXPECT_EQ(reply_.yiaddr.value, address);
  const Lease* lease = server_.leases().ByAddress(address);
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->state, LeaseState::kBound);
  EXPECT_EQ(lease->expires_ms, bound_until);
  // Another client's DISCOVER does not touch it.
  ASSERT_TRUE(Send(Discover(2)).reply);
  EXPECT_NE(reply_.yiaddr.value, address);
  EXPECT_EQ(server_.leases().ByAddress(address)->state, LeaseState::kBound);

  now_ms_ = bound_until;  // the next request comes past the lease's end
  ASSERT_TRUE(Send(Discover(1)).reply);
  EXPECT_EQ(reply_.yiaddr.value, address);  // affinity
  lease = server_.leases().ByAddress(address);
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->state, LeaseState::kOffered);
  EXPECT_EQ(lease->expires_ms, now_ms_ + kOfferHoldMs);
  EXPECT_EQ(server_.Expire(now_ms_, 100), 1u);  // client 2's offer, long run out
  EXPECT_EQ(server_.Expire(now_ms_ + kOfferHoldMs - 1, 100), 0u);
  EXPECT_EQ(server_.Expire(now_ms_ + kOfferHoldMs, 100), 1u);
  EXPECT_EQ(server_.leases().ByAddress(address), nullptr);
}

// A bound client given a reservation elsewhere is offered that address: the
// offer holds it for the client, whose pool address is freed.
TEST_F(ServerTest, ABoundClientGivenAReservationIsOfferedItsNewAddress) {
  std::string without = kConfig;
  std::string fixed =
      R"(  - {name: fixed, mac: "02:00:5e:00:00:63", ipv4: 198.18.0.7, profile: install}
)";
  ASSERT_NE(without.find(fixed), std::string::npos);
  without.erase(without.find(fixed), fixed.size());
  Load(without);
  ASSERT_TRUE(Send(Discover(0x63)).reply);
  uint32_t pooled = reply_.yiaddr.value;
  ASSERT_EQ(Send(Select(0x63, pooled)).reply_type, MessageType::kAck);
  Load(kConfig);
  ASSERT_TRUE(Send(Discover(0x63)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120007u);
  const Lease* lease = server_.leases().ByAddress(0xc6120007);
  ASSERT_NE(lease, nullptr);
  EXPECT_EQ(lease->state, LeaseState::kOffered);
  EXPECT_EQ(server_.leases().ByAddress(pooled), nullptr);
}

TEST_F(ServerTest, PoolExhaustionMeansNoOfferAndUnrequestedOffersAreReclaimed) {
  for (uint8_t mac = 1; mac <= 3; ++mac) ASSERT_TRUE(Send(Discover(mac)).reply) << int(mac);
  Decision none = Send(Discover(4));
  EXPECT_FALSE(none.reply);
  EXPECT_EQ(none.exhausted_subnet, 0xc6120000u);
  EXPECT_EQ(none.exhausted_prefix, 24u);
  EXPECT_EQ(server_.counters().pool_exhausted.load(), 1u);
  now_ms_ += kOfferHoldMs + 1;
  EXPECT_EQ(server_.Expire(now_ms_, 100), 3u);
  EXPECT_TRUE(Send(Discover(4)).reply);
}

TEST_F(ServerTest, RequestForAnotherServerReleasesOurOffer) {
  ASSERT_TRUE(Send(Discover(1)).reply);
  uint32_t offered = reply_.yiaddr.value;
  EXPECT_FALSE(Send(Select(1, offered, 0xc6120002)).reply);
  EXPECT_EQ(server_.counters().other_server.load(), 1u);
  EXPECT_EQ(server_.leases().ByAddress(offered), nullptr);
}

TEST_F(ServerTest, InitRebootRenewAndNak) {
  RequestSpec reboot = Discover(1);
  reboot.type = MessageType::kRequest;
  reboot.options = {{option::kRequestedAddress, U32(0xc6120065)}};
  Decision d = Send(reboot);
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply_type, MessageType::kAck);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120065u);

  // Another client asking for that address is refused, broadcast.
  reboot.mac_last = 2;
  d = Send(reboot);
  EXPECT_EQ(d.reply_type, MessageType::kNak);
  EXPECT_TRUE(d.broadcast);

  // Outside any pool: NAK.
  reboot.options = {{option::kRequestedAddress, U32(0xc6120050)}};
  EXPECT_EQ(Send(reboot).reply_type, MessageType::kNak);

  // Renewal from the bound address, answered unicast to ciaddr with ciaddr echoed.
  RequestSpec renew = Discover(1);
  renew.type = MessageType::kRequest;
  renew.ciaddr = 0xc6120065;
  now_ms_ += 1'800'000;
  d = Send(renew);
  EXPECT_EQ(d.reply_type, MessageType::kAck);
  EXPECT_TRUE(d.to_ciaddr);
  EXPECT_EQ(reply_.ciaddr.value, 0xc6120065u);
  EXPECT_EQ(server_.leases().ByAddress(0xc6120065)->expires_ms, now_ms_ + 3'600'000);
}

TEST_F(ServerTest, DeclineQuarantinesAndReleaseFreesWithAffinity) {
  ASSERT_TRUE(Send(Discover(1)).reply);
  uint32_t first = reply_.yiaddr.value;
  ASSERT_EQ(Send(Select(1, first)).reply_type, MessageType::kAck);
  RequestSpec decline = Select(1, first);
  decline.type = MessageType::kDecline;
  Decision d = Send(decline);
  EXPECT_FALSE(d.reply);
  EXPECT_EQ(d.change, LeaseChange::kDeclined);
  ASSERT_TRUE(Send(Discover(1)).reply);
  uint32_t second = reply_.yiaddr.value;
  EXPECT_NE(second, first);
  ASSERT_TRUE(Send(Discover(2)).reply);
  EXPECT_NE(reply_.yiaddr.value, first);  // still quarantined for everyone

  ASSERT_EQ(Send(Select(1, second)).reply_type, MessageType::kAck);
  RequestSpec release = Discover(1);
  release.type = MessageType::kRelease;
  release.ciaddr = second;
  release.options = {{option::kServerId, U32(kServer)}};
  d = Send(release);
  EXPECT_EQ(d.change, LeaseChange::kReleased);
  EXPECT_EQ(server_.leases().ByAddress(second), nullptr);
  ASSERT_TRUE(Send(Discover(1)).reply);
  EXPECT_EQ(reply_.yiaddr.value, second);  // the returning client's old address
}

TEST_F(ServerTest, ReservedHostGetsItsAddressAndNobodyElseDoes) {
  ASSERT_TRUE(Send(Discover(0x63)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120007u);
  RequestSpec other = Discover(5);
  other.type = MessageType::kRequest;
  other.options = {{option::kRequestedAddress, U32(0xc6120007)}};
  EXPECT_EQ(Send(other).reply_type, MessageType::kNak);
}

// A host by its client identifier (option 61): whatever its MAC (an
// InfiniBand client's chaddr says nothing), and before a host whose MAC it
// has; the same bytes as another option, or none, are not it.
TEST_F(ServerTest, AHostIsFoundByItsClientIdentifier) {
  std::string id("\xff\x00\x00\x00\x01\x00\x02", 7);
  auto pxe = std::pair<uint8_t, std::string>{option::kVendorClass, "PXEClient:Arch:00000"};
  Decision d = Send(Discover(0x40, {{option::kClientId, id}, pxe}));
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120008u);
  EXPECT_EQ(File(), "memtest.bin");  // its profile, burn
  // The MAC of the host "fixed", but this client id: by-id's.
  ASSERT_TRUE(Send(Discover(0x63, {{option::kClientId, id}})).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120008u);
  // The id elsewhere (a host name), or another id: a pool address.
  ASSERT_TRUE(Send(Discover(0x41, {{option::kHostName, id}})).reply);
  EXPECT_NE(reply_.yiaddr.value, 0xc6120008u);
  ASSERT_TRUE(Send(Discover(0x42, {{option::kClientId, id + '\x01'}})).reply);
  EXPECT_NE(reply_.yiaddr.value, 0xc6120008u);
  // Its REQUEST is ACKed with its address.
  RequestSpec select = Select(0x40, 0xc6120008);
  select.options.push_back({option::kClientId, id});
  EXPECT_EQ(Send(select).reply_type, MessageType::kAck);
}

// Client classes: a request is in a class when every matcher given has an
// item that matches; the first class with a profile gives the profile of
// clients without one of their own; options: host, then classes in order,
// then subnet.
TEST_F(ServerTest, ClientClassesPickProfilesAndOptions) {
  std::string text = Edited(kConfig, "  lease_time: 1h\n", R"(  lease_time: 1h
  options: [{name: ntp-servers, data: 198.18.0.123}]
  classes:
    - {name: lab-vms, mac: ["02:00:5e:00:00:20"], options: [{code: 224, type: string, data: vm}]}
    - name: racks
      mac: ["02:00:5e:*:*:30", "02:*:*:00:00:31"]
      vendor_class: [MSFT, PXEClient]
      arch: [bios]
      profile: burn
      options: [{name: ntp-servers, data: 198.18.0.9}, {code: 224, type: string, data: rack}]
    - {name: ipxe, user_class: [iPXE, stampede], options: [{code: 225, type: string, data: u}]}
    - {name: switch1, remote_id: [sw1], circuit_id: [p1, p2], profile: install}
    - {name: arm, arch: [efi_arm64, "65000"], options: [{code: 226, type: string, data: arm}]}
)");
  text = Edited(text, "last: 198.18.0.102", "last: 198.18.0.150");  // a client each
  Load(text);
  const std::string wanted{42, char(224), char(225), char(226)};
  auto pxe =
      std::vector<std::pair<uint8_t, std::string>>{{option::kClientArch, U16(0)},
                                                   {option::kVendorClass, "PXEClient:Arch:00000"},
                                                   {option::kParameterList, wanted}};
  // In racks (MAC, vendor class and arch all match): its profile, its
  // options over the subnet's.
  ASSERT_TRUE(Send(Discover(0x30, pxe)).reply);
  EXPECT_EQ(File(), "memtest.bin");
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x09", 4));
  EXPECT_EQ(Str(*reply_.Option(224)), "rack");
  EXPECT_FALSE(reply_.Has(225));
  EXPECT_FALSE(reply_.Has(226));
  ASSERT_TRUE(Send(Discover(0x31, pxe)).reply);  // its second pattern
  EXPECT_EQ(File(), "memtest.bin");
  // The same MAC as a UEFI client: not in racks (arch), the subnet's
  // profile and options.
  auto efi = pxe;
  efi[0].second = U16(7);
  efi[1].second = "PXEClient:Arch:00007";
  ASSERT_TRUE(Send(Discover(0x30, efi)).reply);
  EXPECT_EQ(File(), "bootnetx64.efi");
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x7b", 4));
  EXPECT_FALSE(reply_.Has(224));
  // Option 60 must start with one of the class's: "XPXEClient" does not.
  auto other_vendor = pxe;
  other_vendor[1].second = "XPXEClient:Arch:00000";
  ASSERT_TRUE(Send(Discover(0x30, other_vendor)).reply);
  EXPECT_FALSE(reply_.Has(224));
  // Another MAC: not in racks.
  ASSERT_TRUE(Send(Discover(0x32, pxe)).reply);
  EXPECT_EQ(File(), "pxelinux.0");
  // In lab-vms and ipxe at once: both classes' options; the earlier class's
  // wins where both have one.
  auto both = pxe;
  both.push_back({option::kUserClass, "iPXE"});
  ASSERT_TRUE(Send(Discover(0x20, both)).reply);
  EXPECT_EQ(Str(*reply_.Option(224)), "vm");
  EXPECT_EQ(Str(*reply_.Option(225)), "u");
  // A user class as one of its RFC 3004 items; not as a piece of text.
  ASSERT_TRUE(Send(Discover(0x50, {{option::kUserClass, std::string("\x03"
                                                                    "abc\x08stampede",
                                                                    13)},
                                   {option::kParameterList, wanted}}))
                  .reply);
  EXPECT_EQ(Str(*reply_.Option(225)), "u");
  ASSERT_TRUE(
      Send(Discover(0x51, {{option::kUserClass, "stampede2"}, {option::kParameterList, wanted}}))
          .reply);
  EXPECT_FALSE(reply_.Has(225));
  // An architecture by number; a client without option 93 is in no arch
  // class.
  ASSERT_TRUE(
      Send(Discover(0x52, {{option::kClientArch, U16(65000)}, {option::kParameterList, wanted}}))
          .reply);
  EXPECT_EQ(Str(*reply_.Option(226)), "arm");
  ASSERT_TRUE(Send(Discover(0x53, {{option::kParameterList, wanted}})).reply);
  EXPECT_FALSE(reply_.Has(226));

  // A host's profile and options win over its classes' ("fixed" is
  // 02:00:5e:00:00:63: racks gets its MAC).
  std::string with_host = Edited(text, "\"02:*:*:00:00:31\"", "\"02:*:*:00:00:63\"");
  Load(with_host);
  Load(Edited(with_host, "ipv4: 198.18.0.7, profile: install}",
              "ipv4: 198.18.0.7, profile: install, options: [{name: ntp-servers, data: "
              "198.18.0.8}]}"));
  ASSERT_TRUE(Send(Discover(0x63, pxe)).reply);
  EXPECT_EQ(File(), "pxelinux.0");                                         // install, the host's
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x08", 4));  // the host's
  EXPECT_EQ(Str(*reply_.Option(224)), "rack");  // the class's: the host has none
  // A host without a profile takes its class's.
  Load(Edited(with_host, "ipv4: 198.18.0.7, profile: install}", "ipv4: 198.18.0.7}"));
  ASSERT_TRUE(Send(Discover(0x63, pxe)).reply);
  EXPECT_EQ(File(), "memtest.bin");

  // Through a relay: both option 82 matchers must match.
  auto relayed = [&](std::string circuit, std::string remote) {
    RequestSpec spec = Discover(0x60, pxe);
    spec.giaddr = 0xc6120001;
    std::string info = {char(1), char(circuit.size())};
    info += circuit;
    info += {char(2), char(remote.size())};
    info += remote;
    spec.options.push_back({option::kRelayAgentInfo, info});
    return spec;
  };
  Load(Edited(text, "      profile: install\n      pools", "      pools"));  // no subnet profile
  ASSERT_TRUE(Send(relayed("p2", "sw1")).reply);
  EXPECT_EQ(File(), "pxelinux.0");  // install: the class's
  ASSERT_TRUE(Send(relayed("p3", "sw1")).reply);
  EXPECT_FALSE(reply_.Has(option::kBootfileName));  // in no class: no profile at all
  ASSERT_TRUE(Send(relayed("p1", "sw2")).reply);
  EXPECT_FALSE(reply_.Has(option::kBootfileName));

  // proxyDHCP: the class's profile, no options.
  Load(ProxyMode(text));
  ASSERT_TRUE(Send(Discover(0x30, pxe)).reply);
  EXPECT_EQ(File(), "memtest.bin");
  EXPECT_FALSE(reply_.Has(224));
}

// Pools for classes: a pool naming classes serves their clients alone, one
// naming "!class" everyone but that class's; a class with `known: true`
// passes known_clients_only, but not the rate limit.
TEST_F(ServerTest, PoolsServeTheirClassesAndKnownClassesPassKnownOnly) {
  std::string text = Edited(kConfig, "  lease_time: 1h\n", R"(  lease_time: 1h
  classes:
    - {name: burn-in, vendor_class: [burn], known: true, lease_time: 10m}
    - {name: lab, vendor_class: [lab]}
)");
  text =
      Edited(text, "pools: [{first: 198.18.0.100, last: 198.18.0.102}]",
             "pools: [{first: 198.18.0.100, last: 198.18.0.102, classes: [\"!burn-in\", \"!lab\"]},"
             " {first: 198.18.0.200, last: 198.18.0.202, classes: [burn-in, lab]}]");
  Load(text);
  auto burn = [&](uint8_t mac) { return Discover(mac, {{option::kVendorClass, "burn-rig"}}); };
  // burn-in's clients: its pool alone, in turn; its lease time.
  ASSERT_TRUE(Send(burn(1)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc61200c8u);
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 600u);
  EXPECT_EQ(reply_.U32(option::kRenewalTime), 300u);
  RequestSpec burn_select = Select(1, 0xc61200c8);
  burn_select.options.push_back({option::kVendorClass, "burn-rig"});
  ASSERT_EQ(Send(burn_select).reply_type, MessageType::kAck);
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 600u);
  EXPECT_EQ(server_.leases().ByAddress(0xc61200c8)->expires_ms, now_ms_ + 600'000);
  ASSERT_TRUE(Send(burn(2)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc61200c9u);
  // Anyone else: the other pool; and not an address of burn-in's pool,
  // even free and asked for (INIT-REBOOT): NAK.
  ASSERT_TRUE(Send(Discover(3)).reply);
  EXPECT_GE(reply_.yiaddr.value, 0xc6120064u);
  EXPECT_LE(reply_.yiaddr.value, 0xc6120066u);
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 3600u);  // the subnet's
  EXPECT_EQ(Send(Reboot(4, 0xc61200ca)).reply_type, MessageType::kNak);
  // Nor may burn-in's clients take one of the "!burn-in" pool.
  EXPECT_EQ(Send(Reboot(5, 0xc6120066, {{option::kVendorClass, "burn-rig"}})).reply_type,
            MessageType::kNak);
  // lab's clients share burn-in's pool (any of a pool's classes) and are
  // kept out of the other: its last address.
  ASSERT_TRUE(Send(Discover(6, {{option::kVendorClass, "lab"}})).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc61200cau);
  // burn-in's pool full: no offer, though the other pool has room.
  EXPECT_FALSE(Send(burn(7)).reply);
  EXPECT_EQ(server_.counters().pool_exhausted.load(), 1u);
  ASSERT_TRUE(Send(Discover(8)).reply);

  // known_clients_only: burn-in's clients are known, lab's are not.
  Load(Edited(text, "      profile: install\n",
              "      profile: install\n      known_clients_only: true\n"));
  EXPECT_TRUE(Send(burn(1)).reply);
  EXPECT_FALSE(Send(Discover(10, {{option::kVendorClass, "lab"}})).reply);
  EXPECT_FALSE(Send(Discover(11)).reply);
  EXPECT_EQ(server_.counters().unknown_clients.load(), 2u);
  EXPECT_TRUE(Send(Discover(0x63)).reply);  // a host, as before
  // A known class's client is still rate limited (5 a second here).
  step_ms_ = 1;
  for (int i = 0; i < 10; ++i) Send(burn(1));
  EXPECT_GT(server_.counters().rate_limited.load(), 0u);
}

// The built-in "known" in a pool's classes: host entries (without a fixed
// address) and known classes' clients; "!known": everyone else (ISC dhcpd's
// known-clients pools, Kea's KNOWN and UNKNOWN).
TEST_F(ServerTest, KnownPoolsServeHostsAndKnownClasses) {
  std::string text = Edited(kConfig, "  lease_time: 1h\n", R"(  lease_time: 1h
  classes: [{name: rig, vendor_class: [rig], known: true, lease_time: 10m},
            {name: lab, vendor_class: [lab]}]
)");
  text = Edited(text, "next_boot: burn}", "next_boot: burn, lease_time: 5m}");
  text = Edited(text, "pools: [{first: 198.18.0.100, last: 198.18.0.102}]",
                "pools: [{first: 198.18.0.100, last: 198.18.0.101, classes: [\"!known\"]},"
                " {first: 198.18.0.200, last: 198.18.0.202, classes: [known]}]");
  Load(text);
  auto in_known_pool = [&] { return reply_.yiaddr.value >= 0xc61200c8u; };
  ASSERT_TRUE(Send(Discover(0x64)).reply);  // the host "once": no fixed address
  EXPECT_TRUE(in_known_pool());
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 300u);  // its own lease time
  ASSERT_TRUE(Send(Discover(1, {{option::kVendorClass, "rig-7"}})).reply);
  EXPECT_TRUE(in_known_pool());
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 600u);  // its class's
  // The host in rig too: its own lease time wins over its class's.
  ASSERT_TRUE(Send(Discover(0x64, {{option::kVendorClass, "rig-7"}})).reply);
  EXPECT_EQ(reply_.U32(option::kLeaseTime), 300u);
  ASSERT_TRUE(Send(Discover(2, {{option::kVendorClass, "lab"}})).reply);  // a class, not known
  EXPECT_FALSE(in_known_pool());
  ASSERT_TRUE(Send(Discover(3)).reply);
  EXPECT_FALSE(in_known_pool());
  // Neither takes an address of the other's pool.
  EXPECT_EQ(Send(Reboot(4, 0xc61200ca)).reply_type, MessageType::kNak);
  EXPECT_EQ(Send(Reboot(0x64, 0xc6120064)).reply_type, MessageType::kNak);
  // A host with a fixed address keeps it, whatever the pools say.
  ASSERT_TRUE(Send(Discover(0x63)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120007u);
}

TEST_F(ServerTest, BootFileFollowsTheClientArchitecture) {
  std::string text = kConfig;
  std::string_view x64_http = "efi_x64_http: boot/grubx64.efi}}";
  text.replace(text.find(x64_http), x64_http.size(),
               "efi_x64_http: boot/grubx64.efi, efi_arm64_http: "
               "\"http://198.18.0.9/arm64/grubaa64.efi\"}}");
  Load(text);
  struct Case {
    uint16_t arch;
    std::string vendor;
    std::string file;
  };
  for (const Case& c :
       {Case{0, "PXEClient:Arch:00000", "pxelinux.0"},
        Case{7, "PXEClient:Arch:00007", "bootnetx64.efi"},
        Case{9, "PXEClient:Arch:00009", "bootnetx64.efi"},
        Case{16, "HTTPClient:Arch:00016", "http://198.18.0.1/boot/grubx64.efi"},
        Case{19, "HTTPClient:Arch:00019", "http://198.18.0.9/arm64/grubaa64.efi"}}) {
    Decision d = Send(Discover(1, {{option::kClientArch, U16(c.arch)},
                                   {option::kVendorClass, c.vendor},
                                   {option::kClientUuid, std::string(17, 'u')}}));
    ASSERT_TRUE(d.reply) << c.arch;
    EXPECT_EQ(File(), c.file) << c.arch;
    EXPECT_EQ(reply_.siaddr.value, kServer);
    EXPECT_EQ(Str(*reply_.Option(option::kVendorClass)), c.vendor.substr(0, c.vendor.find(':')));
    EXPECT_EQ(Str(*reply_.Option(option::kClientUuid)), std::string(17, 'u'));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(reply_bytes_.data()) + kFileOffset),
              c.file);
  }
  // An HTTP client of an architecture with no boot file (x86 HTTP, 15) gets
  // no x64 program: no answer at all (no boot options, not a PXE offer).
  Decision other = Send(Discover(
      2, {{option::kClientArch, U16(15)}, {option::kVendorClass, "HTTPClient:Arch:00015"}}));
  ASSERT_TRUE(other.reply);  // authoritative: an address, no boot file
  EXPECT_FALSE(reply_.Has(option::kBootfileName));
  // An ARM64 HTTP client whose profile has no efi_arm64_http neither.
  Send(Discover(3, {{option::kClientArch, U16(19)},
                    {option::kVendorClass, "HTTPClient:Arch:00019"},
                    {option::kRelayAgentInfo, std::string("\x01\x0brack1/port3", 13)}}));
  EXPECT_FALSE(reply_.Has(option::kBootfileName));  // the host "relayed": profile burn
  // iPXE gets its script, not the NBP again (no chainload loop).
  Send(Discover(1, {{option::kClientArch, U16(0)},
                    {option::kVendorClass, "PXEClient:Arch:00000"},
                    {option::kUserClass, "iPXE"}}));
  EXPECT_EQ(File(), "http://198.18.0.1/boot.ipxe");
}

TEST_F(ServerTest, NextBootIsUsedOnce) {
  auto pxe = std::vector<std::pair<uint8_t, std::string>>{
      {option::kClientArch, U16(0)}, {option::kVendorClass, "PXEClient:Arch:00000"}};
  Decision offer = Send(Discover(0x64, pxe));
  ASSERT_TRUE(offer.reply);
  EXPECT_EQ(File(), "memtest.bin");  // an OFFER does not use it up
  EXPECT_EQ(offer.next_boot_host, 0u);
  uint32_t address = reply_.yiaddr.value;
  RequestSpec select = Select(0x64, address);
  select.options.insert(select.options.end(), pxe.begin(), pxe.end());
  Decision ack = Send(select);
  ASSERT_EQ(ack.reply_type, MessageType::kAck);
  EXPECT_EQ(File(), "memtest.bin");
  // The worker journals this with the lease.
  EXPECT_NE(ack.next_boot_host, 0u);
  EXPECT_NE(ack.next_boot_profile, 0u);
  EXPECT_EQ(server_.next_boot_used().size(), 1u);
  Decision next = Send(Discover(0x64, pxe));
  ASSERT_TRUE(next.reply);
  EXPECT_EQ(File(), "pxelinux.0");  // back to the host's profile
  EXPECT_EQ(next.next_boot_host, 0u);
}

// With menus (profiles booting kernels), PXELINUX is told its profile's
// config in option 209 and iPXE gets its profile's script; a one-shot next
// boot has its own of both until an ACK uses it.
TEST_F(ServerTest, MenusFollowTheProfileAndTheNextBoot) {
  std::string config = kConfig;
  config.replace(config.find("  - {name: burn, boot_files: {bios: memtest.bin}}"),
                 std::string_view("  - {name: burn, boot_files: {bios: memtest.bin}}").size(),
                 "  - {name: burn, boot_files: {bios: pxelinux.0}, kernel: memtest.bin}");
  Load(config);
  auto pxe = std::vector<std::pair<uint8_t, std::string>>{
      {option::kClientArch, U16(0)}, {option::kVendorClass, "PXEClient:Arch:00000"}};
  auto ipxe = pxe;
  ipxe.emplace_back(option::kUserClass, "iPXE");
  auto config_file = [&] {
    auto value = reply_.Option(option::kPxelinuxConfigFile);
    return value ? Str(*value) : std::string("(none)");
  };
  ASSERT_TRUE(Send(Discover(1, pxe)).reply);
  EXPECT_EQ(File(), "pxelinux.0");
  EXPECT_EQ(config_file(), "pxelinux.cfg/p-install");  // unasked: the ROM never asks
  ASSERT_TRUE(Send(Discover(1, ipxe)).reply);
  EXPECT_EQ(File(), "http://198.18.0.1/ipxe/p-install.ipxe");
  EXPECT_EQ(config_file(), "(none)");
  ASSERT_TRUE(Send(Discover(1, {{option::kClientArch, U16(7)},
                                {option::kVendorClass, "PXEClient:Arch:00007"}}))
                  .reply);
  EXPECT_EQ(config_file(), "(none)");  // not for UEFI programs

  ASSERT_TRUE(Send(Discover(0x64, pxe)).reply);
  EXPECT_EQ(config_file(), "pxelinux.cfg/p-burn-once");
  ASSERT_TRUE(Send(Discover(0x64, ipxe)).reply);
  EXPECT_EQ(File(), "http://198.18.0.1/ipxe/p-burn-once.ipxe");
  RequestSpec select = Select(0x64, reply_.yiaddr.value);
  select.options.insert(select.options.end(), pxe.begin(), pxe.end());
  ASSERT_EQ(Send(select).reply_type, MessageType::kAck);
  EXPECT_EQ(config_file(), "pxelinux.cfg/p-burn-once");
  ASSERT_TRUE(Send(Discover(0x64, pxe)).reply);
  EXPECT_EQ(config_file(), "pxelinux.cfg/p-install");  // used: back to the host's profile
}

// The client directory follows ACKs: a leased address's per-client files
// (grub/grub.cfg, boot.ipxe, pxelinux.cfg/default) are its profile's, the
// one-shot variant while its lease carried the next boot; a release, or an
// ACK without boot options, gives the catalog's file back.
TEST_F(ServerTest, PerClientFilesFollowTheLeaseAndTheNextBoot) {
  Load(InstallMenus(
      Edited(kConfig, "  - {name: burn, boot_files: {bios: memtest.bin}}",
             "  - {name: burn, boot_files: {bios: pxelinux.0}, kernel: memtest.bin}")));
  policy::ClientDirectory directory(64);
  server_.set_client_directory(&directory);
  auto index = [&](const char* path) { return *tables_->FindFileIndex(path); };
  auto served = [&](const char* path, uint32_t address) {
    return tables_->policy.tftp()
        .files(static_cast<int>(tables_->ForClient(index(path), address, &directory)))
        .path();
  };
  auto uefi = std::vector<std::pair<uint8_t, std::string>>{
      {option::kClientArch, U16(7)}, {option::kVendorClass, "PXEClient:Arch:00007"}};
  auto dora = [&](uint8_t mac, std::vector<std::pair<uint8_t, std::string>> options) {
    EXPECT_TRUE(Send(Discover(mac, options)).reply);
    RequestSpec select = Select(mac, reply_.yiaddr.value);
    select.options.insert(select.options.end(), options.begin(), options.end());
    EXPECT_EQ(Send(select).reply_type, MessageType::kAck);
    return reply_.yiaddr.value;
  };
  // Nobody leased yet: the catalog's own files.
  EXPECT_EQ(served("grub/grub.cfg", 0xc6120064), "grub/grub.cfg");
  // The host with a one-shot next boot: its ACK carries it.
  uint32_t once = dora(0x64, uefi);
  EXPECT_EQ(served("grub/grub.cfg", once), "grub/p-burn-once.cfg");
  EXPECT_EQ(served("boot.ipxe", once), "ipxe/p-burn-once.ipxe");
  EXPECT_EQ(served("pxelinux.cfg/default", once), "pxelinux.cfg/p-burn-once");
  // Not a per-client file: served as it is.
  EXPECT_EQ(served("grub/p-install.cfg", once), "grub/p-install.cfg");
  // Its next boot used, the next ACK gives the host's own profile.
  EXPECT_EQ(dora(0x64, uefi), once);
  EXPECT_EQ(served("grub/grub.cfg", once), "grub/p-install.cfg");
  EXPECT_EQ(served("boot.ipxe", once), "ipxe/p-install.ipxe");
  // A pool client: its subnet's profile; another address is not it.
  uint32_t pooled = dora(1, uefi);
  EXPECT_EQ(served("grub/grub.cfg", pooled), "grub/p-install.cfg");
  EXPECT_EQ(served("grub/grub.cfg", pooled + 100), "grub/grub.cfg");
  // Released: the catalog's file again.
  RequestSpec release = Discover(1);
  release.type = MessageType::kRelease;
  release.ciaddr = pooled;
  release.options = {{option::kServerId, U32(kServer)}};
  Send(release);
  EXPECT_EQ(served("grub/grub.cfg", pooled), "grub/grub.cfg");
  // An ACK without boot options (not a PXE client) empties the entry.
  uint32_t plain = dora(2, {});
  directory.Set(plain, 1, false, tables_->profile_fingerprint);
  EXPECT_EQ(dora(2, {}), plain);
  EXPECT_EQ(served("grub/grub.cfg", plain), "grub/grub.cfg");
  // Entries made under another list of profiles are not taken.
  directory.Set(plain, 1, false, static_cast<uint16_t>(tables_->profile_fingerprint + 1));
  EXPECT_EQ(served("grub/grub.cfg", plain), "grub/grub.cfg");
  EXPECT_EQ(server_.counters().client_directory_full.load(), 0u);
}

// proxyDHCP has no lease: a boot-server request on 4011 (its ciaddr, the
// address the client has) stands for one, for the per-client files.
TEST_F(ServerTest, ProxyBootServerRequestsGetPerClientFiles) {
  Load(InstallMenus(ProxyMode(kConfig)));
  policy::ClientDirectory directory(64);
  server_.set_client_directory(&directory);
  auto grub_cfg = [&](uint32_t address) {
    return tables_->policy.tftp()
        .files(static_cast<int>(
            tables_->ForClient(*tables_->FindFileIndex("grub/grub.cfg"), address, &directory)))
        .path();
  };
  RequestSpec boot =
      Discover(1, {{option::kClientArch, U16(7)}, {option::kVendorClass, "PXEClient:Arch:00007"}});
  ASSERT_TRUE(Send(boot).reply);  // the offer on 67: no address yet
  EXPECT_EQ(grub_cfg(0xc6120099), "grub/grub.cfg");
  boot.type = MessageType::kRequest;
  boot.ciaddr = 0xc6120099;
  ASSERT_TRUE(Send(boot, /*boot_server_port=*/true).reply);
  EXPECT_EQ(grub_cfg(0xc6120099), "grub/p-install.cfg");
  EXPECT_EQ(grub_cfg(0xc612009a), "grub/grub.cfg");
}

// boot_files.ipxe: "nbp" treats iPXE (QEMU's NIC ROMs) like any PXE
// client; a path or URL is handed as it is.
TEST_F(ServerTest, IpxeClientsCanGetTheBootProgramOrAFileOfTheirOwn) {
  std::string config = kConfig;
  std::string install = "efi_x64_http: boot/grubx64.efi}}";
  config.replace(config.find(install), install.size(),
                 "efi_x64_http: boot/grubx64.efi, ipxe: nbp}, kernel: d-i/linux}");
  std::string burn = "{bios: memtest.bin}}";
  config.replace(config.find(burn), burn.size(),
                 "{bios: memtest.bin, ipxe: 'http://198.18.0.9/x.ipxe'}}");
  Load(config);
  auto ipxe =
      std::vector<std::pair<uint8_t, std::string>>{{option::kClientArch, U16(0)},
                                                   {option::kVendorClass, "PXEClient:Arch:00000"},
                                                   {option::kUserClass, "iPXE"}};
  ASSERT_TRUE(Send(Discover(1, ipxe)).reply);
  EXPECT_EQ(File(), "pxelinux.0");
  ASSERT_TRUE(reply_.Option(option::kPxelinuxConfigFile));
  EXPECT_EQ(Str(*reply_.Option(option::kPxelinuxConfigFile)), "pxelinux.cfg/p-install");
  EXPECT_EQ(Str(*reply_.Option(option::kTftpServer)), "198.18.0.1");
  RequestSpec relayed = Discover(9, ipxe);
  relayed.giaddr = 0xc6120001;
  relayed.options.emplace_back(option::kRelayAgentInfo, std::string("\x01\x0brack1/port3", 13));
  ASSERT_TRUE(Send(relayed).reply);
  EXPECT_EQ(File(), "http://198.18.0.9/x.ipxe");
  EXPECT_FALSE(reply_.Option(option::kTftpServer));
}

TEST_F(ServerTest, HonoursTheParameterListOrder) {
  Send(Discover(1, {{option::kParameterList,
                     std::string{option::kDns, option::kRouter, option::kSubnetMask}}}));
  // After 53, 54, 51, 58, 59: 6, 3, 1, then the rest.
  std::vector<uint8_t> codes = Codes();
  ASSERT_GE(codes.size(), 8u);
  EXPECT_EQ(std::vector<uint8_t>(codes.begin(), codes.begin() + 8),
            (std::vector<uint8_t>{53, 54, 51, 58, 59, 6, 3, 1}));
}

// The operator's options (docs/dhcp.md#options): where the client's option 55
// puts them, a host's over its subnet's, `always_send` ones unasked.
TEST_F(ServerTest, SendsConfiguredOptionsInTheParameterListOrder) {
  std::string text = kConfig;
  text.replace(text.find("  lease_time: 1h\n"), 16,
               "  lease_time: 1h\n"
               "  options:\n"
               "    - {name: ntp-servers, data: \"198.18.0.123, 198.18.0.124\"}\n"
               "    - {name: interface-mtu, data: 9000, always_send: true}\n");
  text.replace(text.find("      domain: lab.test\n"), 23,
               "      domain: lab.test\n"
               "      options: [{name: domain-search, data: \"lab.test, test\"}]\n");
  text.replace(text.find("profile: install}\n"), 18,
               "profile: install, options: [{name: ntp-servers, data: 198.18.0.9}]}\n");
  Load(text);
  const std::string wanted{option::kDomainName, 119, 42, option::kSubnetMask, option::kHostName};
  ASSERT_TRUE(Send(Discover(1, {{option::kParameterList, wanted}})).reply);
  std::vector<uint8_t> codes = Codes();
  // After 53, 54, 51, 58, 59: 15, 119, 42, 1 as asked (no host: no 12); then
  // 3 and 6, then 26 unasked; then the boot options.
  ASSERT_GE(codes.size(), 12u);
  EXPECT_EQ(std::vector<uint8_t>(codes.begin() + 5, codes.begin() + 12),
            (std::vector<uint8_t>{15, 119, 42, 1, 3, 6, 26}));
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x7b\xc6\x12\x00\x7c", 8));
  EXPECT_EQ(Str(*reply_.Option(119)), std::string("\x03lab\x04test\x00\x04test\x00", 16));
  EXPECT_EQ(Str(*reply_.Option(26)), "\x23\x28");
  // Not asked for: only the always_send one.
  ASSERT_TRUE(Send(Discover(2)).reply);
  EXPECT_FALSE(reply_.Has(42));
  EXPECT_FALSE(reply_.Has(119));
  EXPECT_TRUE(reply_.Has(26));
  // A reserved host: its own ntp-servers, its name as option 12, and the
  // subnet's domain-search.
  ASSERT_TRUE(Send(Discover(0x63, {{option::kParameterList, wanted}})).reply);
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x09", 4));
  EXPECT_EQ(Str(*reply_.Option(option::kHostName)), "fixed");
  EXPECT_TRUE(reply_.Has(119));
  // And the ACK carries the same.
  RequestSpec request = Select(0x63, 0xc6120007);
  request.options.push_back({option::kParameterList, wanted});
  ASSERT_EQ(Send(request).reply_type, MessageType::kAck);
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x09", 4));
  EXPECT_EQ(Str(*reply_.Option(option::kHostName)), "fixed");
  // INFORM too.
  RequestSpec inform = Discover(3, {{option::kParameterList, std::string{42}}});
  inform.type = MessageType::kInform;
  inform.ciaddr = 0xc6120032;
  ASSERT_TRUE(Send(inform).reply);
  EXPECT_EQ(Str(*reply_.Option(42)), std::string("\xc6\x12\x00\x7b\xc6\x12\x00\x7c", 8));
  // proxyDHCP: boot fields only.
  text = ProxyMode(text);
  Load(text);
  ASSERT_TRUE(Send(Discover(4, {{option::kParameterList, wanted},
                                {option::kVendorClass, "PXEClient:Arch:00000"}}))
                  .reply);
  EXPECT_FALSE(reply_.Has(42));
  EXPECT_FALSE(reply_.Has(26));
}

// A boot client's configured options come after its boot options, so that a
// small maximum message size leaves out those, never the boot file.
TEST_F(ServerTest, ConfiguredOptionsNeverCrowdOutTheBootFile) {
  std::string text = kConfig;
  text.replace(text.find("  lease_time: 1h\n"), 16,
               "  lease_time: 1h\n"
               "  options: [{name: ntp-servers, data: 198.18.0.123}, {code: 224, type: string, "
               "data: " +
                   std::string(250, 'x') + "}]\n");
  Load(text);
  client_limit_ = true;
  const std::string wanted{static_cast<char>(224), 42, option::kSubnetMask};
  // A PXE ROM (no option 57: 576 bytes): 224 does not fit after the boot
  // options and is left out; ntp-servers, asked for, comes after them.
  ASSERT_TRUE(Send(Discover(1, {{option::kParameterList, wanted},
                                {option::kClientArch, U16(0)},
                                {option::kVendorClass, "PXEClient:Arch:00000:UNDI:002001"}}))
                  .reply);
  EXPECT_EQ(File(), "pxelinux.0");
  EXPECT_FALSE(reply_.Has(224));
  EXPECT_EQ(server_.counters().options_dropped.load(), 1u);
  std::vector<uint8_t> codes = Codes();
  auto at = [&](uint8_t code) {
    return std::find(codes.begin(), codes.end(), code) - codes.begin();
  };
  EXPECT_LT(at(option::kSubnetMask), at(option::kBootfileName));
  EXPECT_LT(at(option::kBootfileName), at(42));
  ASSERT_LT(static_cast<size_t>(at(42)), codes.size());
  // Any other client gets them in its order: 224 first, as asked.
  ASSERT_TRUE(Send(Discover(2, {{option::kParameterList, wanted}})).reply);
  EXPECT_EQ(Codes()[5], 224);
}

// known_clients_only: hosts[] alone are answered, in both modes; others are
// counted, and what they give back is still taken.
TEST_F(ServerTest, KnownClientsOnlyAnswersHostEntriesAlone) {
  std::string text = kConfig;
  text.replace(text.find("      profile: install\n"), 22,
               "      profile: install\n      known_clients_only: true\n");
  Load(text);
  EXPECT_FALSE(Send(Discover(1)).reply);
  EXPECT_EQ(server_.counters().unknown_clients.load(), 1u);
  RequestSpec inform = Discover(1);
  inform.type = MessageType::kInform;
  inform.ciaddr = 0xc6120032;
  EXPECT_FALSE(Send(inform).reply);
  EXPECT_EQ(server_.counters().unknown_clients.load(), 2u);
  // A host with a fixed address, and one without (it takes the pool's).
  ASSERT_TRUE(Send(Discover(0x63)).reply);
  EXPECT_EQ(reply_.yiaddr.value, 0xc6120007u);
  ASSERT_TRUE(Send(Discover(0x64)).reply);
  uint32_t pooled = reply_.yiaddr.value;
  EXPECT_EQ(Send(Select(0x64, pooled)).reply_type, MessageType::kAck);
  // The other subnet is not restricted.
  RequestSpec relayed = Discover(2);
  relayed.giaddr = 0xc6130701;
  EXPECT_TRUE(Send(relayed).reply);
  EXPECT_EQ(server_.counters().unknown_clients.load(), 2u);
  // proxyDHCP too: an unknown PXE client is left to the site server alone.
  text = ProxyMode(text);
  Load(text);
  std::vector<std::pair<uint8_t, std::string>> pxe = {{option::kClientArch, U16(0)},
                                                      {option::kVendorClass, "PXEClient"}};
  EXPECT_FALSE(Send(Discover(3, pxe)).reply);
  EXPECT_EQ(server_.counters().unknown_clients.load(), 3u);
  ASSERT_TRUE(Send(Discover(0x63, pxe)).reply);
  EXPECT_EQ(File(), "pxelinux.0");
}

TEST_F(ServerTest, RelayedRequestsUseTheRelaysSubnetAndEchoOption82Last) {
  RequestSpec spec =
      Discover(9, {{option::kClientArch, U16(0)},
                   {option::kVendorClass, "PXEClient"},
                   {option::kRelayAgentInfo, std::string("\x01\x0brack1/port3", 13)}});
  spec.giaddr = 0xc6130701;  // 198.19.7.1
  Decision d = Send(spec);
  ASSERT_TRUE(d.reply);
  EXPECT_TRUE(d.to_relay);
  EXPECT_EQ(d.destination.value, 0xc6130701u);
  EXPECT_GE(reply_.yiaddr.value, 0xc613070au);
  EXPECT_LE(reply_.yiaddr.value, 0xc6130714u);
  EXPECT_EQ(File(), "memtest.bin");  // the host matched by circuit id
  // Option 82 is the last option before END.
  size_t end = reply_bytes_.size();
  while (uint8_t(reply_bytes_[end - 1]) == 0) --end;  // padding
  EXPECT_EQ(uint8_t(reply_bytes_[end - 1]), option::kEnd);
  EXPECT_EQ(uint8_t(reply_bytes_[end - 1 - 13 - 2]), option::kRelayAgentInfo);
}

TEST_F(ServerTest, SubnetSelectionAndLinkSelectionPickTheSubnet) {
  // RFC 3011 option 118 names the subnet, whatever the relay or interface.
  ASSERT_TRUE(Send(Discover(11, {{option::kSubnetSelection, U32(0xc6130700)}})).reply);
  EXPECT_GE(reply_.yiaddr.value, 0xc613070au);
  EXPECT_LE(reply_.yiaddr.value, 0xc6130714u);
  // RFC 3527: the relay's link selection sub-option wins over giaddr.
  RequestSpec relayed =
      Discover(12, {{option::kRelayAgentInfo, std::string("\x05\x04\xc6\x13\x07\x00", 6)}});
  relayed.giaddr = 0xc6120001;
  Decision d = Send(relayed);
  ASSERT_TRUE(d.reply);
  EXPECT_GE(reply_.yiaddr.value, 0xc613070au);
  EXPECT_TRUE(d.to_relay);  // the reply still goes to the relay
  EXPECT_EQ(d.destination.value, 0xc6120001u);
}

TEST_F(ServerTest, RateLimitsFloodsButNotReservedHosts) {
  step_ms_ = 0;
  int answered = 0;
  for (int i = 0; i < 20; ++i) answered += Send(Discover(1)).reply;
  EXPECT_EQ(answered, 5);
  EXPECT_EQ(server_.counters().rate_limited.load(), 15u);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(Send(Discover(0x63)).reply);
  now_ms_ += 1000;  // tokens come back with time
  EXPECT_TRUE(Send(Discover(1)).reply);
}

// A flood of made-up MACs does not free a MAC that keeps flooding (the
// buckets' table keeps the most recently seen; see rate_limiter_test.cc).
TEST_F(ServerTest, AFloodOfMadeUpMacsDoesNotFreeAFlooder) {
  step_ms_ = 0;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Send(Discover(1)).reply);
  EXPECT_FALSE(Send(Discover(1)).reply);  // its 5 tokens are spent
  std::vector<std::byte> bytes = Request(Discover(2));
  uint64_t limited = server_.counters().rate_limited.load();
  for (uint32_t i = 0; i < 200'000; ++i) {
    // chaddr 02:01:<i>: a MAC of its own (not 02:00:5e:00:00:xx)
    bytes[28 + 1] = std::byte{1};
    bytes[28 + 3] = std::byte(i >> 16);
    bytes[28 + 4] = std::byte(i >> 8);
    bytes[28 + 5] = std::byte(i);
    Message request;
    ASSERT_TRUE(Parse(bytes, request).ok());
    RequestContext context{{{kServer}, 24}, false, now_ms_};
    std::vector<std::byte> buffer(1500);
    server_.Handle(request, context, *tables_, buffer, 1472);
    if (i % 4 == 0) {
      ASSERT_FALSE(Send(Discover(1)).reply) << i;
    }
  }
  EXPECT_EQ(server_.counters().rate_limited.load(), limited + 50'000);  // the flooder's only
}

TEST_F(ServerTest, ProxyModeAnswersOnlyPxeClientsWithBootFieldsOnly) {
  Load(ProxyMode(kConfig));
  EXPECT_FALSE(Send(Discover(1)).reply);  // a plain client: the site server's job
  Decision offer = Send(
      Discover(1, {{option::kClientArch, U16(7)}, {option::kVendorClass, "PXEClient:Arch:00007"}}));
  ASSERT_TRUE(offer.reply);
  EXPECT_EQ(offer.reply_type, MessageType::kOffer);
  EXPECT_EQ(reply_.yiaddr.value, 0u);
  EXPECT_FALSE(reply_.Has(option::kLeaseTime));
  EXPECT_EQ(File(), "bootnetx64.efi");
  EXPECT_EQ(Str(*reply_.Option(option::kVendorSpecific)), std::string("\x06\x01\x08\xff", 4));
  // No lease; a proxy step for control's `stampede boots`, with no address.
  EXPECT_EQ(offer.change, LeaseChange::kNone);
  EXPECT_EQ(offer.proxy, ProxyStep::kOffered);
  EXPECT_EQ(offer.lease.client.length, 7u);  // hardware type + MAC
  EXPECT_EQ(offer.lease.address, 0u);
  EXPECT_EQ(offer.client_arch, 7u);
  EXPECT_NE(offer.boot_profile, 0u);
  // The boot server request on 4011 gets an ACK back to where it came from.
  RequestSpec boot =
      Discover(1, {{option::kClientArch, U16(7)}, {option::kVendorClass, "PXEClient:Arch:00007"}});
  boot.type = MessageType::kRequest;
  boot.ciaddr = 0xc6120099;
  Decision ack = Send(boot, /*boot_server_port=*/true);
  ASSERT_TRUE(ack.reply);
  EXPECT_EQ(ack.reply_type, MessageType::kAck);
  EXPECT_TRUE(ack.to_source);
  EXPECT_EQ(File(), "bootnetx64.efi");
  EXPECT_EQ(ack.proxy, ProxyStep::kAcked);
  EXPECT_EQ(ack.lease.address, 0xc6120099u);  // the address it has
  EXPECT_EQ(ack.lease.client, offer.lease.client);
  EXPECT_EQ(ack.boot_profile, offer.boot_profile);
  EXPECT_EQ(ack.change, LeaseChange::kNone);
  // A REQUEST on 67 belongs to the site server.
  boot.ciaddr = 0;
  EXPECT_FALSE(Send(boot).reply);
}

// Which address a PXE client asks the site server for (option 50, else
// ciaddr) is a proxy step; a plain client's REQUEST, or one naming no
// address, is none.
TEST_F(ServerTest, ProxyModeNotesTheAddressAPxeClientAsksTheSiteServerFor) {
  Load(ProxyMode(kConfig));
  RequestSpec request =
      Discover(2, {{option::kClientArch, U16(0)}, {option::kVendorClass, "PXEClient:Arch:00000"}});
  request.type = MessageType::kRequest;
  Decision none = Send(request);
  EXPECT_FALSE(none.reply);
  EXPECT_EQ(none.proxy, ProxyStep::kNone);
  request.options.push_back({option::kServerId, U32(0xc61200fa)});
  request.options.push_back({option::kRequestedAddress, U32(0xc6120096)});
  Decision asked = Send(request);
  EXPECT_FALSE(asked.reply);
  EXPECT_EQ(asked.proxy, ProxyStep::kRequested);
  EXPECT_EQ(asked.lease.address, 0xc6120096u);
  EXPECT_EQ(asked.client_arch, 0u);
  EXPECT_EQ(asked.change, LeaseChange::kNone);
  RequestSpec renewing =
      Discover(2, {{option::kClientArch, U16(0)}, {option::kVendorClass, "PXEClient:Arch:00000"}});
  renewing.type = MessageType::kRequest;
  renewing.ciaddr = 0xc6120097;
  Decision renew = Send(renewing);
  EXPECT_EQ(renew.proxy, ProxyStep::kRequested);
  EXPECT_EQ(renew.lease.address, 0xc6120097u);
  EXPECT_EQ(renew.lease.client, asked.lease.client);
  RequestSpec plain = Discover(3, {{option::kRequestedAddress, U32(0xc6120098)}});
  plain.type = MessageType::kRequest;
  EXPECT_EQ(Send(plain).proxy, ProxyStep::kNone);
}

TEST_F(ServerTest, InformGetsConfigurationWithoutALease) {
  RequestSpec inform = Discover(1);
  inform.type = MessageType::kInform;
  inform.ciaddr = 0xc6120032;
  Decision d = Send(inform);
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply_type, MessageType::kAck);
  EXPECT_TRUE(d.to_ciaddr);
  EXPECT_EQ(reply_.yiaddr.value, 0u);
  EXPECT_FALSE(reply_.Has(option::kLeaseTime));
  EXPECT_EQ(d.change, LeaseChange::kNone);
}

}  // namespace
}  // namespace stampede::dhcp
