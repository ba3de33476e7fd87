// stampede boots' memory: machines from lease, TFTP and HTTP events.
#include "control/daemon/boot_log.h"

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace stampede::control {
namespace {

constexpr uint32_t kLeased = 0xc6120064;  // 198.18.0.100
constexpr uint32_t kOther = 0xc6120002;   // 198.18.0.2

std::string MacId(uint8_t last) { return std::string("\x01\x02\x00\x5e\x00\x00", 6) + char(last); }

v1::Event Lease(uint64_t t, v1::Lease::Change change, uint32_t address, const std::string& id) {
  v1::Event e;
  e.set_time_ns(t);
  e.mutable_lease()->set_change(change);
  e.mutable_lease()->set_address(address);
  e.mutable_lease()->set_client_id(id);
  return e;
}

v1::Event Tftp(uint64_t t, uint32_t address, const std::string& file,
               v1::TftpTransfer::Outcome outcome, uint64_t bytes, uint32_t code = 0) {
  v1::Event e;
  e.set_time_ns(t);
  v1::TftpTransfer* x = e.mutable_tftp_transfer();
  x->set_client_address(address);
  x->set_file(file);
  x->set_outcome(outcome);
  x->set_bytes(bytes);
  x->set_size(bytes);
  x->set_error_code(code);
  if (outcome == v1::TftpTransfer::REFUSED) x->set_detail("file not found");
  return e;
}

v1::Event Http(uint64_t t, uint32_t address, const std::string& path, uint32_t status,
               v1::HttpTransfer::Outcome outcome, uint64_t bytes) {
  v1::Event e;
  e.set_time_ns(t);
  v1::HttpTransfer* x = e.mutable_http_transfer();
  x->set_client_address(address);
  x->set_path(path);
  x->set_status(status);
  x->set_outcome(outcome);
  x->set_bytes(bytes);
  return e;
}

TEST(BootLogTest, AMachinesStepsFollowItsLease) {
  BootLog log;
  log.Add(Lease(100, v1::Lease::GRANTED, kLeased, MacId(7)));
  log.Add(Tftp(200, kLeased, "pxelinux.0", v1::TftpTransfer::COMPLETED, 42'000));
  log.Add(Tftp(300, kLeased, "pxelinux.cfg/default", v1::TftpTransfer::REFUSED, 0, 1));
  log.Add(Http(400, kLeased, "/boot/vmlinuz", 200, v1::HttpTransfer::COMPLETED, 9'000'000));
  log.Add(Http(500, kLeased, "/boot/gone", 404, v1::HttpTransfer::COMPLETED, 14));
  log.Add(Http(600, kLeased, "/boot/initrd", 200, v1::HttpTransfer::ABORTED, 1'000));
  log.Add(Tftp(700, kLeased, "x", v1::TftpTransfer::TIMED_OUT, 512));
  ASSERT_EQ(log.size(), 1u);
  const BootMachine* m = log.Find("02:00:5E:00:00:07");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m, log.Find("198.18.0.100"));
  EXPECT_EQ(m->client, "02:00:5e:00:00:07");
  EXPECT_EQ(m->address, kLeased);
  EXPECT_EQ(m->first_ns, 100u);
  EXPECT_EQ(m->last_ns, 700u);
  EXPECT_EQ(m->leases, 1u);
  EXPECT_EQ(m->files, 2u);
  EXPECT_EQ(m->not_found, 2u);
  EXPECT_EQ(m->failed, 2u);
  EXPECT_EQ(m->bytes, 42'000u + 9'000'000u + 14u + 1'000u + 512u);
  ASSERT_EQ(m->steps.size(), 7u);
  EXPECT_EQ(m->steps[0].kind, BootStep::Kind::kLease);
  EXPECT_EQ(m->steps[0].outcome, "granted");
  EXPECT_EQ(m->steps[0].what, "198.18.0.100");
  EXPECT_EQ(m->steps[2].outcome, "refused");
  EXPECT_EQ(m->steps[2].status, 1u);
  EXPECT_EQ(m->steps[2].detail, "file not found");
  EXPECT_EQ(m->steps[5].outcome, "aborted");
  EXPECT_EQ(m->steps[6].outcome, "timeout");
}

TEST(BootLogTest, WithoutALeaseAMachineIsKnownByItsAddress) {
  BootLog log;
  log.Add(Tftp(100, kOther, "ipxe.efi", v1::TftpTransfer::COMPLETED, 1'000));
  const BootMachine* m = log.Find("198.18.0.2");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->client, "");
  EXPECT_EQ(m->files, 1u);
  EXPECT_EQ(log.Find("198.18.0.3"), nullptr);
  EXPECT_EQ(log.Find("02:00:5e:00:00:07"), nullptr);
  EXPECT_EQ(log.Find("not an address"), nullptr);
  // A lease of that address afterwards names a new machine; the address's
  // next steps are the client's.
  log.Add(Lease(200, v1::Lease::GRANTED, kOther, MacId(9)));
  log.Add(Tftp(300, kOther, "ipxe.efi", v1::TftpTransfer::COMPLETED, 1'000));
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(log.Find("198.18.0.2")->client, "02:00:5e:00:00:09");
  EXPECT_EQ(log.Find("02:00:5e:00:00:09")->files, 1u);
}

// After a restart, control learns the bound leases from the journal: the
// transfers of their addresses are their clients'.
TEST(BootLogTest, RememberedLeasesNameTheirAddresses) {
  BootLog log;
  log.Remember(kLeased, "02:00:5e:00:00:07");
  log.Remember(kOther, "");
  EXPECT_EQ(log.size(), 0u);
  log.Add(Tftp(100, kLeased, "a", v1::TftpTransfer::COMPLETED, 1));
  log.Add(Tftp(200, kOther, "b", v1::TftpTransfer::COMPLETED, 1));
  EXPECT_EQ(log.Find("198.18.0.100")->client, "02:00:5e:00:00:07");
  EXPECT_EQ(log.Find("02:00:5e:00:00:07")->leases, 0u);
  EXPECT_EQ(log.Find("198.18.0.2")->client, "");
}

TEST(BootLogTest, AnAddressBelongsToItsLatestLease) {
  BootLog log;
  log.Add(Lease(100, v1::Lease::GRANTED, kLeased, MacId(1)));
  log.Add(Lease(200, v1::Lease::RELEASED, kLeased, MacId(1)));
  log.Add(Tftp(300, kLeased, "a", v1::TftpTransfer::COMPLETED, 1));
  // Released: the transfer is the address's, not the old client's.
  EXPECT_EQ(log.Find("02:00:5e:00:00:01")->files, 0u);
  EXPECT_EQ(log.Find("198.18.0.100")->client, "");
  log.Add(Lease(400, v1::Lease::GRANTED, kLeased, MacId(2)));
  // A RELEASE of another client's old lease leaves the new one alone.
  log.Add(Lease(500, v1::Lease::RELEASED, kLeased, MacId(1)));
  log.Add(Tftp(600, kLeased, "b", v1::TftpTransfer::COMPLETED, 1));
  EXPECT_EQ(log.Find("02:00:5e:00:00:02")->files, 1u);
  EXPECT_EQ(log.Find("198.18.0.100")->client, "02:00:5e:00:00:02");
  // A client id that is not a MAC is kept as hex; an empty one is ignored.
  log.Add(Lease(700, v1::Lease::GRANTED, 0xc6120065, std::string("\xff\x01\x02", 3)));
  EXPECT_NE(log.Find("ff0102"), nullptr);
  EXPECT_NE(log.Find("FF0102"), nullptr);
  size_t before = log.size();
  log.Add(Lease(800, v1::Lease::GRANTED, 0xc6120066, ""));
  v1::Event other;
  other.mutable_policy_applied()->set_generation(3);
  log.Add(other);
  EXPECT_EQ(log.size(), before);
}

TEST(BootLogTest, StepsAndMachinesAreBounded) {
  BootLog log(/*max_machines=*/32, /*max_steps=*/3);
  for (uint64_t i = 0; i < 5; ++i) {
    log.Add(Tftp(i, kOther, "f" + std::to_string(i), v1::TftpTransfer::COMPLETED, 10));
  }
  const BootMachine* m = log.Find("198.18.0.2");
  EXPECT_EQ(m->steps.size(), 3u);
  EXPECT_EQ(m->steps_dropped, 2u);
  EXPECT_EQ(m->steps.front().what, "f2");
  EXPECT_EQ(m->files, 5u);  // the counts keep every step
  for (uint32_t i = 0; i < 100; ++i) {
    log.Add(Lease(1000 + i, v1::Lease::GRANTED, 0xc6130000 + i, MacId(static_cast<uint8_t>(i))));
  }
  EXPECT_LE(log.size(), 32u);
  EXPECT_EQ(log.evicted(), 101u - log.size());
  // The most recent stay; listed most recent first.
  std::vector<const BootMachine*> machines = log.Machines();
  ASSERT_EQ(machines.size(), log.size());
  EXPECT_EQ(machines.front()->client, "02:00:5e:00:00:63");
  for (size_t i = 1; i < machines.size(); ++i) {
    EXPECT_GE(machines[i - 1]->last_ns, machines[i]->last_ns);
  }
  EXPECT_EQ(log.Find("198.18.0.2"), nullptr);
  // An evicted lease's address no longer points at it.
  EXPECT_EQ(log.Find("198.19.0.0"), nullptr);
}

// iPXE's sanboot reads an ISO by thousands of ranges: one step for them.
TEST(BootLogTest, RangesOfOnePathInARowAreOneStep) {
  BootLog log(/*max_machines=*/8, /*max_steps=*/4);
  for (uint64_t i = 0; i < 1000; ++i) {
    log.Add(Http(i, kOther, "/images/live.iso", 206, v1::HttpTransfer::COMPLETED, 4096));
  }
  log.Add(Http(1000, kOther, "/images/other.iso", 206, v1::HttpTransfer::COMPLETED, 4096));
  log.Add(Http(1001, kOther, "/images/other.iso", 206, v1::HttpTransfer::ABORTED, 100));
  log.Add(Http(1002, kOther, "/images/other.iso", 206, v1::HttpTransfer::COMPLETED, 4096));
  const BootMachine* m = log.Find("198.18.0.2");
  ASSERT_EQ(m->steps.size(), 4u);
  EXPECT_EQ(m->steps_dropped, 0u);
  EXPECT_EQ(m->steps[0].count, 1000u);
  EXPECT_EQ(m->steps[0].bytes, 4'096'000u);
  EXPECT_EQ(m->steps[0].time_ns, 999u);
  EXPECT_EQ(m->steps[1].count, 1u);  // another path
  EXPECT_EQ(m->steps[2].outcome, "aborted");
  EXPECT_EQ(m->steps[3].count, 1u);  // after an aborted one
  EXPECT_EQ(m->files, 1002u);        // the counts keep every response
  EXPECT_EQ(m->failed, 1u);
}

// Control reads the rings one after another: a step read late goes where
// its time puts it.
TEST(BootLogTest, StepsAreInTimeOrder) {
  BootLog log;
  log.Add(Lease(100, v1::Lease::GRANTED, kLeased, MacId(7)));
  log.Add(Http(300, kLeased, "/boot.ipxe", 200, v1::HttpTransfer::COMPLETED, 10));
  log.Add(Tftp(200, kLeased, "undionly.kpxe", v1::TftpTransfer::COMPLETED, 70'000));
  log.Add(Http(400, kLeased, "/x.iso", 206, v1::HttpTransfer::COMPLETED, 4096));
  log.Add(Http(500, kLeased, "/x.iso", 206, v1::HttpTransfer::COMPLETED, 4096));
  log.Add(Tftp(450, kLeased, "late", v1::TftpTransfer::COMPLETED, 1));
  const BootMachine* m = log.Find("198.18.0.100");
  std::vector<std::string> order;
  for (const BootStep& s : m->steps) order.push_back(s.what);
  // The two ranges are one step, at the time of its last: after "late".
  EXPECT_EQ(order, (std::vector<std::string>{"198.18.0.100", "undionly.kpxe", "/boot.ipxe", "late",
                                             "/x.iso"}));
  EXPECT_EQ(m->steps.back().count, 2u);
  EXPECT_EQ(m->last_ns, 500u);
}

// A granted lease says what the machine is and was given to boot.
TEST(BootLogTest, LeasesNameTheArchitectureAndProfile) {
  BootLog log;
  log.SetProfiles({"install", "burn-in"});
  v1::Event lease = Lease(100, v1::Lease::GRANTED, kLeased, MacId(7));
  lease.mutable_lease()->set_boot_profile(2);
  lease.mutable_lease()->set_client_arch(7);
  log.Add(lease);
  const BootMachine* m = log.Find("198.18.0.100");
  EXPECT_EQ(m->arch, "efi-x64");
  EXPECT_EQ(m->profile, "burn-in");
  EXPECT_EQ(m->steps.back().detail, "efi-x64, profile burn-in");
  // A later lease without option 93 or boot options (the DHCP client of the
  // kernel it booted) changes neither; a profile index past the list (a
  // policy control has not seen) is named by its number.
  log.Add(Lease(200, v1::Lease::GRANTED, kLeased, MacId(7)));
  EXPECT_EQ(m->arch, "efi-x64");
  EXPECT_EQ(m->profile, "burn-in");
  EXPECT_EQ(m->steps.back().detail, "no option 93, no boot profile");
  lease.mutable_lease()->set_boot_profile(9);
  lease.mutable_lease()->set_client_arch(0);
  log.Add(lease);
  EXPECT_EQ(m->arch, "bios");
  EXPECT_EQ(m->profile, "profile-9");
  EXPECT_EQ(ClientArchName(19), "efi-arm64-http");
  EXPECT_EQ(ClientArchName(4242), "arch-4242");
}

v1::Event Proxy(uint64_t t, v1::ProxyBoot::Step step, uint32_t address, const std::string& id) {
  v1::Event e;
  e.set_time_ns(t);
  e.mutable_proxy_boot()->set_step(step);
  e.mutable_proxy_boot()->set_address(address);
  e.mutable_proxy_boot()->set_client_id(id);
  return e;
}

// proxyDHCP grants no lease: the offer names the machine, its firmware and
// profile; the address it asks the site's server for (or names on 4011)
// makes that address's transfers its own.
TEST(BootLogTest, ProxyStepsNameAMachineWithoutALease) {
  BootLog log;
  log.SetProfiles({"install"});
  v1::Event offer = Proxy(100, v1::ProxyBoot::OFFERED, 0, MacId(7));
  offer.mutable_proxy_boot()->set_boot_profile(1);
  offer.mutable_proxy_boot()->set_client_arch(0);
  log.Add(offer);
  const BootMachine* m = log.Find("02:00:5e:00:00:07");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->address, 0u);
  EXPECT_EQ(m->arch, "bios");
  EXPECT_EQ(m->profile, "install");
  EXPECT_EQ(m->proxy, 1u);
  EXPECT_EQ(m->leases, 0u);
  log.Add(Proxy(200, v1::ProxyBoot::REQUESTED, kOther, MacId(7)));
  log.Add(Tftp(300, kOther, "pxelinux.0", v1::TftpTransfer::COMPLETED, 42'000));
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(log.Find("198.18.0.2"), m);
  EXPECT_EQ(m->address, kOther);
  EXPECT_EQ(m->files, 1u);
  EXPECT_EQ(m->bytes, 42'000u);
  ASSERT_EQ(m->steps.size(), 3u);
  EXPECT_EQ(m->steps[0].kind, BootStep::Kind::kProxy);
  EXPECT_EQ(m->steps[0].outcome, "offered");
  EXPECT_EQ(m->steps[0].what, "");
  EXPECT_EQ(m->steps[0].detail, "bios, profile install");
  EXPECT_EQ(m->steps[1].outcome, "requested");
  EXPECT_EQ(m->steps[1].what, "198.18.0.2");
  EXPECT_FALSE(m->steps[1].ok());
  // Another client answered on 4011 from that address takes it over (a
  // new machine: `m` may move).
  log.Add(Proxy(400, v1::ProxyBoot::ACKED, kOther, MacId(9)));
  log.Add(Tftp(500, kOther, "pxelinux.0", v1::TftpTransfer::COMPLETED, 42'000));
  EXPECT_EQ(log.Find("198.18.0.2")->client, "02:00:5e:00:00:09");
  EXPECT_EQ(log.Find("02:00:5e:00:00:09")->proxy, 1u);
  EXPECT_EQ(log.Find("02:00:5e:00:00:09")->steps[0].outcome, "acked");
  EXPECT_EQ(log.Find("02:00:5e:00:00:07")->files, 1u);
  // No client id: nothing to name.
  log.Add(Proxy(600, v1::ProxyBoot::OFFERED, 0, ""));
  EXPECT_EQ(log.size(), 2u);
}

// Failing: no file yet, or the last transfer failed; a failure it got past
// (OVMF's aborted size query) or a probe for a missing file is not.
TEST(BootLogTest, AMachineIsFailingWhereItStopped) {
  BootLog log;
  log.Add(Lease(100, v1::Lease::GRANTED, kLeased, MacId(7)));
  const BootMachine* m = log.Find("198.18.0.100");
  EXPECT_TRUE(m->Failing());  // no file yet
  log.Add(Tftp(200, kLeased, "bootx64.efi", v1::TftpTransfer::ABORTED, 0));
  EXPECT_TRUE(m->Failing());
  log.Add(Tftp(300, kLeased, "bootx64.efi", v1::TftpTransfer::COMPLETED, 1'000));
  EXPECT_FALSE(m->Failing());  // past the aborted one
  log.Add(Tftp(400, kLeased, "grub/x86_64-efi/command.lst", v1::TftpTransfer::REFUSED, 0, 1));
  log.Add(Lease(450, v1::Lease::GRANTED, kLeased, MacId(7)));
  EXPECT_FALSE(m->Failing());  // a probe, then a lease: still fine
  log.Add(Http(500, kLeased, "/images/x.iso", 200, v1::HttpTransfer::TIMED_OUT, 1'000));
  EXPECT_TRUE(m->Failing());
  EXPECT_EQ(m->failed, 2u);
}

TEST(BootLogTest, JsonParsesAndHostsAreNamed) {
  v1::Config config;
  v1::Host* fixed = config.add_hosts();
  fixed->set_name("fixed");
  fixed->set_ipv4("198.18.0.100");
  v1::Host* by_mac = config.add_hosts();
  by_mac->set_name("by-mac");
  by_mac->set_mac("02:00:5E:00:00:07");
  v1::Host* by_id = config.add_hosts();
  by_id->set_name("by-id");
  by_id->set_client_id("ff:00:01");
  v1::Host* long_id = config.add_hosts();  // 30 bytes: leases keep 24
  long_id->set_name("long-id");
  long_id->set_client_id(std::string(60, 'a'));
  v1::Host* both = config.add_hosts();  // the client id wins over the MAC
  both->set_name("both");
  both->set_client_id("01:02:00:5e:00:00:07");
  HostNames hosts(config);
  EXPECT_EQ(hosts.Find(kLeased, "aa:bb:cc:dd:ee:ff"), "fixed");
  EXPECT_EQ(hosts.Find(kOther, "02:00:5e:00:00:07"), "both");
  EXPECT_EQ(hosts.Find(kOther, "ff0001"), "by-id");
  EXPECT_EQ(hosts.Find(kOther, std::string(48, 'a')), "long-id");
  EXPECT_EQ(hosts.Find(kOther, "aa:bb:cc:dd:ee:ff"), "");

  BootLog log;
  log.Add(Lease(100, v1::Lease::GRANTED, kLeased, MacId(7)));
  log.Add(Tftp(200, kLeased, "a \"quoted\" name", v1::TftpTransfer::REFUSED, 0, 1));
  const BootMachine* m = log.Find("198.18.0.100");
  for (bool steps : {false, true}) {
    google::protobuf::Struct json;
    std::string text = BootMachineJson(*m, "fixed", steps);
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &json).ok()) << text;
    EXPECT_EQ(json.fields().at("host").string_value(), "fixed");
    EXPECT_EQ(json.fields().at("not_found").number_value(), 1);
    EXPECT_TRUE(json.fields().at("failing").bool_value());  // no file
    const auto& last = json.fields().at("last").struct_value().fields();
    EXPECT_EQ(last.at("what").string_value(), "a \"quoted\" name");
    EXPECT_EQ(json.fields().contains("steps"), steps);
  }
}

}  // namespace
}  // namespace stampede::control
