#include "control/cli/check.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::cli {
namespace {

using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& text) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(CheckTest, ValidConfigExitsZeroWithSummary) {
  std::string path = Write("stampede_check_ok.yaml",
                           "dataplane: {port: net_null0, lcores: \"0,1\", ipv4: [198.18.0.1/24]}\n"
                           "dhcp:\n  subnets:\n    - subnet: 198.18.0.0/24\n      pools:\n"
                           "        - {first: 198.18.0.10, last: 198.18.0.19}\n");
  std::ostringstream out, err;
  EXPECT_EQ(Check(path, out, err), 0);
  EXPECT_EQ(err.str(), "");
  EXPECT_THAT(out.str(), HasSubstr(": valid\n"));
  EXPECT_THAT(out.str(), HasSubstr("(2 workers)"));
  EXPECT_THAT(out.str(), HasSubstr("authoritative, 1 subnet, 1 pool (10 addresses)"));
  std::filesystem::remove(path);
}

TEST(CheckTest, ShowsTheDhcpOptions) {
  std::string path =
      Write("stampede_check_options.yaml",
            "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
            "dhcp:\n  options: [{name: ntp-servers, data: 198.18.0.2}]\n"
            "  subnets:\n    - subnet: 198.18.0.0/24\n"
            "      known_clients_only: true\n"
            "      options: [{code: 224, type: uint8, data: 1, always_send: true}]\n"
            "      pools: [{first: 198.18.0.10, last: 198.18.0.29, classes: "
            "[racks]}, {first: 198.18.0.30, last: 198.18.0.39, classes: [\"!racks\"]}]\n"
            "  classes:\n    - {name: racks, mac: [\"0c:c4:7a:*\"], arch: [bios], "
            "known: true, lease_time: 10m, options: [{name: ntp-servers, data: 198.18.0.9}]}\n"
            "    - {name: ipxe, user_class: [iPXE], profile: p}\n"
            "hosts:\n  - {name: n1, mac: \"02:00:00:00:00:01\"}\n"
            "  - {name: n_2, mac: \"02:00:00:00:00:02\"}\n"
            "  - {client_id: \"ff:00:01\"}\n  - {circuit_id: c1}\n"
            "profiles: [{name: p}]\n");
  std::ostringstream out, err;
  EXPECT_EQ(Check(path, out, err), 0);
  EXPECT_EQ(err.str(), "");
  EXPECT_THAT(out.str(), HasSubstr("  hosts      4 (2 by MAC, 1 by client id, 1 by option 82)\n"
                                   "  class      racks: by mac and arch -> no profile, 1 option, "
                                   "known, lease 10m, 1 pool (20 addresses)\n"
                                   "  class      ipxe: by user_class -> profile p, 0 options\n"));
  EXPECT_THAT(out.str(),
              HasSubstr("2 pools (30 addresses), lease 1h, known clients only on 1 subnet\n"));
  EXPECT_THAT(out.str(),
              HasSubstr("  options    198.18.0.0/24: ntp-servers (42), option 224 always\n"
                        "  options    1 host with options of their own (1 host name)\n"));
  std::filesystem::remove(path);
}

TEST(CheckTest, InvalidConfigExitsOneWithEveryProblem) {
  std::string path = Write("stampede_check_bad.yaml",
                           "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
                           "hosts:\n  - {mac: \"02:00:00:00:00:01\", profile: a}\n"
                           "  - {mac: \"02:00:00:00:00:01\"}\n");
  std::ostringstream out, err;
  EXPECT_EQ(Check(path, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), HasSubstr(path + ":3:41: hosts[0].profile: no profile named 'a'\n"));
  EXPECT_THAT(err.str(), HasSubstr(path + ":4:11: hosts[1].mac: MAC 02:00:00:00:00:01 is also"));
  EXPECT_THAT(err.str(), HasSubstr(": 2 problems\n"));
  std::filesystem::remove(path);
}

TEST(CheckTest, TftpRootIsCataloguedAndWhatIsLeftOutIsAWarning) {
  std::filesystem::path root = std::filesystem::temp_directory_path() / "stampede_check_root";
  std::filesystem::create_directories(root);
  std::ofstream(root / "pxelinux.0") << "pxe";
  std::ofstream(root / "a\\b") << "backslash";
  std::string path = Write("stampede_check_tftp.yaml",
                           "dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
                           "tftp: {root: " +
                               root.string() + ", bootloaders: [none]}\n");
  std::ostringstream out, err;
  EXPECT_EQ(Check(path, out, err), 0);
  EXPECT_EQ(err.str(),
            "warning: " + path + ":2:14: tftp.root: a\\\\b: a request for it is read as 'a/b'\n");
  EXPECT_THAT(out.str(),
              HasSubstr("tftp       root=" + root.string() + " (1 file served, 1 warning)\n"));
  std::filesystem::remove_all(root);
  std::ostringstream out_missing, err_missing;
  EXPECT_EQ(Check(path, out_missing, err_missing), 1);
  EXPECT_THAT(err_missing.str(), HasSubstr(path + ":2:14: tftp.root: '" + root.string() +
                                           "' cannot be read: No such file or directory\n"));
  EXPECT_THAT(err_missing.str(), HasSubstr(": 1 problem\n"));
  std::filesystem::remove(path);
}

TEST(CheckTest, MissingFileIsAnError) {
  std::ostringstream out, err;
  EXPECT_EQ(Check("/nonexistent/stampede.yaml", out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("/nonexistent/stampede.yaml: cannot open"));
}

}  // namespace
}  // namespace stampede::cli
