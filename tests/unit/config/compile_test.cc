#include "control/config/compile.h"

#include <unistd.h>

#include <filesystem>

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
  - {name: r1, circuit_id: "rack1/port3"}
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
  EXPECT_EQ(policy.hosts(1).mac(), "");
  EXPECT_EQ(policy.hosts(1).circuit_id(), "rack1/port3");
  EXPECT_EQ(policy.profiles(1).menu_timeout_seconds(), 60u);
  EXPECT_EQ(policy.profiles(0).menu_title(), "burn");  // defaults to the name
  EXPECT_EQ(policy.dhcp().mode(), v1::CompiledDhcp::AUTHORITATIVE);
  EXPECT_EQ(policy.tftp().max_blksize(), kDefaultTftpBlksize);
  EXPECT_EQ(policy.http_port(), kDefaultHttpPort);
  EXPECT_EQ(policy.limits().max_tftp_sessions(), kDefaultMaxTftpSessions);
  EXPECT_EQ(policy.source(), "c.yaml");
}

TEST(CompileTest, RefusesAnInvalidConfigWithEveryProblem) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfig(
      "dataplane: {port: x, ipv4: [198.18.0.1/24]}\nhosts:\n  - {mac: \"02:00:00:00:00:01\", "
      "profile: a}\n  - {name: b}\n",
      "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok());
  absl::StatusOr<v1::BootPolicy> policy = Compile(*loaded);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(),
            "c.yaml:3:41: hosts[0].profile: no profile named 'a'\n"
            "c.yaml:4:5: hosts[1]: needs a mac, circuit_id or remote_id to be recognised");
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

}  // namespace
}  // namespace stampede::config
