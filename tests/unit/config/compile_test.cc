#include "control/config/compile.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "control/publish/publisher.h"
#include "dataplane/policy/reader.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stampede::config {
namespace {

constexpr char kConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24, 198.19.0.1/16]}
dhcp:
  lease_time: 2h
  subnets:
    - subnet: 198.18.0.0/24
      router: 198.18.0.1
      dns: [198.18.0.2, 198.18.0.3]
      profile: install
      pools:
        - {first: 198.18.0.100, last: 198.18.0.120}
        - {first: 198.18.0.10, last: 198.18.0.20}
    - subnet: 198.19.0.0/16
      lease_time: 5m
hosts:
  - {name: n7, mac: "02:00:5E:10:00:07", ipv4: 198.18.0.7, profile: install, next_boot: burn}
  - {name: r1, circuit_id: "rack1/port3", lease_time: 12h}
profiles:
  - {name: burn, boot_files: {bios: memtest.bin}}
  - {name: install, menu_timeout: 1m, boot_files: {efi_x64: ipxe.efi}}
)";

v1::BootPolicy CompileOrDie(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(text, "c.yaml", Format::kYaml);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<v1::BootPolicy> policy = Compile(*loaded);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.value_or(v1::BootPolicy());
}

TEST(CompileTest, ResolvesAddressesReferencesAndDefaults) {
  v1::BootPolicy policy = CompileOrDie(kConfig);
  ASSERT_EQ(policy.addresses_size(), 2);
  EXPECT_EQ(policy.addresses(1).address(), 0xc6130001u);
  EXPECT_EQ(policy.addresses(1).prefix_length(), 16u);
  const v1::CompiledSubnet& subnet = policy.dhcp().subnets(0);
  EXPECT_EQ(subnet.network(), 0xc6120000u);
  ASSERT_EQ(subnet.pools_size(), 2);
  EXPECT_EQ(subnet.pools(0).first(), 0xc612000au);  // sorted
  EXPECT_EQ(subnet.pools(1).last(), 0xc6120078u);
  EXPECT_EQ(subnet.router(), 0xc6120001u);
  EXPECT_EQ(subnet.dns_size(), 2);
  EXPECT_EQ(subnet.lease_seconds(), 7200u);
  EXPECT_EQ(policy.dhcp().subnets(1).lease_seconds(), 300u);
  EXPECT_EQ(policy.profiles(subnet.profile() - 1).name(), "install");
  EXPECT_EQ(policy.dhcp().subnets(1).profile(), 0u);
  const v1::CompiledHost& host = policy.hosts(0);
  EXPECT_EQ(host.mac(), std::string("\x02\x00\x5e\x10\x00\x07", 6));
  EXPECT_EQ(host.ipv4(), 0xc6120007u);
  EXPECT_EQ(policy.profiles(host.profile() - 1).name(), "install");
  EXPECT_EQ(policy.profiles(host.next_boot() - 1).name(), "burn");
  EXPECT_EQ(host.lease_seconds(), 0u);  // its subnet's
  EXPECT_EQ(policy.hosts(1).lease_seconds(), 43200u);
  EXPECT_EQ(policy.hosts(1).mac(), "");
  EXPECT_EQ(policy.hosts(1).circuit_id(), "rack1/port3");
  EXPECT_EQ(policy.profiles(1).menu_timeout_seconds(), 60u);
  EXPECT_EQ(policy.profiles(0).menu_title(), "burn");  // defaults to the name
  EXPECT_EQ(policy.dhcp().mode(), v1::CompiledDhcp::AUTHORITATIVE);
  EXPECT_EQ(policy.tftp().max_blksize(), kDefaultTftpBlksize);
  EXPECT_EQ(policy.http_port(), kDefaultHttpPort);
  EXPECT_EQ(policy.limits().max_tftp_sessions(), kDefaultMaxTftpSessions);
  EXPECT_EQ(policy.source(), "c.yaml");
  EXPECT_FALSE(policy.ipv6_ra());  // off unless asked
}

