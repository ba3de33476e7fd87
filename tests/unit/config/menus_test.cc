#include "control/config/menus.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/config/compile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::config {
namespace {

using testing::Contains;
using testing::HasSubstr;
using testing::Not;

constexpr char kConfig[] = R"yaml(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp:
  subnets:
    - {subnet: 198.18.0.0/24, profile: install, pools: [{first: 198.18.0.100, last: 198.18.0.120}]}
    - {subnet: 198.18.4.0/22, profile: "burn in", pools: [{first: 198.18.4.10, last: 198.18.4.20}]}
    - {subnet: 198.18.16.0/20}
hosts:
  - {name: a, mac: "02:00:5E:10:00:07", profile: install, next_boot: "burn in"}
  - {name: b, mac: "02:00:5E:10:00:08", ipv4: 198.18.0.8, profile: rescue}
profiles:
  - name: install
    boot_files: {bios: pxelinux.0, efi_x64: bootnetx64.efi}
    kernel: d-i/linux
    initrds: [d-i/initrd.gz]
    cmdline: "url=http://{server}/preseed.cfg console=ttyS0"
    menu_timeout: 10s
  - name: burn in
    boot_files: {bios: pxelinux.0}
    kernel: memtest86+x64.bin
    menu_title: "Burn-in (memtest86+)"
  - name: rescue
    boot_files: {bios: pxelinux.0}
    kernel: rescue/vmlinuz
    menu_default: true
    menu_timeout: 3s
  - {name: chain, boot_files: {bios: undionly.kpxe}}
tftp: {bootloaders: [none]}
http: {port: 8080}
)yaml";

class MenusTest : public ::testing::Test {
 protected:
  void Compile(const std::string& text) {
    absl::StatusOr<LoadedConfig> loaded = ParseConfig(text, "c.yaml", Format::kYaml);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    absl::StatusOr<v1::BootPolicy> policy = config::Compile(*loaded, &warnings_);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    for (const v1::CatalogFile& file : policy_.tftp().files()) {
      EXPECT_TRUE(file.source().empty()) << file.path();
      EXPECT_EQ(file.length(), file.content().size()) << file.path();
      files_[file.path()] = file.content();
    }
  }

  std::string File(const std::string& path) {
    auto it = files_.find(path);
    EXPECT_NE(it, files_.end()) << path;
    return it == files_.end() ? "" : it->second;
  }

  v1::BootPolicy policy_;
  std::vector<std::string> warnings_;
  std::map<std::string, std::string> files_;
};

TEST_F(MenusTest, EveryLoaderFindsItsProfilesMenu) {
  Compile(kConfig);
  std::vector<std::string> paths;
  for (const auto& [path, content] : files_) paths.push_back(path);
  EXPECT_THAT(
      paths,
      testing::UnorderedElementsAre(
          "boot.ipxe", "grub/grub.cfg", "grub/p-burn_in-once.cfg", "grub/p-burn_in.cfg",
          "grub/p-chain.cfg", "grub/p-install.cfg", "grub/p-rescue.cfg", "ipxe/p-burn_in-once.ipxe",
          "ipxe/p-burn_in.ipxe", "ipxe/p-chain.ipxe", "ipxe/p-install.ipxe", "ipxe/p-rescue.ipxe",
          "pxelinux.cfg/01-02-00-5e-10-00-07", "pxelinux.cfg/01-02-00-5e-10-00-08",
          "pxelinux.cfg/C6120008", "pxelinux.cfg/C61200", "pxelinux.cfg/C61204",
          "pxelinux.cfg/C61205", "pxelinux.cfg/C61206", "pxelinux.cfg/C61207",
          "pxelinux.cfg/default", "pxelinux.cfg/p-burn_in", "pxelinux.cfg/p-burn_in-once",
          "pxelinux.cfg/p-chain", "pxelinux.cfg/p-install", "pxelinux.cfg/p-rescue"));
  const v1::CompiledProfile& install = policy_.profiles(0);
  EXPECT_EQ(install.pxelinux_config(), "pxelinux.cfg/p-install");
  EXPECT_EQ(install.ipxe_script(), "ipxe/p-install.ipxe");
  EXPECT_EQ(install.pxelinux_config_once(), "");  // nobody boots it once
  const v1::CompiledProfile& burn = policy_.profiles(1);
  EXPECT_EQ(burn.pxelinux_config_once(), "pxelinux.cfg/p-burn_in-once");
  EXPECT_EQ(burn.ipxe_script_once(), "ipxe/p-burn_in-once.ipxe");
  EXPECT_EQ(install.grub_config(), "grub/p-install.cfg");
  EXPECT_EQ(install.grub_config_once(), "");
  EXPECT_EQ(burn.grub_config_once(), "grub/p-burn_in-once.cfg");
  // The defaults are answered per client by the dataplane.
  std::vector<std::pair<std::string, v1::ClientFileKind>> client_files;
  for (const v1::ClientFile& file : policy_.tftp().client_files()) {
    client_files.emplace_back(file.path(), file.kind());
  }
  EXPECT_THAT(client_files,
              testing::UnorderedElementsAre(
                  std::pair{std::string("pxelinux.cfg/default"), v1::CLIENT_FILE_KIND_PXELINUX},
                  std::pair{std::string("grub/grub.cfg"), v1::CLIENT_FILE_KIND_GRUB},
                  std::pair{std::string("boot.ipxe"), v1::CLIENT_FILE_KIND_IPXE}));
  // The one-shot GRUB menu boots at once.
  EXPECT_THAT(File("grub/p-burn_in-once.cfg"), HasSubstr("set timeout=0"));
}

