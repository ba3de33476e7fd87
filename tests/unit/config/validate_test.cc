#include "control/config/validate.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace stampede::config {
namespace {

constexpr char kBase[] = "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n";

// A class, and a pool whose `classes` the case completes.
constexpr char kPoolClasses[] =
    "dhcp:\n  classes: [{name: burn-in, vendor_class: [burn]}]\n  subnets: [{subnet: "
    "198.18.0.0/24, pools: [{first: 198.18.0.10, last: 198.18.0.20, classes: ";

struct BadConfig {
  std::string name;
  std::string text;     // appended to kBase (so line numbers start at 2)
  std::string problem;  // one of the problems must equal this
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, IsRefusedWithLocation) {
  absl::StatusOr<LoadedConfig> loaded =
      ParseConfig(std::string(kBase) + GetParam().text, "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> problems = Validate(*loaded);
  std::string all;
  for (const std::string& p : problems) all += p + "\n";
  EXPECT_NE(std::find(problems.begin(), problems.end(), GetParam().problem), problems.end()) << all;
}

constexpr char kSubnet[] = "dhcp:\n  subnets:\n    - subnet: 198.18.0.0/24\n      pools:\n";
// Two good classes: a third, on line 6, is the one under test.
constexpr char kClasses[] =
    "tftp:\n  client_classes:\n    - {network: 198.18.6.0/24}\n    - {network: 10.0.0.0/8, "
    "rollover_to: 1, max_blksize: 8, max_windowsize: 65535}\n";

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadConfig{"reversed_pool",
                  std::string(kSubnet) + "        - {first: 198.18.0.50, last: 198.18.0.10}\n",
                  "c.yaml:6:11: dhcp.subnets[0].pools[0]: pool 198.18.0.50-198.18.0.10 is "
                  "reversed"},
        BadConfig{"pool_outside_subnet",
                  std::string(kSubnet) + "        - {first: 198.18.1.1, last: 198.18.1.9}\n",
                  "c.yaml:6:11: dhcp.subnets[0].pools[0]: pool 198.18.1.1-198.18.1.9 is not "
                  "inside 198.18.0.0/24"},
        BadConfig{"overlapping_pools",
                  std::string(kSubnet) + "        - {first: 198.18.0.10, last: 198.18.0.20}\n" +
                      "        - {first: 198.18.0.20, last: 198.18.0.30}\n",
                  "c.yaml:7:11: dhcp.subnets[0].pools[1]: pool overlaps "
                  "dhcp.subnets[0].pools[0]"},
        BadConfig{"bad_pool_address",
                  std::string(kSubnet) + "        - {first: 198.18.0.300, last: 198.18.0.20}\n",
                  "c.yaml:6:19: dhcp.subnets[0].pools[0].first: '198.18.0.300' is not an IPv4 "
                  "address"},
        BadConfig{"host_bits", "dhcp: {subnets: [{subnet: 198.18.0.1/24}]}\n",
                  "c.yaml:2:27: dhcp.subnets[0].subnet: '198.18.0.1/24' has host bits set"},
        BadConfig{"reservation_outside",
                  "dhcp: {subnets: [{subnet: 198.18.0.0/24}]}\nhosts:\n  - {mac: "
                  "\"02:00:00:00:00:01\", ipv4: 198.18.5.5}\n",
                  "c.yaml:4:38: hosts[0].ipv4: 198.18.5.5 is in no subnet"},
        BadConfig{"duplicate_mac",
                  "hosts:\n  - {mac: \"02:00:00:00:00:01\"}\n  - {mac: \"02:00:00:00:00:01\"}\n",
                  "c.yaml:4:11: hosts[1].mac: MAC 02:00:00:00:00:01 is also hosts[0]"},
        BadConfig{"duplicate_circuit_id",
                  "hosts:\n  - {circuit_id: r1/p3}\n  - {circuit_id: r1/p3}\n",
                  "c.yaml:4:18: hosts[1].circuit_id: circuit id 'r1/p3' is also hosts[0]"},
        BadConfig{"duplicate_client_id",
                  "hosts:\n  - {client_id: \"ff:00:01\"}\n  - {client_id: \"0xFF0001\"}\n",
                  "c.yaml:4:17: hosts[1].client_id: client id '0xFF0001' is also hosts[0]"},
        BadConfig{"client_id_not_hex", "hosts:\n  - {client_id: \"01:zz\"}\n",
                  "c.yaml:3:17: hosts[0].client_id: '01:zz' is not hex bytes like 01:02:0a or "
                  "01020a"},
        BadConfig{"client_id_too_short", "hosts:\n  - {client_id: \"01\"}\n",
                  "c.yaml:3:17: hosts[0].client_id: a client identifier is 2 to 255 bytes, "
                  "not 1"},
        BadConfig{"bad_mac", "hosts:\n  - {mac: \"02:00:00:00:01\"}\n",
                  "c.yaml:3:11: hosts[0].mac: '02:00:00:00:01' is not a MAC address"},
        BadConfig{"unrecognisable_host", "hosts:\n  - {name: x}\n",
                  "c.yaml:3:5: hosts[0]: needs a mac, client_id, circuit_id or remote_id to be "
                  "recognised"},
        BadConfig{"missing_profile", "hosts:\n  - {mac: \"02:00:00:00:00:01\", profile: nope}\n",
                  "c.yaml:3:41: hosts[0].profile: no profile named 'nope'"},
        BadConfig{"duplicate_profile", "profiles:\n  - {name: a}\n  - {name: a}\n",
                  "c.yaml:4:12: profiles[1].name: profile 'a' is defined twice"},
        BadConfig{"image_without_folder", "profiles:\n  - {name: a, image: nothing-here}\n",
                  "c.yaml:3:22: profiles[0].image: image 'nothing-here' needs images.folder to "
                  "be set"},
        BadConfig{"bad_duration", "dhcp: {lease_time: 12 hours}\n",
                  "c.yaml:2:20: dhcp.lease_time: '12 hours' is not a duration like 90s, 15m, "
                  "12h or 7d"},
        BadConfig{"bad_blksize", "tftp: {max_blksize: 70000}\n",
                  "c.yaml:2:21: tftp.max_blksize: must be 8..65464 (RFC 2348)"},
        BadConfig{"bad_router", "dhcp: {subnets: [{subnet: 198.18.0.0/24, router: gw}]}\n",
                  "c.yaml:2:50: dhcp.subnets[0].router: 'gw' is not an IPv4 address"},
        BadConfig{"bad_windowsize", "tftp: {max_windowsize: 70000}\n",
                  "c.yaml:2:24: tftp.max_windowsize: must be 1..65535 (RFC 7440)"},
        BadConfig{"bad_rollover", "tftp: {rollover_to: 2}\n",
                  "c.yaml:2:21: tftp.rollover_to: 2 is not 0 or 1"},
        BadConfig{"class_network", std::string(kClasses) + "    - {network: 198.18.7.1/33}\n",
                  "c.yaml:6:17: tftp.client_classes[2].network: '198.18.7.1/33' is not a "
                  "network like 198.18.7.0/24"},
        BadConfig{"class_network_missing", std::string(kClasses) + "    - {max_blksize: 512}\n",
                  "c.yaml:6:7: tftp.client_classes[2].network: '' is not a network like "
                  "198.18.7.0/24"},
        BadConfig{"class_host_bits", std::string(kClasses) + "    - {network: 198.18.7.1/24}\n",
                  "c.yaml:6:17: tftp.client_classes[2].network: '198.18.7.1/24' has host bits "
                  "set"},
        BadConfig{"class_rollover",
                  std::string(kClasses) + "    - {network: 198.18.7.0/24, rollover_to: 3}\n",
                  "c.yaml:6:45: tftp.client_classes[2].rollover_to: 3 is not 0 or 1"},
        BadConfig{"class_blksize",
                  std::string(kClasses) + "    - {network: 198.18.7.0/24, max_blksize: 7}\n",
                  "c.yaml:6:45: tftp.client_classes[2].max_blksize: must be 8..65464 (RFC "
                  "2348)"},
        BadConfig{"class_windowsize",
                  std::string(kClasses) + "    - {network: 198.18.7.0/24, max_windowsize: 65536}\n",
                  "c.yaml:6:48: tftp.client_classes[2].max_windowsize: must be 1..65535 (RFC "
                  "7440)"},
        BadConfig{"option_bad_address",
                  "dhcp:\n  options:\n    - {name: ntp-servers, data: \"198.18.0.2, ntp\"}\n",
                  "c.yaml:4:33: dhcp.options[0].data: 'ntp' is not an IPv4 address"},
        BadConfig{"option_unknown_name", "dhcp:\n  options:\n    - {name: ntp, data: x}\n",
                  "c.yaml:4:14: dhcp.options[0].name: no option is named 'ntp' here; give its "
                  "code and type instead"},
        BadConfig{"option_server_owned",
                  "dhcp: {subnets: [{subnet: 198.18.0.0/24, options: [{code: 3, type: ipv4, "
                  "data: 198.18.0.1}]}]}\n",
                  "c.yaml:2:59: dhcp.subnets[0].options[0].code: option 3 is set by stampede "
                  "itself: use the subnet's router"},
        BadConfig{"option_needs_type",
                  "hosts:\n  - {mac: \"02:00:00:00:00:01\", options: [{code: 224, data: x}]}\n",
                  "c.yaml:3:42: hosts[0].options[0].type: option 224 needs a type: ipv4, "
                  "uint8, uint16, uint32, int32, boolean, string, fqdn, binary"},
        BadConfig{"option_twice",
                  "dhcp:\n  options:\n    - {name: interface-mtu, data: 9000}\n    - {code: "
                  "26, data: 1500}\n",
                  "c.yaml:5:7: dhcp.options[1]: interface-mtu (26) is also dhcp.options[0]"},
        BadConfig{"option_small_mtu", "dhcp:\n  options:\n    - {name: interface-mtu, data: 60}\n",
                  "c.yaml:4:35: dhcp.options[0].data: an MTU is at least 68 (RFC 2132 \u00a75.1)"},
        BadConfig{"class_mac", "dhcp:\n  classes:\n    - {name: a, mac: [\"0c:c4:zz:*\"]}\n",
                  "c.yaml:4:23: dhcp.classes[0].mac[0]: '0c:c4:zz:*' is not a MAC pattern like "
                  "0c:c4:7a:*:*:*"},
        BadConfig{"class_mac_short", "dhcp:\n  classes:\n    - {name: a, mac: [\"0c:c4:7a\"]}\n",
                  "c.yaml:4:23: dhcp.classes[0].mac[0]: '0c:c4:7a' is not a MAC pattern like "
                  "0c:c4:7a:*:*:*"},
        BadConfig{"class_arch", "dhcp:\n  classes:\n    - {name: a, arch: [efi_x64, arm]}\n",
                  "c.yaml:4:33: dhcp.classes[0].arch[1]: 'arm' is not bios, efi_ia32, efi_x64, "
                  "efi_arm64, efi_x64_http, efi_arm64_http or a number 0..65535"},
        BadConfig{"class_no_matcher", "dhcp:\n  classes:\n    - {name: a, profile: p}\n",
                  "c.yaml:4:7: dhcp.classes[0]: needs a mac, vendor_class, user_class, arch, "
                  "circuit_id or remote_id to match"},
        BadConfig{"class_no_profile",
                  "dhcp:\n  classes:\n    - {name: a, arch: [bios], profile: nope}\n",
                  "c.yaml:4:40: dhcp.classes[0].profile: no profile named 'nope'"},
        BadConfig{"class_empty_vendor",
                  "dhcp:\n  classes:\n    - {name: a, vendor_class: [\"\"]}\n",
                  "c.yaml:4:32: dhcp.classes[0].vendor_class[0]: must be 1 to 255 bytes"},
        BadConfig{"class_no_name", "dhcp:\n  classes:\n    - {arch: [bios]}\n",
                  "c.yaml:4:7: dhcp.classes[0].name: is required"},
        BadConfig{
            "class_twice",
            "dhcp:\n  classes:\n    - {name: a, arch: [bios]}\n    - {name: a, arch: [efi_x64]}\n",
            "c.yaml:5:14: dhcp.classes[1].name: class 'a' is also dhcp.classes[0]"},
        BadConfig{"class_option",
                  "dhcp:\n  classes:\n    - {name: a, arch: [bios], options: [{name: ntp-servers, "
                  "data: ntp}]}\n",
                  "c.yaml:4:67: dhcp.classes[0].options[0].data: 'ntp' is not an IPv4 address"},
        BadConfig{"pool_class_unknown", std::string(kPoolClasses) + "[burn-in, lab]}]}]\n",
                  "c.yaml:4:104: dhcp.subnets[0].pools[0].classes[1]: no class named 'lab' in "
                  "dhcp.classes, nor the built-in 'known'"},
        BadConfig{"class_lease_zero",
                  "dhcp:\n  classes:\n    - {name: a, arch: [bios], lease_time: 0s}\n",
                  "c.yaml:4:43: dhcp.classes[0].lease_time: must be longer than 0 (left out: the "
                  "subnet's)"},
        BadConfig{"class_lease_bad",
                  "dhcp:\n  classes:\n    - {name: a, arch: [bios], lease_time: soon}\n",
                  "c.yaml:4:43: dhcp.classes[0].lease_time: 'soon' is not a duration like 90s, "
                  "15m, 12h or 7d"},
        BadConfig{"host_lease_zero", "hosts:\n  - {mac: \"02:00:00:00:00:01\", lease_time: 0m}\n",
                  "c.yaml:3:44: hosts[0].lease_time: must be longer than 0 (left out: the "
                  "subnet's)"},
        BadConfig{"class_named_known", "dhcp:\n  classes:\n    - {name: known, arch: [bios]}\n",
                  "c.yaml:4:14: dhcp.classes[0].name: 'known' is built in (host entries and "
                  "classes with known: true); use another name"},
        BadConfig{"pool_known_twice", std::string(kPoolClasses) + "[known, \"!known\"]}]}]\n",
                  "c.yaml:4:102: dhcp.subnets[0].pools[0].classes[1]: class 'known' is named "
                  "twice, wanted and kept out"},
        BadConfig{"pool_class_empty", std::string(kPoolClasses) + "[\"!\"]}]}]\n",
                  "c.yaml:4:95: dhcp.subnets[0].pools[0].classes[0]: is empty; a class name, or "
                  "! and one"},
        BadConfig{"pool_class_twice", std::string(kPoolClasses) + "[burn-in, \"!burn-in\"]}]}]\n",
                  "c.yaml:4:104: dhcp.subnets[0].pools[0].classes[1]: class 'burn-in' is named "
                  "twice, wanted and kept out"},
        BadConfig{"option_no_data", "dhcp:\n  options:\n    - {name: domain-search}\n",
                  "c.yaml:4:7: dhcp.options[0].data: is required: the option's value"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidateTest, BoundsClientClasses) {
  std::string text = std::string(kBase) + "dhcp:\n  classes:\n";
  for (int i = 0; i <= 64; ++i) text += "    - {name: c" + std::to_string(i) + ", arch: [bios]}\n";
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(text, "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> problems = Validate(*loaded);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "c.yaml:4:5: dhcp.classes: 65 classes; at most 64");
}

TEST(MacPatternTest, Table) {
  struct Case {
    std::string_view text;
    uint64_t value, mask;
  };
  for (const Case& c : {Case{"0c:c4:7a:*:*:*", 0x0cc47a000000, 0xffffff000000},
                        Case{"0C-C4-7A-*", 0x0cc47a000000, 0xffffff000000},
                        Case{"*:*:*:*:*:07", 0x000000000007, 0x0000000000ff},
                        Case{"02:*:00:10:00:1", 0x020000100001, 0xff00ffffffff}, Case{"*", 0, 0},
                        Case{"02:00:5e:10:00:07", 0x02005e100007, 0xffffffffffff}}) {
    std::optional<MacPattern> pattern = ParseMacPattern(c.text);
    ASSERT_TRUE(pattern) << c.text;
    EXPECT_EQ(pattern->value, c.value) << c.text;
    EXPECT_EQ(pattern->mask, c.mask) << c.text;
  }
  for (std::string_view bad : {"", "0c:c4:7a", "0c:c4:7a:", "0c:*:7a", "0c:c4:7a:*:*:*:*",
                               "01:02:03:04:05:06:", "01:02:03:04:05:06:07", "0c:c4:7g:*",
                               "0c:c4:100:*", "0c::7a:*", "**"}) {
    EXPECT_FALSE(ParseMacPattern(bad)) << bad;
  }
}

TEST(ClientArchTest, NamesAndNumbers) {
  EXPECT_EQ(ParseClientArch("bios"), std::vector<uint32_t>{0});
  EXPECT_EQ(ParseClientArch("efi_x64"), (std::vector<uint32_t>{7, 9}));
  EXPECT_EQ(ParseClientArch("efi_arm64_http"), std::vector<uint32_t>{19});
  EXPECT_EQ(ParseClientArch("65535"), std::vector<uint32_t>{65535});
  for (std::string_view bad : {"", "65536", "efi-x64", "x86", "-1", "123456"}) {
    EXPECT_FALSE(ParseClientArch(bad)) << bad;
  }
}

TEST(ValidateTest, RequiresPortAndAddress) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig("http: {port: 80}\n", "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok());
  std::vector<std::string> problems = Validate(*loaded);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "c.yaml: dataplane.port: is required (a PCI address or vdev spec)");
}

TEST(ValidateTest, BoundsIdleSleep) {
  for (auto [value, problems] : {std::pair{1000, 0u}, std::pair{1001, 1u}}) {
    absl::StatusOr<LoadedConfig> loaded =
        ParseConfig("dataplane: {port: net_null0, ipv4: [198.18.0.1/24], idle_sleep_us: " +
                        std::to_string(value) + "}\n",
                    "c.yaml", Format::kYaml);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    std::vector<std::string> found = Validate(*loaded);
    ASSERT_EQ(found.size(), problems) << value;
    if (problems != 0) {
      EXPECT_NE(found[0].find("dataplane.idle_sleep_us: must be at most 1000"), std::string::npos)
          << found[0];
    }
  }
}

TEST(ValidateTest, FindsAnImageThatExists) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "stampede_validate_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "debian.iso") << "x";
  std::string text = std::string(kBase) + "images: {folder: " + dir.string() +
                     "}\nprofiles:\n  - {name: a, image: debian}\n";
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(text, "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(Validate(*loaded).empty());
  std::filesystem::remove_all(dir);
}

TEST(ValidateTest, AcceptsTftpSettingsAtTheirLimits) {
  absl::StatusOr<LoadedConfig> loaded =
      ParseConfig(std::string(kBase) + kClasses +
                      "    - {network: 0.0.0.0/0, max_blksize: 65464}\n  rollover_to: 1\n"
                      "  case_insensitive: true\n  max_blksize: 65464\n  max_windowsize: 65535\n",
                  "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> problems = Validate(*loaded);
  EXPECT_TRUE(problems.empty()) << problems[0];
}

TEST(DurationTest, Table) {
  EXPECT_EQ(ParseDurationSeconds("90s"), 90u);
  EXPECT_EQ(ParseDurationSeconds("15m"), 900u);
  EXPECT_EQ(ParseDurationSeconds("12h"), 43200u);
  EXPECT_EQ(ParseDurationSeconds("7d"), 604800u);
  EXPECT_EQ(ParseDurationSeconds("1h30m"), 5400u);
  for (const char* bad : {"", "h", "12", "12x", "1.5h", "-1s", "12 h", "9999999999s"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad)) << bad;
  }
}

}  // namespace
}  // namespace stampede::config
