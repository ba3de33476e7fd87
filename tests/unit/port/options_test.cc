#include "dataplane/port/options.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::port {
namespace {

using ::testing::HasSubstr;

DataplaneOptions Valid(std::string port = "net_af_packet0,iface=vs0") {
  DataplaneOptions options;
  options.port = std::move(port);
  options.lcores = "0,1";
  options.ipv4 = {*net::Ipv4Interface::Parse("198.18.0.1/24")};
  return options;
}

bool Has(const std::vector<std::string>& args, const std::vector<std::string>& run) {
  return std::search(args.begin(), args.end(), run.begin(), run.end()) != args.end();
}

constexpr HostFacts kNoHugepages{0, false};
constexpr HostFacts kPlentyOfHugepages{uint64_t{1} << 30, true};

TEST(BuildEalArgsTest, VdevGetsNoPciAndVdev) {
  absl::StatusOr<std::vector<std::string>> args = BuildEalArgs(Valid(), kNoHugepages);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(Has(*args, {"--no-pci", "--vdev", "net_af_packet0,iface=vs0"}));
  EXPECT_TRUE(Has(*args, {"-l", "0,1"}));
  EXPECT_TRUE(Has(*args, {"--file-prefix", "stampede"}));
  EXPECT_TRUE(Has(*args, {"--no-huge"}));
  EXPECT_FALSE(Has(*args, {"--in-memory"}));
}

TEST(BuildEalArgsTest, PciAddressIsAllowListed) {
  absl::StatusOr<std::vector<std::string>> args = BuildEalArgs(Valid("0000:03:00.0"), kNoHugepages);
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(Has(*args, {"-a", "0000:03:00.0"}));
  EXPECT_FALSE(Has(*args, {"--no-pci"}));
}

TEST(BuildEalArgsTest, HugepagesByModeAndHost) {
  struct Case {
    HugePages mode;
    HostFacts host;
    bool in_memory;
  };
  for (const Case& c : {Case{HugePages::kAuto, kPlentyOfHugepages, true},
                        Case{HugePages::kAuto, kNoHugepages, false},
                        Case{HugePages::kAuto, HostFacts{uint64_t{1} << 30, false}, false},
                        Case{HugePages::kAuto, HostFacts{uint64_t{64} << 20, true}, false},
                        Case{HugePages::kOff, kPlentyOfHugepages, false},
                        Case{HugePages::kOn, kPlentyOfHugepages, true}}) {
    DataplaneOptions options = Valid();
    options.huge_pages = c.mode;
    absl::StatusOr<std::vector<std::string>> args = BuildEalArgs(options, c.host);
    ASSERT_TRUE(args.ok());
    EXPECT_EQ(Has(*args, {"--in-memory"}), c.in_memory);
    EXPECT_EQ(Has(*args, {"--no-huge"}), !c.in_memory);
  }
}

TEST(BuildEalArgsTest, ExplainsWhatIsWrong) {
  DataplaneOptions no_port = Valid("");
  EXPECT_THAT(BuildEalArgs(no_port, kNoHugepages).status().message(), HasSubstr("--port"));
  DataplaneOptions no_ip = Valid();
  no_ip.ipv4.clear();
  EXPECT_THAT(BuildEalArgs(no_ip, kNoHugepages).status().message(), HasSubstr("--ipv4"));
  DataplaneOptions need_huge = Valid();
  need_huge.huge_pages = HugePages::kOn;
  EXPECT_THAT(BuildEalArgs(need_huge, kNoHugepages).status().message(),
              HasSubstr("hugetlbfs is not mounted"));
  DataplaneOptions bad_cores = Valid();
  bad_cores.lcores = "1-0";
  EXPECT_THAT(BuildEalArgs(bad_cores, kNoHugepages).status().message(), HasSubstr("--lcores"));
  DataplaneOptions tiny = Valid();
  tiny.memory_mb = 16;
  EXPECT_FALSE(BuildEalArgs(tiny, kNoHugepages).ok());
}

TEST(CountWorkersTest, Table) {
  struct Case {
    std::string lcores;
    int workers;  // -1: error
  };
  for (const Case& c : {Case{"0", 1}, Case{"0,1", 2}, Case{"0-3", 4}, Case{"1,3-5", 4},
                        Case{"0,0", 1}, Case{"", -1}, Case{"a", -1}, Case{"3-1", -1},
                        Case{"0,,1", -1}, Case{"1-2-3", -1}, Case{"5000", -1}}) {
    absl::StatusOr<uint32_t> workers = CountWorkers(c.lcores);
    if (c.workers < 0) {
      EXPECT_FALSE(workers.ok()) << c.lcores;
    } else {
      ASSERT_TRUE(workers.ok()) << c.lcores;
      EXPECT_EQ(*workers, static_cast<uint32_t>(c.workers)) << c.lcores;
    }
  }
}

TEST(CpuMaskHexTest, Table) {
  EXPECT_EQ(CpuMaskHex({}), "0");
  EXPECT_EQ(CpuMaskHex({0}), "1");
  EXPECT_EQ(CpuMaskHex({1, 2}), "6");
  EXPECT_EQ(CpuMaskHex({3, 0}), "9");
  EXPECT_EQ(CpuMaskHex({31}), "80000000");
  EXPECT_EQ(CpuMaskHex({0, 33}), "2,00000001");
  EXPECT_EQ(CpuMaskHex({64}), "1,00000000,00000000");
  EXPECT_EQ(CpuMaskHex({-1, 1024, 4}), "10");
}

TEST(PortSpecTest, PciAndDeviceNames) {
  EXPECT_TRUE(IsPciAddress("0000:03:00.0"));
  EXPECT_TRUE(IsPciAddress("03:00.1"));
  EXPECT_TRUE(IsPciAddress("0000:03:00.0,rxq_cqe_comp_en=0"));
  EXPECT_FALSE(IsPciAddress("net_af_packet0,iface=eth0"));
  EXPECT_FALSE(IsPciAddress("0000:03:00.8"));
  EXPECT_EQ(DeviceName("net_af_packet0,iface=eth0"), "net_af_packet0");
  EXPECT_EQ(DeviceName("net_null0"), "net_null0");
}

TEST(PortSpecTest, ArgumentsByKey) {
  EXPECT_EQ(PortSpecArg("net_af_packet0,iface=eth0,qpairs=2", "iface"), "eth0");
  EXPECT_EQ(PortSpecArg("net_af_packet0,iface=eth0,qpairs=2", "qpairs"), "2");
  EXPECT_EQ(PortSpecArg("net_af_packet0,iface=", "iface"), "");
  // A key is matched whole, and never in the device name.
  EXPECT_EQ(PortSpecArg("net_af_packet0,ifacex=eth0", "iface"), std::nullopt);
  EXPECT_EQ(PortSpecArg("iface=eth0", "iface"), std::nullopt);
  EXPECT_EQ(PortSpecArg("net_null0", "iface"), std::nullopt);
  EXPECT_EQ(PortSpecArg("", "iface"), std::nullopt);
  EXPECT_EQ(PortSpecArg("net_af_packet0,,iface", "iface"), std::nullopt);
}

// af_packet's ring gets stampede's size unless the spec gives one.
TEST(PortSpecTest, AfPacketRingDefault) {
  EXPECT_EQ(WithPortDefaults("net_af_packet0,iface=eth1"),
            absl::StrCat("net_af_packet0,iface=eth1,framecnt=", kAfPacketFrames));
  EXPECT_EQ(WithPortDefaults("net_af_packet0,iface=eth1,framecnt=1024"),
            "net_af_packet0,iface=eth1,framecnt=1024");
  EXPECT_EQ(WithPortDefaults("net_af_xdp0,iface=eth1"), "net_af_xdp0,iface=eth1");
  EXPECT_EQ(WithPortDefaults("0000:03:00.0"), "0000:03:00.0");
}

TEST(PortSpecTest, ReceiveRingFromTheSpec) {
  EXPECT_EQ(SpecRxFrames("net_af_packet0,iface=eth1,framecnt=4096"), 4096u);
  EXPECT_EQ(SpecRxFrames("net_af_packet0,iface=eth1"), 512u);  // the driver's default
  EXPECT_EQ(SpecRxFrames("net_memif0,role=server"), 1024u);
  EXPECT_EQ(SpecRxFrames("net_memif0,role=server,rsize=12"), 4096u);
  // What the spec does not decide, or says wrongly: 0 (the caller asks elsewhere).
  EXPECT_EQ(SpecRxFrames("net_af_packet0,iface=eth1,framecnt=many"), 0u);
  EXPECT_EQ(SpecRxFrames("net_af_packet0,iface=eth1,framecnt=-1"), 0u);
  EXPECT_EQ(SpecRxFrames("net_memif0,rsize=40"), 0u);
  EXPECT_EQ(SpecRxFrames("net_memif0,rsize="), 0u);
  EXPECT_EQ(SpecRxFrames("net_af_xdp0,iface=eth1"), 0u);
  EXPECT_EQ(SpecRxFrames("0000:03:00.0"), 0u);
  EXPECT_EQ(SpecRxFrames(""), 0u);
}

// An idle worker's sleeps start at 1 us and double up to the limit.
TEST(IdleSleepTest, DoublesFromOneMicrosecondUpToTheLimit) {
  std::vector<uint32_t> sleeps;
  uint32_t last = 0;
  for (int i = 0; i < 13; ++i) sleeps.push_back(last = NextIdleSleepUs(last, kMaxIdleSleepUs));
  EXPECT_EQ(sleeps,
            (std::vector<uint32_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000, 1000}));
  EXPECT_EQ(NextIdleSleepUs(0, 10), 1u);
  EXPECT_EQ(NextIdleSleepUs(8, 10), 10u);
  EXPECT_EQ(NextIdleSleepUs(0, 1), 1u);
}

}  // namespace
}  // namespace stampede::port