TEST_F(MenusTest, EachMenuDefaultsToItsProfileWithItsTimeout) {
  Compile(kConfig);
  std::string install = File("pxelinux.cfg/p-install");
  EXPECT_THAT(install, HasSubstr("TIMEOUT 100\nDEFAULT install\n"));
  EXPECT_THAT(install, HasSubstr("LABEL install\n  MENU LABEL install\n  LINUX d-i/linux\n"
                                 "  APPEND initrd=d-i/initrd.gz "
                                 "url=http://198.18.0.1:8080/preseed.cfg console=ttyS0\n"));
  EXPECT_THAT(install, HasSubstr("MENU LABEL Burn-in (memtest86+)\n  LINUX memtest86+x64.bin\n"));
  EXPECT_THAT(install, Not(HasSubstr("chain")));  // boot programs only: no entry
  // Hosts and subnets without option 209 reach the same menus.
  EXPECT_EQ(File("pxelinux.cfg/01-02-00-5e-10-00-07"), install);
  EXPECT_EQ(File("pxelinux.cfg/C61200"), install);
  EXPECT_EQ(File("pxelinux.cfg/C61206"), File("pxelinux.cfg/p-burn_in"));
  EXPECT_EQ(File("pxelinux.cfg/C6120008"), File("pxelinux.cfg/p-rescue"));
  // No profile: the menu_default one, with its timeout.
  EXPECT_THAT(File("pxelinux.cfg/default"), HasSubstr("TIMEOUT 30\nDEFAULT rescue\n"));
  // The one-shot next boot boots at once.
  std::string once = File("pxelinux.cfg/p-burn_in-once");
  EXPECT_THAT(once, HasSubstr("PROMPT 0\nDEFAULT burn_in\n"));
  EXPECT_THAT(once, Not(HasSubstr("TIMEOUT")));
  EXPECT_THAT(File("ipxe/p-burn_in-once.ipxe"), HasSubstr("goto burn_in\n"));
  // A profile with no entry of its own gets the default entry first.
  EXPECT_THAT(File("pxelinux.cfg/p-chain"), HasSubstr("DEFAULT rescue\n"));
}

TEST_F(MenusTest, GrubDispatchesHostsAddressesAndSubnetsLongestFirst) {
  Compile(kConfig);
  std::string grub = File("grub/grub.cfg");
  EXPECT_THAT(grub,
              HasSubstr("# grub.cfg generated by stampede from its config and images\n"
                        "if [ \"$net_default_mac\" = \"02:00:5e:10:00:07\" ]; then configfile "
                        "$prefix/p-install.cfg; fi\n"
                        "if [ \"$net_default_mac\" = \"02:00:5e:10:00:08\" ]; then configfile "
                        "$prefix/p-rescue.cfg; fi\n"
                        "if [ \"$net_default_ip\" = \"198.18.0.8\" ]; then configfile "
                        "$prefix/p-rescue.cfg; fi\n"
                        "if regexp '^198\\.18\\.0\\.' \"$net_default_ip\"; then configfile "
                        "$prefix/p-install.cfg; fi\n"
                        "if regexp '^198\\.18\\.(4|5|6|7)\\.' \"$net_default_ip\"; then "
                        "configfile $prefix/p-burn_in.cfg; fi\n"
                        "insmod http\n"
                        "if [ -e (http,198.18.0.1:8080)/grub/grub.cfg ]; then set stampede_http=y; "
                        "else set stampede_http=n; fi\n"));
  EXPECT_THAT(grub, HasSubstr("linux (http,198.18.0.1:8080)/d-i/linux "));
  EXPECT_THAT(grub, HasSubstr("linux (tftp,198.18.0.1)/d-i/linux "));
}

