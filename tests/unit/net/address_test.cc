#include "dataplane/net/address.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::net {
namespace {

TEST(MacAddressTest, RoundTrips) {
  for (std::string text : {"02:00:5e:10:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"}) {
    std::optional<MacAddress> mac = MacAddress::Parse(text);
    ASSERT_TRUE(mac) << text;
    EXPECT_EQ(mac->ToString(), text);
  }
  EXPECT_TRUE(MacAddress::Parse("ff:ff:ff:ff:ff:ff")->IsBroadcast());
  EXPECT_TRUE(MacAddress::Parse("01:00:5e:00:00:01")->IsMulticast());
  EXPECT_FALSE(MacAddress::Parse("02:00:5e:00:00:01")->IsMulticast());
}

TEST(MacAddressTest, RejectsMalformed) {
  for (std::string text : {"", "02:00:5e:10:00", "02:00:5e:10:00:01:02", "2:00:5e:10:00:01",
                           "02:00:5e:10:00:0g", "02-00-5e-10-00-01", "02:00:5e:10:00:001"}) {
    EXPECT_FALSE(MacAddress::Parse(text)) << text;
  }
}

TEST(Ipv4AddressTest, RoundTripsAndRejects) {
  for (std::string text : {"198.18.0.1", "0.0.0.0", "255.255.255.255"}) {
    std::optional<Ipv4Address> ip = Ipv4Address::Parse(text);
    ASSERT_TRUE(ip) << text;
    EXPECT_EQ(ip->ToString(), text);
  }
  for (std::string text : {"", "198.18.0", "198.18.0.1.2", "198.18.0.256", "198.18..1",
                           "198.18.0.-1", "198.18.0.1 ", "a.b.c.d", "1234.1.1.1"}) {
    EXPECT_FALSE(Ipv4Address::Parse(text)) << text;
  }
}

TEST(Ipv4InterfaceTest, ParsesPrefixAndContains) {
  std::optional<Ipv4Interface> interface = Ipv4Interface::Parse("198.18.0.1/24");
  ASSERT_TRUE(interface);
  EXPECT_EQ(interface->ToString(), "198.18.0.1/24");
  EXPECT_EQ(interface->Netmask(), 0xffffff00u);
  EXPECT_EQ(interface->SubnetBroadcast().ToString(), "198.18.0.255");
  EXPECT_TRUE(interface->Contains(*Ipv4Address::Parse("198.18.0.200")));
  EXPECT_FALSE(interface->Contains(*Ipv4Address::Parse("198.18.1.1")));
  EXPECT_EQ(Ipv4Interface::Parse("198.18.0.1/0")->Netmask(), 0u);
  for (std::string text : {"198.18.0.1", "198.18.0.1/33", "198.18.0.1/", "/24", "198.18.0.1/2/4"}) {
    EXPECT_FALSE(Ipv4Interface::Parse(text)) << text;
  }
}

// RFC 4291 appendix A: the universal/local bit flipped, ff:fe in the middle.
TEST(Ipv6AddressTest, LinkLocalFromMac) {
  EXPECT_EQ(Ipv6Address::LinkLocal(*MacAddress::Parse("02:00:5e:10:00:01")).ToString(),
            "fe80::5eff:fe10:1");
  EXPECT_EQ(Ipv6Address::LinkLocal(*MacAddress::Parse("52:54:00:12:34:56")).ToString(),
            "fe80::5054:ff:fe12:3456");
  EXPECT_TRUE(Ipv6Address::LinkLocal(MacAddress{}).IsLinkLocalUnicast());
  EXPECT_FALSE(Ipv6Address::LinkLocal(MacAddress{}).IsMulticast());
}

TEST(Ipv6AddressTest, AllNodesAndItsEthernetGroup) {
  Ipv6Address all_nodes = Ipv6Address::AllNodes();
  EXPECT_EQ(all_nodes.ToString(), "ff02::1");
  EXPECT_TRUE(all_nodes.IsMulticast());
  EXPECT_FALSE(all_nodes.IsLinkLocalUnicast());
  EXPECT_EQ(all_nodes.MulticastMac().ToString(), "33:33:00:00:00:01");
  EXPECT_TRUE(Ipv6Address{}.IsUnspecified());
  EXPECT_EQ(Ipv6Address{}.ToString(), "::");
}

}  // namespace
}  // namespace stampede::net