TEST(CompileTest, CarriesTheRouterAdvertisementSwitch) {
  EXPECT_TRUE(CompileOrDie("dataplane: {port: net_null0, ipv4: [198.18.0.1/24], ipv6_ra: true}\n")
                  .ipv6_ra());
  EXPECT_FALSE(CompileOrDie("dataplane: {port: net_null0, ipv4: [198.18.0.1/24], ipv6_ra: false}\n")
                   .ipv6_ra());
}

// Debian 12's GRUB asks the address server's next-server for grub.cfg, so in
// proxy mode a shim/GRUB UEFI profile never boots: warned, still compiled.
TEST(CompileTest, WarnsOfShimOrGrubInProxyMode) {
  auto warnings_of = [](const std::string& mode) {
    absl::StatusOr<LoadedConfig> loaded = ParseConfig(
        "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
        "dhcp: {mode: " +
            mode +
            ", subnets: [{subnet: 198.18.0.0/24}]}\n"
            "profiles:\n"
            "  - {name: a, boot_files: {bios: pxelinux.0, efi_x64: debian/bootnetx64.efi}}\n"
            "  - {name: b, boot_files: {efi_x64: ipxe.efi, efi_arm64: grubaa64.efi}}\n"
            "  - {name: c, boot_files: {efi_ia32: SHIMIA32.EFI}}\n",
        "c.yaml", Format::kYaml);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    std::vector<std::string> warnings;
    EXPECT_TRUE(Compile(*loaded, &warnings).ok());
    return warnings;
  };
  std::vector<std::string> warnings = warnings_of("proxy");
  ASSERT_EQ(warnings.size(), 3u) << absl::StrJoin(warnings, "\n");
  EXPECT_TRUE(warnings[0].starts_with(
      "c.yaml:4:55: profiles[0].boot_files.efi_x64: 'debian/bootnetx64.efi' is shim or GRUB, "
      "which in proxyDHCP mode asks the site DHCP server's next-server"))
      << warnings[0];
  EXPECT_TRUE(warnings[1].starts_with("c.yaml:5:58: profiles[1].boot_files.efi_arm64:"))
      << warnings[1];
  EXPECT_TRUE(warnings[2].starts_with("c.yaml:6:38: profiles[2].boot_files.efi_ia32:"))
      << warnings[2];
  EXPECT_TRUE(warnings_of("authoritative").empty());
}

// Global options, a subnet's over them, a host's own with its name as
// option 12: each list sorted by code, encoded as on the wire.
TEST(CompileTest, MergesDhcpOptions) {
  v1::BootPolicy policy = CompileOrDie(
      "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
      "dhcp:\n"
      "  options:\n"
      "    - {name: ntp-servers, data: 198.18.0.2}\n"
      "    - {name: interface-mtu, data: 9000, always_send: true}\n"
      "  subnets:\n"
      "    - subnet: 198.18.0.0/24\n"
      "      options: [{name: ntp-servers, data: \"198.18.0.3, 198.18.0.4\"}, {code: 224, "
      "type: string, data: x}]\n"
      "    - {subnet: 198.19.0.0/24}\n"
      "hosts:\n"
      "  - {name: rack1-n7, mac: \"02:00:00:00:00:07\"}\n"
      "  - {name: n_8, mac: \"02:00:00:00:00:08\"}\n"
      "  - {name: n9, mac: \"02:00:00:00:00:09\", options: [{name: host-name, data: other}, "
      "{name: domain-search, data: lab}]}\n");
  auto codes = [](const auto& options) {
    std::vector<uint32_t> out;
    for (const v1::CompiledOption& o : options) out.push_back(o.code());
    return out;
  };
  const v1::CompiledSubnet& first = policy.dhcp().subnets(0);
  EXPECT_EQ(codes(first.options()), (std::vector<uint32_t>{26, 42, 224}));
  EXPECT_EQ(first.options(0).value(), "\x23\x28");
  EXPECT_TRUE(first.options(0).always_send());
  EXPECT_EQ(first.options(1).value(), std::string("\xc6\x12\x00\x03\xc6\x12\x00\x04", 8));
  EXPECT_FALSE(first.options(1).always_send());
  const v1::CompiledSubnet& second = policy.dhcp().subnets(1);
  EXPECT_EQ(codes(second.options()), (std::vector<uint32_t>{26, 42}));
  EXPECT_EQ(second.options(1).value(), std::string("\xc6\x12\x00\x02", 4));
  ASSERT_EQ(policy.hosts(0).options_size(), 1);
  EXPECT_EQ(policy.hosts(0).options(0).code(), 12u);
  EXPECT_EQ(policy.hosts(0).options(0).value(), "rack1-n7");
  EXPECT_EQ(policy.hosts(1).options_size(), 0);  // not a host name: not sent
  EXPECT_EQ(codes(policy.hosts(2).options()), (std::vector<uint32_t>{12, 119}));
  EXPECT_EQ(policy.hosts(2).options(0).value(), "other");
}

