#include "dataplane/policy/tables.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include "control/config/compile.h"
#include "dataplane/policy/reader.h"
#include "gtest/gtest.h"

namespace stampede::policy {
namespace {

constexpr char kConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp:
  subnets:
    - subnet: 198.18.0.0/24
      profile: install
      pools: [{first: 198.18.0.100, last: 198.18.0.120}, {first: 198.18.0.10, last: 198.18.0.20}]
hosts:
  - {name: n7, mac: "02:00:5E:10:00:07", ipv4: 198.18.0.7, profile: install}
profiles:
  - {name: install, boot_files: {bios: pxelinux.0, efi_x64: ipxe.efi}}
tftp: {bootloaders: [none]}
)";

v1::BootPolicy Compiled() {
  absl::StatusOr<config::LoadedConfig> loaded =
      config::ParseConfig(kConfig, "c.yaml", config::Format::kYaml);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<v1::BootPolicy> policy = config::Compile(*loaded);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

void AddOption(google::protobuf::RepeatedPtrField<v1::CompiledOption>& options, uint32_t code,
               std::string value) {
  v1::CompiledOption* option = options.Add();
  option->set_code(code);
  option->set_value(std::move(value));
}

absl::StatusOr<std::unique_ptr<const PolicyTables>> Build(const v1::BootPolicy& policy) {
  std::string bytes = policy.SerializeAsString();
  return BuildTables({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, 9);
}

TEST(TablesTest, BuildsLookupsFromACompiledPolicy) {
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(Compiled());
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ((*tables)->generation, 9u);
  const std::byte mac[6] = {std::byte{0x02}, std::byte{0x00}, std::byte{0x5e},
                            std::byte{0x10}, std::byte{0x00}, std::byte{0x07}};
  const v1::CompiledHost* host = (*tables)->HostByMac(std::span<const std::byte, 6>(mac));
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->name(), "n7");
  const std::byte other[6] = {};
  EXPECT_EQ((*tables)->HostByMac(std::span<const std::byte, 6>(other)), nullptr);
  EXPECT_EQ((*tables)->HostByClientId(std::string("\x01\x02\x00\x5e\x10\x00\x07", 7)),
            nullptr);                                   // hosts by MAC are not by client id
  ASSERT_NE((*tables)->SubnetOf(0xc6120063), nullptr);  // 198.18.0.99
  EXPECT_EQ((*tables)->SubnetOf(0xc6130001), nullptr);  // 198.19.0.1
}

TEST(TablesTest, RefusesBytesThatAreNotAPolicy) {
  const std::byte garbage[] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = BuildTables(garbage, 1);
  ASSERT_FALSE(tables.ok());
  EXPECT_EQ(tables.status().code(), absl::StatusCode::kInvalidArgument);
}

struct BadCase {
  std::string name;
  std::function<void(v1::BootPolicy&)> spoil;
  std::string message;
};

class TablesRefuseTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(TablesRefuseTest, RefusesWithTheProblem) {
  v1::BootPolicy policy = Compiled();
  GetParam().spoil(policy);
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(policy);
  ASSERT_FALSE(tables.ok());
  EXPECT_NE(std::string(tables.status().message()).find(GetParam().message), std::string::npos)
      << tables.status();
}

v1::CompiledSubnet& Subnet(v1::BootPolicy& p) { return *p.mutable_dhcp()->mutable_subnets(0); }

v1::CatalogFile& AddFile(v1::BootPolicy& p, const std::string& path,
                         const std::string& source = "/srv/tftp/file") {
  v1::CatalogFile* file = p.mutable_tftp()->add_files();
  file->set_path(path);
  file->set_source(source);
  file->set_length(100);
  return *file;
}

v1::ClientFile& AddClientFile(v1::BootPolicy& p, const std::string& path) {
  v1::ClientFile* file = p.mutable_tftp()->add_client_files();
  file->set_path(path);
  file->set_kind(v1::CLIENT_FILE_KIND_GRUB);
  return *file;
}

// 198.18.7.0/24, blksize 1468, windowsize 16.
v1::CompiledTftpClass& AddClass(v1::BootPolicy& p) {
  v1::CompiledTftpClass* tftp_class = p.mutable_tftp()->add_client_classes();
  tftp_class->set_network(0xc6120700);
  tftp_class->set_prefix_length(24);
  tftp_class->set_max_blksize(1468);
  tftp_class->set_max_windowsize(16);
  return *tftp_class;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TablesRefuseTest,
    ::testing::Values(
        BadCase{"NoMode", [](v1::BootPolicy& p) { p.mutable_dhcp()->clear_mode(); }, "mode"},
        BadCase{"Prefix", [](v1::BootPolicy& p) { Subnet(p).set_prefix_length(33); }, "over 32"},
        BadCase{"HostBits", [](v1::BootPolicy& p) { Subnet(p).set_network(0xc6120001); },
                "host bits"},
        BadCase{"Reversed",
                [](v1::BootPolicy& p) { Subnet(p).mutable_pools(0)->set_last(0xc6120001); },
                "reversed"},
        BadCase{"Outside",
                [](v1::BootPolicy& p) { Subnet(p).mutable_pools(1)->set_last(0xc6130001); },
                "outside"},
        BadCase{"Overlap",
                [](v1::BootPolicy& p) { Subnet(p).mutable_pools(1)->set_first(0xc6120014); },
                "overlapping"},
        BadCase{"PoolUnknownClass",
                [](v1::BootPolicy& p) { Subnet(p).mutable_pools(0)->set_deny_classes(1); },
                "pool names a class the policy does not have"},
        BadCase{"PoolWantsAndKeepsOut",
                [](v1::BootPolicy& p) {
                  p.mutable_dhcp()->add_classes()->add_client_archs(0);
                  Subnet(p).mutable_pools(0)->set_allow_classes(1);
                  Subnet(p).mutable_pools(0)->set_deny_classes(1);
                },
                "pool both wants and keeps out a class"},
        BadCase{"PoolWantsAndKeepsOutKnown",
                [](v1::BootPolicy& p) {
                  Subnet(p).mutable_pools(0)->set_allow_known(true);
                  Subnet(p).mutable_pools(0)->set_deny_known(true);
                },
                "pool both wants and keeps out a class"},
        BadCase{"LeaseZero", [](v1::BootPolicy& p) { Subnet(p).set_lease_seconds(0); }, "lease"},
        BadCase{"ProfileRef", [](v1::BootPolicy& p) { p.mutable_hosts(0)->set_profile(5); },
                "profile 5 of 1"},
        BadCase{"MacLength", [](v1::BootPolicy& p) { p.mutable_hosts(0)->set_mac("abc"); },
                "6 bytes"},
        BadCase{"MacRepeated", [](v1::BootPolicy& p) { *p.add_hosts() = p.hosts(0); }, "repeated"},
        BadCase{"ClientIdRepeated",
                [](v1::BootPolicy& p) {
                  for (int i = 0; i < 2; ++i) p.add_hosts()->set_client_id("\x01\x02");
                },
                "hosts[2]: client id repeated"},
        BadCase{"ClientIdShort",
                [](v1::BootPolicy& p) { p.add_hosts()->set_client_id("\x01"); },
                "hosts[1]: client id is not 2 to 255 bytes"},
        BadCase{"ClassTooMany",
                [](v1::BootPolicy& p) {
                  for (int i = 0; i <= 64; ++i) p.mutable_dhcp()->add_classes()->add_client_archs(0);
                },
                "dhcp.classes: 65 classes, more than 64"},
        BadCase{"ClassMatchesNothing",
                [](v1::BootPolicy& p) { p.mutable_dhcp()->add_classes()->set_name("x"); },
                "dhcp.classes[0]: matches nothing"},
        BadCase{"ClassMacPast48Bits",
                [](v1::BootPolicy& p) {
                  v1::MacPattern* mac = p.mutable_dhcp()->add_classes()->add_macs();
                  mac->set_mask(uint64_t{1} << 48);
                },
                "MAC pattern past 48 bits"},
        BadCase{"ClassMacOutsideMask",
                [](v1::BootPolicy& p) {
                  v1::MacPattern* mac = p.mutable_dhcp()->add_classes()->add_macs();
                  mac->set_mask(0xffffff000000);
                  mac->set_value(0x0cc47a000001);
                },
                "outside its mask"},
        BadCase{"ClassArch",
                [](v1::BootPolicy& p) { p.mutable_dhcp()->add_classes()->add_client_archs(65536); },
                "client arch 65536 over 65535"},
        BadCase{"ClassEmptyVendor",
                [](v1::BootPolicy& p) { p.mutable_dhcp()->add_classes()->add_vendor_classes(""); },
                "vendor class is not 1 to 255 bytes"},
        BadCase{"ClassLongRemoteId",
                [](v1::BootPolicy& p) {
                  p.mutable_dhcp()->add_classes()->add_remote_ids(std::string(256, 'r'));
                },
                "remote id is not 1 to 255 bytes"},
        BadCase{"ClassProfileRef",
                [](v1::BootPolicy& p) {
                  v1::CompiledClass* c = p.mutable_dhcp()->add_classes();
                  c->add_client_archs(7);
                  c->set_profile(2);
                },
                "dhcp.classes[0]: profile 2 of 1"},
        BadCase{"ClassOptionServerOwned",
                [](v1::BootPolicy& p) {
                  v1::CompiledClass* c = p.mutable_dhcp()->add_classes();
                  c->add_user_classes("iPXE");
                  AddOption(*c->mutable_options(), 51, "x");
                },
                "dhcp.classes[0]: option 51 may not be configured"},
        BadCase{"OptionServerOwned",
                [](v1::BootPolicy& p) { AddOption(*Subnet(p).mutable_options(), 54, "x"); },
                "option 54 may not be configured"},
        BadCase{"OptionZero",
                [](v1::BootPolicy& p) { AddOption(*Subnet(p).mutable_options(), 0, "x"); },
                "option 0 may not be configured"},
        BadCase{"OptionPastEnd",
                [](v1::BootPolicy& p) { AddOption(*Subnet(p).mutable_options(), 256, "x"); },
                "option 256 may not be configured"},
        BadCase{"OptionsUnsorted",
                [](v1::BootPolicy& p) {
                  AddOption(*p.mutable_hosts(0)->mutable_options(), 119, "x");
                  AddOption(*p.mutable_hosts(0)->mutable_options(), 42, "x");
                },
                "hosts[0]: options unsorted or repeated"},
        BadCase{"OptionRepeated",
                [](v1::BootPolicy& p) {
                  AddOption(*Subnet(p).mutable_options(), 42, "x");
                  AddOption(*Subnet(p).mutable_options(), 42, "y");
                },
                "options unsorted or repeated"},
        BadCase{"OptionTooLong",
                [](v1::BootPolicy& p) {
                  AddOption(*Subnet(p).mutable_options(), 224, std::string(1021, 'x'));
                },
                "option 224 longer than 1020 bytes"},
        BadCase{"Climbs",
                [](v1::BootPolicy& p) { p.mutable_profiles(0)->set_bios("a/../../etc/passwd"); },
                "climbs out"},
        BadCase{"Blksize", [](v1::BootPolicy& p) { p.mutable_tftp()->set_max_blksize(7); },
                "blksize"},
        BadCase{"Window", [](v1::BootPolicy& p) { p.mutable_tftp()->set_max_windowsize(0); },
                "windowsize"},
        BadCase{"HttpPort", [](v1::BootPolicy& p) { p.set_http_port(70000); }, "not a port"},
        BadCase{"CatalogUnsorted",
                [](v1::BootPolicy& p) {
                  AddFile(p, "pxelinux.0");
                  AddFile(p, "boot/grub.cfg");
                },
                "tftp.files[1]: path 'boot/grub.cfg' unsorted or repeated"},
        BadCase{"CatalogRepeated",
                [](v1::BootPolicy& p) {
                  AddFile(p, "a");
                  AddFile(p, "a");
                },
                "tftp.files[1]: path 'a' unsorted or repeated"},
        BadCase{"CatalogRepeatedIgnoringCase",
                [](v1::BootPolicy& p) {
                  p.mutable_tftp()->set_case_insensitive(true);
                  AddFile(p, "Boot/BCD");
                  AddFile(p, "boot/bcd");
                },
                "tftp.files[1]: path repeated ignoring case"},
        BadCase{"CatalogLeadingSlash", [](v1::BootPolicy& p) { AddFile(p, "/pxelinux.0"); },
                "tftp.files[0]: path '/pxelinux.0' is not normalised"},
        BadCase{"CatalogBackslash", [](v1::BootPolicy& p) { AddFile(p, "boot\\bcd"); },
                "is not normalised"},
        BadCase{"CatalogDoubleSlash", [](v1::BootPolicy& p) { AddFile(p, "boot//bcd"); },
                "is not normalised"},
        BadCase{"CatalogClimbs", [](v1::BootPolicy& p) { AddFile(p, "../etc/passwd"); },
                "is not normalised"},
        BadCase{"CatalogEmptyPath", [](v1::BootPolicy& p) { AddFile(p, ""); },
                "is not normalised"},
        BadCase{"CatalogControlCharacter", [](v1::BootPolicy& p) { AddFile(p, "a\nb"); },
                "path 'a\\nb' is not normalised"},
        BadCase{"CatalogRelativeSource",
                [](v1::BootPolicy& p) { AddFile(p, "a", "srv/tftp/a"); },
                "tftp.files[0]: source 'srv/tftp/a' is not an absolute path"},
        BadCase{"CatalogEmptySource", [](v1::BootPolicy& p) { AddFile(p, "a", ""); },
                "generated file of 0 bytes"},
        BadCase{"GeneratedLengthMismatch",
                [](v1::BootPolicy& p) { AddFile(p, "a", "").set_content("menu"); },
                "offset or length does not match its content"},
        BadCase{"GeneratedWithSource",
                [](v1::BootPolicy& p) { AddFile(p, "a").set_content("menu"); },
                "has both a source and content"},
        BadCase{"GeneratedTooBig",
                [](v1::BootPolicy& p) {
                  AddFile(p, "a", "").set_content(std::string(kMaxGeneratedFileBytes + 1, 'x'));
                },
                "generated file of 1048577 bytes"},
        BadCase{"CatalogOverflow",
                [](v1::BootPolicy& p) {
                  AddFile(p, "a").set_offset(UINT64_MAX - 99);
                },
                "tftp.files[0]: offset + length overflows"},
        BadCase{"Rollover", [](v1::BootPolicy& p) { p.mutable_tftp()->set_rollover_to(2); },
                "tftp: rollover to 2, not 0 or 1"},
        BadCase{"ClassPrefix", [](v1::BootPolicy& p) { AddClass(p).set_prefix_length(33); },
                "tftp.client_classes[0]: prefix length over 32"},
        BadCase{"ClassHostBits", [](v1::BootPolicy& p) { AddClass(p).set_network(0xc6120701); },
                "tftp.client_classes[0]: network has host bits set"},
        BadCase{"ClassRollover", [](v1::BootPolicy& p) { AddClass(p).set_rollover_to(2); },
                "tftp.client_classes[0]: rollover to 2"},
        BadCase{"ClassBlksizeLow", [](v1::BootPolicy& p) { AddClass(p).set_max_blksize(7); },
                "tftp.client_classes[0]: max blksize 7 outside 8..65464"},
        BadCase{"ClassBlksizeHigh",
                [](v1::BootPolicy& p) { AddClass(p).set_max_blksize(65465); },
                "tftp.client_classes[0]: max blksize 65465"},
        BadCase{"ClassWindowZero", [](v1::BootPolicy& p) { AddClass(p).set_max_windowsize(0); },
                "tftp.client_classes[0]: max windowsize 0 outside 1..65535"},
        BadCase{"ClassWindowHigh",
                [](v1::BootPolicy& p) {
                  AddClass(p);
                  AddClass(p).set_max_windowsize(65536);
                },
                "tftp.client_classes[1]: max windowsize 65536"},
        BadCase{"ClientFileNotInCatalog",
                [](v1::BootPolicy& p) { AddClientFile(p, "grub/grub.cfg"); },
                "tftp.client_files[0]: path 'grub/grub.cfg' is not in tftp.files"},
        BadCase{"ClientFileKindUnknown",
                [](v1::BootPolicy& p) {
                  AddFile(p, "grub/grub.cfg");
                  AddClientFile(p, "grub/grub.cfg").set_kind(static_cast<v1::ClientFileKind>(9));
                },
                "tftp.client_files[0]: unknown kind 9"},
        BadCase{"ClientFileKindUnspecified",
                [](v1::BootPolicy& p) {
                  AddFile(p, "grub/grub.cfg");
                  AddClientFile(p, "grub/grub.cfg").clear_kind();
                },
                "tftp.client_files[0]: unknown kind 0"},
        BadCase{"ClientFileRepeated",
                [](v1::BootPolicy& p) {
                  AddFile(p, "grub/grub.cfg");
                  AddClientFile(p, "grub/grub.cfg");
                  AddClientFile(p, "grub/grub.cfg");
                },
                "tftp.client_files[1]: path repeated"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(TablesTest, AcceptsAWellFormedCatalogAtTheLimits) {
  v1::BootPolicy policy = Compiled();
  AddFile(policy, "a").set_offset(UINT64_MAX - 100);  // ends exactly at 2^64 - 1
  v1::CatalogFile& menu = AddFile(policy, "menu", "");
  menu.set_content(std::string(kMaxGeneratedFileBytes, '#'));
  menu.set_length(kMaxGeneratedFileBytes);
  AddFile(policy, std::string(255, 'z'));
  AddClass(policy).set_prefix_length(0);
  policy.mutable_tftp()->mutable_client_classes(0)->set_network(0);
  policy.mutable_tftp()->set_rollover_to(1);
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(policy);
  EXPECT_TRUE(tables.ok()) << tables.status();
}

v1::BootPolicy WithCatalog(bool case_insensitive) {
  v1::BootPolicy policy = Compiled();
  policy.mutable_tftp()->set_case_insensitive(case_insensitive);
  AddFile(policy, "Boot/BCD", "/srv/tftp/Boot/BCD");
  AddFile(policy, "boot/grub/grub.cfg", "/srv/tftp/boot/grub/grub.cfg");
  AddFile(policy, "pxelinux.0", "/srv/tftp/pxelinux.0");
  return policy;
}

TEST(TablesTest, FindsFilesByTheirExactPath) {
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(WithCatalog(false));
  ASSERT_TRUE(tables.ok()) << tables.status();
  const v1::CatalogFile* file = (*tables)->FindFile("boot/grub/grub.cfg");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->source(), "/srv/tftp/boot/grub/grub.cfg");
  ASSERT_NE((*tables)->FindFile("Boot/BCD"), nullptr);
  EXPECT_EQ((*tables)->FindFile("boot/bcd"), nullptr);
  EXPECT_EQ((*tables)->FindFile("PXELINUX.0"), nullptr);
  EXPECT_EQ((*tables)->FindFile("pxelinux"), nullptr);
  EXPECT_EQ((*tables)->FindFile(""), nullptr);
  // A view into a bigger buffer: only the view is looked up.
  std::string_view prefix = std::string_view("pxelinux.0.bak").substr(0, 10);
  ASSERT_NE((*tables)->FindFile(prefix), nullptr);
}

TEST(TablesTest, FindsFilesIgnoringCaseWhenThePolicySays) {
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(WithCatalog(true));
  ASSERT_TRUE(tables.ok()) << tables.status();
  for (const char* asked : {"Boot/BCD", "boot/bcd", "BOOT/bcd", "bOoT/BcD"}) {
    const v1::CatalogFile* file = (*tables)->FindFile(asked);
    ASSERT_NE(file, nullptr) << asked;
    EXPECT_EQ(file->path(), "Boot/BCD") << asked;  // as catalogued, not as asked
  }
  ASSERT_NE((*tables)->FindFile("PXELINUX.0"), nullptr);
  EXPECT_EQ((*tables)->FindFile("PXELINUX.0")->source(), "/srv/tftp/pxelinux.0");
  EXPECT_EQ((*tables)->FindFile("boot/bcd2"), nullptr);
  EXPECT_EQ((*tables)->FindFile(std::string(256, 'a')), nullptr);  // longer than any path
}

TEST(TablesTest, TftpClassIsTheFirstThatHoldsTheClient) {
  v1::BootPolicy policy = Compiled();
  AddClass(policy).set_max_blksize(512);  // 198.18.7.0/24
  v1::CompiledTftpClass& wide = AddClass(policy);
  wide.set_network(0xc6120000);  // 198.18.0.0/16
  wide.set_prefix_length(16);
  wide.set_max_blksize(1024);
  absl::StatusOr<std::unique_ptr<const PolicyTables>> tables = Build(policy);
  ASSERT_TRUE(tables.ok()) << tables.status();
  const v1::CompiledTftpClass* found = (*tables)->TftpClassOf(0xc6120763);  // 198.18.7.99
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->max_blksize(), 512u);
  found = (*tables)->TftpClassOf(0xc6120863);  // 198.18.8.99
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->max_blksize(), 1024u);
  EXPECT_EQ((*tables)->TftpClassOf(0xc6130001), nullptr);  // 198.19.0.1
  EXPECT_EQ((*Build(Compiled()))->TftpClassOf(0xc6120763), nullptr);
}

}  // namespace
}  // namespace stampede::policy