// GRUB's own parser accepts every generated grub.cfg (grub-common's
// grub-script-check; scripts/setup installs it).
TEST_F(MenusTest, GrubScriptCheckAcceptsThem) {
  Compile(kConfig);
  if (system("command -v grub-script-check >/dev/null") != 0) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL() << "grub-script-check is missing";
    GTEST_SKIP() << "grub-script-check is missing (grub-common)";
  }
  for (const auto& [path, content] : files_) {
    if (!path.starts_with("grub/")) continue;
    char name[] = "/tmp/stampede-grub-XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
    EXPECT_EQ(system((std::string("grub-script-check ") + name).c_str()), 0) << path << content;
    unlink(name);
  }
}

TEST_F(MenusTest, NoEntriesNoMenus) {
  Compile(R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
profiles:
  - {name: chain, boot_files: {bios: undionly.kpxe}}
tftp: {bootloaders: [none]}
)");
  EXPECT_TRUE(files_.empty());
  EXPECT_EQ(policy_.profiles(0).pxelinux_config(), "");
  EXPECT_EQ(policy_.profiles(0).ipxe_script(), "");
}

TEST_F(MenusTest, AMissingImageIsLeftOutWithAWarning) {
  std::string text = kConfig;
  text.insert(text.find("  - {name: chain"), "  - {name: gone, image: not-there}\n");
  Compile(text + "images: {folder: /tmp}\n");
  EXPECT_THAT(warnings_, Contains("c.yaml:26:5: profiles[3]: image 'not-there' is not in the "
                                  "images folder; left out of the menus until it is"));
  EXPECT_THAT(File("pxelinux.cfg/default"), Not(HasSubstr("gone")));
  EXPECT_EQ(File("pxelinux.cfg/p-gone"), File("pxelinux.cfg/p-chain"));
}

TEST(MenusErrorTest, AnAnswerFileNeedsAnImage) {
  absl::StatusOr<LoadedConfig> loaded =
      ParseConfig(R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
profiles:
  - {name: x, kernel: linux, preseed: "http://{server}/p.cfg"}
tftp: {bootloaders: [none]}
)",
                  "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok());
  absl::StatusOr<v1::BootPolicy> policy = Compile(*loaded);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("c.yaml:3:5: profiles[0]: "));
}

// A grub.cfg written by hand under tftp.root is served as it is, to
// everyone: it is no longer answered per client.
TEST(MenusRootTest, AHandWrittenDefaultIsNotAnsweredPerClient) {
  char root[] = "/tmp/stampede-menus-root-XXXXXX";
  ASSERT_NE(mkdtemp(root), nullptr);
  std::string grub_dir = std::string(root) + "/grub";
  ASSERT_EQ(mkdir(grub_dir.c_str(), 0755), 0);
  { std::ofstream(grub_dir + "/grub.cfg") << "menuentry mine { true }\n"; }
  absl::StatusOr<LoadedConfig> loaded =
      ParseConfig(absl::StrCat("dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}\n"
                               "profiles:\n  - {name: x, kernel: linux}\n"
                               "tftp: {bootloaders: [none], root: ",
                               root, "}\n"),
                  "c.yaml", Format::kYaml);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> warnings;
  absl::StatusOr<v1::BootPolicy> policy = Compile(*loaded, &warnings);
  std::filesystem::remove_all(root);
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::vector<std::string> per_client;
  for (const v1::ClientFile& file : policy->tftp().client_files())
    per_client.push_back(file.path());
  EXPECT_THAT(per_client, testing::UnorderedElementsAre("pxelinux.cfg/default", "boot.ipxe"));
  EXPECT_THAT(warnings, Contains(HasSubstr("generated menu files are also under tftp.root")));
}

}  // namespace
}  // namespace stampede::config