TEST(CompileTest, CarriesKnownClientsOnly) {
  v1::BootPolicy policy = CompileOrDie(
      "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
      "dhcp: {subnets: [{subnet: 198.18.0.0/24, known_clients_only: true}, {subnet: "
      "198.19.0.0/24}]}\n");
  EXPECT_TRUE(policy.dhcp().subnets(0).known_clients_only());
  EXPECT_FALSE(policy.dhcp().subnets(1).known_clients_only());
}

TEST(CompileTest, WarnsThatProxyModeSendsNoOptions) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(
      "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
      "dhcp: {mode: proxy, options: [{name: ntp-servers, data: 198.18.0.2}]}\n",
      "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> warnings;
  ASSERT_TRUE(Compile(*loaded, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u) << absl::StrJoin(warnings, "\n");
  EXPECT_EQ(warnings[0],
            "c.yaml:2:30: dhcp.options: not sent in proxy mode (proxyDHCP replies carry only the "
            "boot fields; the site DHCP server sends options)");
}

TEST(CompileTest, RefusesAnInvalidConfigWithEveryProblem) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(
      "dataplane: {port: x, ipv4: [198.18.0.1/24]}\nhosts:\n  - {mac: \"02:00:00:00:00:01\", "
      "profile: a}\n  - {name: b}\n",
      "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok());
  absl::StatusOr<v1::BootPolicy> policy = Compile(*loaded);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(
      policy.status().message(),
      "c.yaml:3:41: hosts[0].profile: no profile named 'a'\n"
      "c.yaml:4:5: hosts[1]: needs a mac, client_id, circuit_id or remote_id to be recognised");
}

TEST(CompileTest, TftpClientClassesTakeTheGlobalValuesAsDefaults) {
  v1::BootPolicy policy = CompileOrDie(std::string(kConfig) + R"(tftp:
  bootloaders: [none]
  max_blksize: 1400
  rollover_to: 1
  case_insensitive: true
  client_classes:
    - {network: 198.18.7.0/24, max_windowsize: 4}
    - {network: 198.18.0.0/16, rollover_to: 1, max_blksize: 512}
)");
  const v1::CompiledTftp& tftp = policy.tftp();
  EXPECT_EQ(tftp.max_blksize(), 1400u);
  EXPECT_EQ(tftp.max_windowsize(), kDefaultTftpWindowsize);
  EXPECT_EQ(tftp.rollover_to(), 1u);
  EXPECT_TRUE(tftp.case_insensitive());
  EXPECT_EQ(tftp.files_size(), 0);  // no root, no catalog
  ASSERT_EQ(tftp.client_classes_size(), 2);
  const v1::CompiledTftpClass& first = tftp.client_classes(0);
  EXPECT_EQ(first.network(), 0xc6120700u);
  EXPECT_EQ(first.prefix_length(), 24u);
  EXPECT_EQ(first.rollover_to(), 0u);  // its own, not the global one
  EXPECT_EQ(first.max_blksize(), 1400u);
  EXPECT_EQ(first.max_windowsize(), 4u);
  const v1::CompiledTftpClass& second = tftp.client_classes(1);
  EXPECT_EQ(second.network(), 0xc6120000u);
  EXPECT_EQ(second.prefix_length(), 16u);
  EXPECT_EQ(second.rollover_to(), 1u);
  EXPECT_EQ(second.max_blksize(), 512u);
  EXPECT_EQ(second.max_windowsize(), kDefaultTftpWindowsize);
}

class CompileTftpRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("stampede-compile-root-" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "boot");
    std::ofstream(root_ / "pxelinux.0") << "pxe";
    std::ofstream(root_ / "boot/BCD") << "bcd";
    std::ofstream(root_ / "boot/bcd") << "bcd";
    std::ofstream(root_ / "a\\b") << "backslash";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  absl::StatusOr<v1::BootPolicy> Compile(const std::string& tftp,
                                         std::vector<std::string>* warnings) {
    absl::StatusOr<LoadedConfig> loaded =
        ParseConfig(std::string(kConfig) + tftp, "c.yaml", Format::kYaml);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return config::Compile(*loaded, warnings);
  }

  std::filesystem::path root_;
};