namespace stampede::policy {
namespace {

// The fuzz seeds are written by tests/fuzz/make_seeds.py, which lays regions
// out by hand: the good one must read and build, the spoiled ones be refused.
struct alignas(64) CacheLine {
  std::byte bytes[64];
};

absl::StatusOr<std::unique_ptr<const PolicyTables>> BuildSeed(const std::string& name) {
  std::string path = std::string(STAMPEDE_SOURCE_ROOT) + "/tests/fuzz/corpus/region/" + name;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A mapping is page-aligned; the region's atomics need at least 64 bytes.
  std::vector<CacheLine> lines((bytes.size() + 63) / 64);
  std::memcpy(lines.data(), bytes.data(), bytes.size());
  absl::StatusOr<ReadResult> read =
      ReadRegion({reinterpret_cast<const std::byte*>(lines.data()), bytes.size()}, 0);
  if (!read.ok()) return read.status();
  EXPECT_EQ(read->outcome, ReadOutcome::kNew);
  return BuildTables(read->payload, read->generation);
}

TEST(TablesSeedTest, FuzzSeedsMatchTheLayoutAndTheChecks) {
  absl::StatusOr<std::unique_ptr<const PolicyTables>> good = BuildSeed("seed_policy_good.bin");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->policy.hosts_size(), 2);
  EXPECT_EQ((*good)->host_by_mac.size(), 1u);
  for (const char* bad :
       {"seed_policy_overlap.bin", "seed_policy_bad_profile.bin", "seed_policy_climbs.bin"}) {
    EXPECT_FALSE(BuildSeed(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace stampede::policy
