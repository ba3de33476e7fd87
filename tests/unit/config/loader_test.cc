#include "control/config/loader.h"

#include <string>

#include "control/config/validate.h"
#include "gtest/gtest.h"

namespace stampede::config {
namespace {

constexpr char kValid[] = R"(dataplane:
  port: net_null0
  ipv4: [198.18.0.1/24]
dhcp:
  mode: proxy
  subnets:
    - subnet: 198.18.0.0/24
      pools:
        - {first: 198.18.0.10, last: 198.18.0.20}
hosts:
  - {mac: "02:00:00:00:00:01", ipv4: 198.18.0.5, profile: p}
profiles:
  - name: p
    boot_files: {bios: pxelinux.0, efi_x64: ipxe.efi}
    menu_default: true
tftp: {max_blksize: 1468}
)";

TEST(LoaderTest, MapsYamlOntoTheProto) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(kValid, "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const v1::Config& c = loaded->config;
  EXPECT_EQ(c.dataplane().port(), "net_null0");
  EXPECT_EQ(c.dataplane().ipv4(0), "198.18.0.1/24");
  EXPECT_EQ(c.dhcp().mode(), v1::Dhcp::PROXY);
  EXPECT_EQ(c.dhcp().subnets(0).pools(0).last(), "198.18.0.20");
  EXPECT_EQ(c.hosts(0).mac(), "02:00:00:00:00:01");
  EXPECT_EQ(c.profiles(0).boot_files().efi_x64(), "ipxe.efi");
  EXPECT_TRUE(c.profiles(0).menu_default());
  EXPECT_EQ(c.tftp().max_blksize(), 1468u);
  EXPECT_EQ(loaded->Where("dhcp.subnets[0].pools[0].last"), "c.yaml:9:38");
  EXPECT_TRUE(Validate(*loaded).empty());
}

// A DHCP option's data may be a YAML list: its items joined, Kea's way.
TEST(LoaderTest, TakesAnOptionsDataAsAListToo) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(
      "dhcp:\n  options:\n    - {name: ntp-servers, data: [198.18.0.2, 198.18.0.3]}\n"
      "    - {name: interface-mtu, data: 9000}\n",
      "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.dhcp().options(0).data(), "198.18.0.2, 198.18.0.3");
  EXPECT_EQ(loaded->config.dhcp().options(1).data(), "9000");
  absl::StatusOr<LoadedConfig> nested = ParseConfig(
      "dhcp: {options: [{name: ntp-servers, data: [[198.18.0.2]]}]}\n", "c.yaml", Format::kYaml);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(),
            "c.yaml:1:45: dhcp.options[0].data: expected a list of single values");
}

TEST(LoaderTest, ReadsJsonAndTextFormatToo) {
  absl::StatusOr<LoadedConfig> json = ParseConfig(
      R"({"dataplane": {"port": "net_null0", "ipv4": ["198.18.0.1/24"]}, "http": {"port": 8080}})",
      "c.json", Format::kJson);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->config.http().port(), 8080u);
  absl::StatusOr<LoadedConfig> text = ParseConfig(
      "dataplane { port: \"net_null0\" ipv4: \"198.18.0.1/24\" }\nhttp { port: 8080 }\n",
      "c.textproto", Format::kText);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->config.dataplane().port(), "net_null0");
  EXPECT_EQ(FormatOf("a/b.json"), Format::kJson);
  EXPECT_EQ(FormatOf("b.txtpb"), Format::kText);
  EXPECT_EQ(FormatOf("b.yml"), Format::kYaml);
}

TEST(LoaderTest, RefusesDeepNestingWithoutCrashing) {
  std::string deep = "dataplane: " + std::string(20000, '[') + std::string(20000, ']');
  EXPECT_FALSE(ParseConfig(deep, "c.yaml", Format::kYaml).ok());
  std::string text = "dataplane " + std::string(5000, '{') + std::string(5000, '}');
  EXPECT_FALSE(ParseConfig(text, "c.txtpb", Format::kText).ok());
  EXPECT_FALSE(ParseConfig(std::string(5 << 20, ' '), "c.yaml", Format::kYaml).ok());
}

struct BadSyntax {
  std::string name;
  std::string text;
  Format format;
  std::string error;  // the whole message must start with this
};

class BadSyntaxTest : public ::testing::TestWithParam<BadSyntax> {};

TEST_P(BadSyntaxTest, NamesFileLineColumnAndField) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(GetParam().text, "c", GetParam().format);
  ASSERT_FALSE(loaded.ok());
  std::string message(loaded.status().message());
  EXPECT_EQ(message.substr(0, GetParam().error.size()), GetParam().error) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadSyntaxTest,
    ::testing::Values(
        BadSyntax{"unknown_top", "dataplane: {}\nbogus: 1\n", Format::kYaml,
                  "c:2:1: bogus: unknown field 'bogus'"},
        BadSyntax{"unknown_nested", "dhcp:\n  subnets:\n    - {subnet: x, pool: []}\n",
                  Format::kYaml, "c:3:19: dhcp.subnets[0].pool: unknown field 'pool'"},
        BadSyntax{"not_a_number", "http:\n  port: eighty\n", Format::kYaml,
                  "c:2:9: http.port: 'eighty' is not a whole number"},
        BadSyntax{"negative", "http: {port: -1}\n", Format::kYaml,
                  "c:1:14: http.port: '-1' is not a whole number"},
        BadSyntax{"bad_enum", "dhcp:\n  mode: sometimes\n", Format::kYaml,
                  "c:2:9: dhcp.mode: 'sometimes' is not one of: authoritative, proxy"},
        BadSyntax{"unspecified_enum", "dhcp: {mode: mode_unspecified}\n", Format::kYaml,
                  "c:1:14: dhcp.mode: 'mode_unspecified' is not one of"},
        BadSyntax{"bad_bool", "profiles:\n  - {name: a, menu_default: maybe}\n", Format::kYaml,
                  "c:2:29: profiles[0].menu_default: 'maybe' is not true or false"},
        BadSyntax{"list_expected", "dataplane:\n  ipv4: 198.18.0.1/24\n", Format::kYaml,
                  "c:2:9: dataplane.ipv4: expected a list"},
        BadSyntax{"map_expected", "dataplane: [1, 2]\n", Format::kYaml,
                  "c:1:12: dataplane: expected a mapping of fields"},
        BadSyntax{"scalar_expected", "http: {port: [80]}\n", Format::kYaml,
                  "c:1:14: http.port: expected a single value"},
        BadSyntax{"duplicate_key", "http: {port: 80}\nhttp: {port: 81}\n", Format::kYaml,
                  "c:2:1: http: given twice"},
        BadSyntax{"top_not_map", "- a\n- b\n", Format::kYaml, "c:1:1: expected a mapping"},
        BadSyntax{"yaml_syntax", "dataplane:\n  port: [x\n", Format::kYaml, "c:3:1: "},
        BadSyntax{"json_unknown", "{\"dataplane\": {\"prot\": \"x\"}}", Format::kJson,
                  "c:1:16: dataplane.prot: unknown field 'prot'"},
        BadSyntax{"text_unknown", "dataplane {\n  prot: \"x\"\n}\n", Format::kText, "c:2:7: "}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stampede::config