// kConfig is 19 lines: the tftp block starts on line 20.
TEST_F(CompileTftpRootTest, CataloguesTheRootAndWarnsOfWhatItLeavesOut) {
  std::vector<std::string> warnings;
  absl::StatusOr<v1::BootPolicy> policy =
      Compile("tftp:\n  case_insensitive: true\n  root: " + root_.string() + "\n" +
                  "  bootloaders: [none]\n",
              &warnings);
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->tftp().files_size(), 2);
  EXPECT_EQ(policy->tftp().files(0).path(), "boot/BCD");
  EXPECT_EQ(policy->tftp().files(1).path(), "pxelinux.0");
  EXPECT_EQ(policy->tftp().files(1).length(), 3u);
  EXPECT_TRUE(policy->tftp().files(1).source().ends_with("/pxelinux.0"));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "c.yaml:22:9: tftp.root: a\\\\b: a request for it is read as 'a/b'");
  EXPECT_EQ(warnings[1],
            "c.yaml:22:9: tftp.root: boot/bcd: same name ignoring case as 'boot/BCD', which is "
            "served");
  // Warnings are optional: the same policy without them.
  absl::StatusOr<v1::BootPolicy> quiet =
      Compile("tftp:\n  case_insensitive: true\n  root: " + root_.string() + "\n" +
                  "  bootloaders: [none]\n",
              nullptr);
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*quiet, *policy));
}

TEST_F(CompileTftpRootTest, AnUnreadableRootIsAnErrorAtTheField) {
  std::vector<std::string> warnings;
  std::string missing = (root_ / "missing").string();
  absl::StatusOr<v1::BootPolicy> policy = Compile("tftp: {root: " + missing + "}\n", &warnings);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(policy.status().message(),
            "c.yaml:20:14: tftp.root: '" + missing + "' cannot be read: No such file or directory");
  EXPECT_TRUE(warnings.empty());
}

// The compiled policy through the real channel: published, read, parsed, equal.
TEST(CompileTest, SurvivesTheSharedMemoryChannel) {
  v1::BootPolicy policy = CompileOrDie(kConfig);
  std::string path = (std::filesystem::temp_directory_path() /
                      ("stampede-compile-test-" + std::to_string(getpid())))
                         .string();
  {
    absl::StatusOr<publish::Publisher> publisher = publish::Publisher::Open(path, 1 << 16);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    std::string bytes = policy.SerializeAsString();
    ASSERT_TRUE(publisher->Publish(std::as_bytes(std::span(bytes))).ok());
  }
  absl::StatusOr<policy::RegionMapping> mapping = policy::RegionMapping::Open(path);
  ASSERT_TRUE(mapping.ok());
  absl::StatusOr<policy::ReadResult> read = policy::ReadRegion(mapping->bytes(), 0);
  ASSERT_TRUE(read.ok()) << read.status();
  v1::BootPolicy parsed;
  ASSERT_TRUE(parsed.ParseFromArray(read->payload.data(), static_cast<int>(read->payload.size())));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, policy));
  std::filesystem::remove(path);
}

// A host by client identifier: its hex in any of the usual spellings,
// compiled to option 61's bytes.
TEST(CompileTest, HostsByClientIdentifierGetItsBytes) {
  v1::BootPolicy policy = CompileOrDie(R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp: {subnets: [{subnet: 198.18.0.0/24}]}
hosts:
  - {name: ib1, client_id: "ff:00:00:00:01:00:02:0A", ipv4: 198.18.0.8}
  - {name: d2, client_id: "0x0102"}
)");
  EXPECT_EQ(policy.hosts(0).client_id(), std::string("\xff\x00\x00\x00\x01\x00\x02\x0a", 8));
  EXPECT_EQ(policy.hosts(0).mac(), "");
  EXPECT_EQ(policy.hosts(1).client_id(), std::string("\x01\x02", 2));
}

