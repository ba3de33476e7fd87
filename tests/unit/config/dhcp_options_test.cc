#include "control/config/dhcp_options.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::config {
namespace {

v1::DhcpOption Option(std::string name, uint32_t code, std::string type, std::string data) {
  v1::DhcpOption option;
  option.set_name(std::move(name));
  option.set_code(code);
  option.set_type(std::move(type));
  option.set_data(std::move(data));
  return option;
}

struct Good {
  std::string test;
  v1::DhcpOption option;
  uint32_t code;
  std::string value;  // the bytes on the wire
};

class GoodOptionTest : public ::testing::TestWithParam<Good> {};

TEST_P(GoodOptionTest, Encodes) {
  std::string field;
  absl::StatusOr<v1::CompiledOption> encoded = EncodeOption(GetParam().option, field);
  ASSERT_TRUE(encoded.ok()) << field << ": " << encoded.status();
  EXPECT_EQ(encoded->code(), GetParam().code);
  EXPECT_EQ(encoded->value(), GetParam().value);
}

using std::string_literals::operator""s;

INSTANTIATE_TEST_SUITE_P(
    Table, GoodOptionTest,
    ::testing::Values(
        Good{"ntp_list", Option("ntp-servers", 0, "", " 198.18.0.2 ,198.18.0.3 "), 42,
             "\xc6\x12\x00\x02\xc6\x12\x00\x03"s},
        Good{"name_and_code_agree", Option("interface-mtu", 26, "", "9000"), 26, "\x23\x28"},
        Good{"known_code_alone", Option("", 26, "", "1500"), 26, "\x05\xdc"},
        Good{"known_code_own_type", Option("", 26, "uint32", "1500"), 26, "\x00\x00\x05\xdc"s},
        Good{"time_offset_negative", Option("time-offset", 0, "", "-3600"), 2, "\xff\xff\xf1\xf0"},
        Good{"domain_search", Option("domain-search", 0, "", "lab.example., example"), 119,
             "\x03lab\x07\x65xample\x00\x07\x65xample\x00"s},
        Good{"static_routes",
             Option("classless-static-route", 0, "",
                    "198.18.5.0/24 - 198.18.0.1, 0.0.0.0/0 - 198.18.0.254, "
                    "198.19.128.0/17 - 198.18.0.9"),
             121,
             "\x18\xc6\x12\x05\xc6\x12\x00\x01"
             "\x00\xc6\x12\x00\xfe"
             "\x11\xc6\x13\x80\xc6\x12\x00\x09"s},
        Good{"host_name", Option("host-name", 0, "", "rack1-node07.lab"), 12, "rack1-node07.lab"},
        Good{"string_keeps_commas", Option("", 224, "string", "a, b"), 224, "a, b"},
        Good{"binary", Option("", 224, "binary", "0x01:02 0a"), 224, "\x01\x02\x0a"},
        Good{"uint8_list", Option("", 225, "uint8", "1, 2, 255"), 225, "\x01\x02\xff"},
        Good{"boolean", Option("ip-forwarding", 0, "", "FALSE"), 19, "\x00"s},
        Good{"fqdn_by_type", Option("", 226, "fqdn", "a.b"), 226, "\x01\x61\x01\x62\x00"s}),
    [](const auto& info) { return info.param.test; });

struct Bad {
  std::string test;
  v1::DhcpOption option;
  std::string field;
  std::string problem;
};

class BadOptionTest : public ::testing::TestWithParam<Bad> {};

TEST_P(BadOptionTest, IsRefused) {
  std::string field;
  absl::StatusOr<v1::CompiledOption> encoded = EncodeOption(GetParam().option, field);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(field, GetParam().field);
  EXPECT_EQ(encoded.status().message(), GetParam().problem);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadOptionTest,
    ::testing::Values(
        Bad{"nothing", Option("", 0, "", "x"), "name", "needs a name or a code"},
        Bad{"code_disagrees", Option("ntp-servers", 4, "", "198.18.0.2"), "code",
            "ntp-servers is option 42, not 4"},
        Bad{"code_too_big", Option("", 255, "uint8", "1"), "code",
            "255 is not an option code 1..254"},
        Bad{"server_owned_by_code", Option("", 54, "ipv4", "198.18.0.1"), "code",
            "option 54 is set by stampede itself"},
        Bad{"dns_by_code", Option("", 6, "ipv4", "198.18.0.1"), "code",
            "option 6 is set by stampede itself: use the subnet's dns"},
        Bad{"known_with_type", Option("ntp-servers", 0, "string", "x"), "type",
            "ntp-servers has a type of its own; leave type out"},
        Bad{"bad_type", Option("", 224, "text", "x"), "type",
            "'text' is not one of: ipv4, uint8, uint16, uint32, int32, boolean, string, fqdn, "
            "binary"},
        Bad{"empty_data", Option("ntp-servers", 0, "", "  "), "data",
            "is required: the option's value"},
        Bad{"empty_item", Option("ntp-servers", 0, "", "198.18.0.2,,198.18.0.3"), "data",
            "has an empty item in its list"},
        Bad{"one_value", Option("interface-mtu", 0, "", "1500, 9000"), "data",
            "interface-mtu (26) takes one value"},
        Bad{"uint16_range", Option("", 224, "uint16", "65536"), "data",
            "'65536' is not a number 0..65535"},
        Bad{"int32_range", Option("time-offset", 0, "", "2147483648"), "data",
            "'2147483648' is not a number -2147483648..2147483647"},
        Bad{"boolean", Option("ip-forwarding", 0, "", "yes"), "data", "'yes' is not true or false"},
        Bad{"label_too_long", Option("domain-search", 0, "", std::string(64, 'a') + ".b"), "data",
            "'" + std::string(64, 'a') + ".b' is not a domain (label '" + std::string(64, 'a') +
                "')"},
        Bad{"empty_label", Option("domain-search", 0, "", "a..b"), "data",
            "'a..b' is not a domain (label '')"},
        Bad{"hyphen_label", Option("domain-search", 0, "", "-a.b"), "data",
            "'-a.b' is not a domain (label '-a')"},
        Bad{"host_name", Option("host-name", 0, "", "node_7"), "data",
            "'node_7' is not a host name (letters, digits, hyphens; labels of 1..63)"},
        Bad{"odd_hex", Option("", 224, "binary", "0x123"), "data",
            "'0x123' is not a whole number of hex bytes"},
        Bad{"not_hex", Option("", 224, "binary", "zz"), "data",
            "'zz' is not hex bytes like 01:02:0a or 01020a"},
        Bad{"route_shape", Option("classless-static-route", 0, "", "198.18.5.0/24 198.18.0.1"),
            "data", "'198.18.5.0/24 198.18.0.1' is not a route like 198.18.5.0/24 - 198.18.0.1"},
        Bad{"route_host_bits", Option("classless-static-route", 0, "", "198.18.5.1/24 - 1.2.3.4"),
            "data", "'198.18.5.1/24' has host bits set"},
        Bad{"too_long", Option("", 224, "string", std::string(1021, 'x')), "data",
            "encodes to 1021 bytes; at most 1020"}),
    [](const auto& info) { return info.param.test; });

TEST(DhcpOptionsTest, CarriesAlwaysSend) {
  v1::DhcpOption option = Option("ntp-servers", 0, "", "198.18.0.2");
  option.set_always_send(true);
  std::string field;
  absl::StatusOr<v1::CompiledOption> encoded = EncodeOption(option, field);
  ASSERT_TRUE(encoded.ok());
  EXPECT_TRUE(encoded->always_send());
}

TEST(DhcpOptionsTest, HostNames) {
  EXPECT_TRUE(IsHostName("n7"));
  EXPECT_TRUE(IsHostName("rack1-node07.lab.example"));
  EXPECT_FALSE(IsHostName(""));
  EXPECT_FALSE(IsHostName("node_7"));
  EXPECT_FALSE(IsHostName("a b"));
  EXPECT_FALSE(IsHostName("a."));
  EXPECT_FALSE(IsHostName(std::string(64, 'a')));
  std::string label(63, 'a');
  EXPECT_TRUE(IsHostName(label + "." + label + "." + label + "." + std::string(61, 'a')));
  EXPECT_FALSE(IsHostName(label + "." + label + "." + label + "." + label));  // 255
}

TEST(DhcpOptionsTest, Labels) {
  EXPECT_EQ(OptionLabel(42), "ntp-servers (42)");
  EXPECT_EQ(OptionLabel(224), "option 224");
}

}  // namespace
}  // namespace stampede::config