// Client classes: matchers compiled to what the dataplane compares, options
// encoded and sorted, the profile by index, in config order.
TEST(CompileTest, ClientClasses) {
  v1::BootPolicy policy = CompileOrDie(R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp:
  subnets:
    - subnet: 198.18.0.0/24
      pools:
        - {first: 198.18.0.100, last: 198.18.0.199, classes: ["!supermicro", "!known"]}
        - {first: 198.18.0.10, last: 198.18.0.20, classes: [ipxe, supermicro]}
        - {first: 198.18.0.30, last: 198.18.0.40, classes: [known]}
  classes:
    - name: supermicro
      known: true
      lease_time: 15m
      mac: ["0c:c4:7a:*"]
      vendor_class: [PXEClient]
      arch: [efi_x64, bios, "7"]
      profile: burn-in
      options: [{code: 224, type: string, data: rack}, {name: ntp-servers, data: 198.18.0.9}]
    - {name: ipxe, user_class: [iPXE], circuit_id: [r1/p3], remote_id: [sw1]}
profiles:
  - {name: install}
  - {name: burn-in}
)");
  ASSERT_EQ(policy.dhcp().classes_size(), 2);
  const v1::CompiledClass& c = policy.dhcp().classes(0);
  EXPECT_EQ(c.name(), "supermicro");
  ASSERT_EQ(c.macs_size(), 1);
  EXPECT_EQ(c.macs(0).value(), 0x0cc47a000000u);
  EXPECT_EQ(c.macs(0).mask(), 0xffffff000000u);
  EXPECT_EQ(std::vector<std::string>(c.vendor_classes().begin(), c.vendor_classes().end()),
            std::vector<std::string>{"PXEClient"});
  EXPECT_EQ(std::vector<uint32_t>(c.client_archs().begin(), c.client_archs().end()),
            (std::vector<uint32_t>{0, 7, 9}));
  EXPECT_EQ(c.profile(), 2u);
  ASSERT_EQ(c.options_size(), 2);
  EXPECT_EQ(c.options(0).code(), 42u);
  EXPECT_EQ(c.options(0).value(), std::string("\xc6\x12\x00\x09", 4));
  EXPECT_EQ(c.options(1).code(), 224u);
  const v1::CompiledClass& ipxe = policy.dhcp().classes(1);
  EXPECT_EQ(ipxe.user_classes(0), "iPXE");
  EXPECT_EQ(ipxe.circuit_ids(0), "r1/p3");
  EXPECT_EQ(ipxe.remote_ids(0), "sw1");
  EXPECT_EQ(ipxe.profile(), 0u);
  EXPECT_TRUE(ipxe.macs().empty());
  EXPECT_TRUE(c.known());
  EXPECT_FALSE(ipxe.known());
  EXPECT_EQ(c.lease_seconds(), 900u);
  EXPECT_EQ(ipxe.lease_seconds(), 0u);
  // Pools sorted by address, their classes as bits (supermicro 1, ipxe 2).
  const v1::CompiledSubnet& subnet = policy.dhcp().subnets(0);
  ASSERT_EQ(subnet.pools_size(), 3);
  EXPECT_EQ(subnet.pools(0).first(), 0xc612000au);
  EXPECT_EQ(subnet.pools(0).allow_classes(), 3u);
  EXPECT_EQ(subnet.pools(0).deny_classes(), 0u);
  EXPECT_FALSE(subnet.pools(0).allow_known() || subnet.pools(0).deny_known());
  EXPECT_EQ(subnet.pools(1).first(), 0xc612001eu);  // the built-in "known"
  EXPECT_EQ(subnet.pools(1).allow_classes() | subnet.pools(1).deny_classes(), 0u);
  EXPECT_TRUE(subnet.pools(1).allow_known());
  EXPECT_EQ(subnet.pools(2).first(), 0xc6120064u);
  EXPECT_EQ(subnet.pools(2).allow_classes(), 0u);
  EXPECT_EQ(subnet.pools(2).deny_classes(), 1u);
  EXPECT_TRUE(subnet.pools(2).deny_known());
}

}  // namespace
}  // namespace stampede::config
