#include "control/catalog/detect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using Files = std::map<std::string, std::string>;

// A listing of `paths` plus the files of `files`, which read_small serves.
ImageListing Listing(std::vector<std::string> paths, Files files = {}) {
  ImageListing image;
  image.name = "test";
  image.paths = std::move(paths);
  for (const auto& [path, text] : files) image.paths.push_back(path);
  image.read_small = [files](std::string_view path,
                             size_t max_bytes) -> std::optional<std::string> {
    auto it = files.find(std::string(path));
    if (it == files.end()) return std::nullopt;
    return it->second.substr(0, max_bytes);
  };
  return image;
}

// memtest86+ names itself at byte 1120 of its binaries.
std::string MemtestBinary(std::string_view version) {
  return std::string(1120, '\0') + "Memtest86+ v" + std::string(version) + std::string(100, '\0');
}

constexpr std::string_view kDebianInfo =
    "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with firmware 20240210-11:27";
constexpr std::string_view kUbuntuInfo =
    "Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release amd64 (20240423)";
constexpr std::string_view kRockyTreeinfo = R"([checksums]
images/install.img = sha256:0123

[general]
arch = x86_64
family = Rocky Linux
name = Rocky Linux 9.3
version = 9.3

[release]
name = Rocky Linux
short = Rocky
version = 9.3
)";

struct Case {
  std::string name;
  std::vector<std::string> paths;
  Files files;
  std::string family;
  std::string kernel;
  std::string efi_kernel;
  std::vector<std::string> initrds;
  std::string cmdline;
  std::string distro;
  std::string version;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class DetectFamilyTest : public ::testing::TestWithParam<Case> {};

TEST_P(DetectFamilyTest, FindsKernelInitrdsAndVersion) {
  const Case& c = GetParam();
  BootRecipe recipe = Detect(Listing(c.paths, c.files));
  EXPECT_EQ(recipe.family, c.family) << recipe.why;
  EXPECT_FALSE(recipe.sanboot);
  EXPECT_EQ(recipe.kernel, c.kernel);
  EXPECT_EQ(recipe.efi_kernel, c.efi_kernel);
  EXPECT_THAT(recipe.initrds, ElementsAreArray(c.initrds));
  EXPECT_EQ(recipe.cmdline, c.cmdline);
  EXPECT_EQ(recipe.distro, c.distro);
  EXPECT_EQ(recipe.version, c.version);
  EXPECT_THAT(recipe.why, StartsWith(c.family + ": "));
}

INSTANTIATE_TEST_SUITE_P(
    Families, DetectFamilyTest,
    ::testing::Values(
        Case{"debian_installer_amd64",
             {"install.amd/vmlinuz", "install.amd/initrd.gz", "install.amd/gtk/vmlinuz",
              "install.amd/gtk/initrd.gz", "isolinux/isolinux.cfg"},
             {{".disk/info", std::string(kDebianInfo)}},
             "debian-installer",
             "install.amd/vmlinuz",
             "install.amd/vmlinuz",
             {"install.amd/initrd.gz"},
             "",
             "Debian GNU/Linux",
             "12.5.0"},
        Case{"debian_installer_i386",
             {"install.386/vmlinuz", "install.386/initrd.gz"},
             {},
             "debian-installer",
             "install.386/vmlinuz",
             "install.386/vmlinuz",
             {"install.386/initrd.gz"},
             "",
             "Debian",
             ""},
        // Plain ISO 9660 names, no Rock Ridge or Joliet: upper case, and the
        // recipe keeps them as spelled.
        Case{"debian_installer_iso9660_names",
             {"INSTALL.AMD/VMLINUZ", "INSTALL.AMD/INITRD.GZ", "ISOLINUX/ISOLINUX.BIN"},
             {},
             "debian-installer",
             "INSTALL.AMD/VMLINUZ",
             "INSTALL.AMD/VMLINUZ",
             {"INSTALL.AMD/INITRD.GZ"},
             "",
             "Debian",
             ""},
        Case{"debian_netboot_mini_iso",
             {"linux", "initrd.gz", "isolinux.bin", "boot/grub/grub.cfg"},
             {},
             "debian-netboot",
             "linux",
             "linux",
             {"initrd.gz"},
             "",
             "Debian",
             ""},
        // Two kernels: the initrd is the one of the kernel chosen.
        Case{"debian_live_pairs_kernel_and_initrd",
             {"live/vmlinuz-6.1.0-18-amd64", "live/initrd.img-6.1.0-18-amd64",
              "live/vmlinuz-6.1.0-18-686", "live/initrd.img-6.1.0-18-686",
              "live/filesystem.squashfs"},
             {},
             "debian-live",
             "live/vmlinuz-6.1.0-18-686",
             "live/vmlinuz-6.1.0-18-686",
             {"live/initrd.img-6.1.0-18-686"},
             "boot=live components fetch=http://{server}/images/{name}/live/filesystem.squashfs",
             "Debian Live",
             ""},
        Case{"ubuntu_live_server",
             {"casper/vmlinuz", "casper/initrd", "casper/ubuntu-server-minimal.squashfs",
              "boot/grub/grub.cfg"},
             {{".disk/info", std::string(kUbuntuInfo)}},
             "ubuntu",
             "casper/vmlinuz",
             "casper/vmlinuz",
             {"casper/initrd"},
             "ip=dhcp cloud-config-url=/dev/null url=http://{server}/images/{name}.iso",
             "Ubuntu-Server",
             "24.04 LTS"},
        Case{"ubuntu_old_initrd_lz",
             {"CASPER/VMLINUZ.EFI", "CASPER/INITRD.LZ", "CASPER/FILESYSTEM.SQUASHFS"},
             {},
             "ubuntu",
             "CASPER/VMLINUZ.EFI",
             "CASPER/VMLINUZ.EFI",
             {"CASPER/INITRD.LZ"},
             "ip=dhcp cloud-config-url=/dev/null url=http://{server}/images/{name}.iso",
             "Ubuntu",
             ""},
        Case{"rocky_dvd",
             {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/install.img",
              "BaseOS/repodata/repomd.xml", "AppStream/repodata/repomd.xml"},
             {{".treeinfo", std::string(kRockyTreeinfo)}},
             "anaconda",
             "images/pxeboot/vmlinuz",
             "images/pxeboot/vmlinuz",
             {"images/pxeboot/initrd.img"},
             "inst.repo=http://{server}/images/{name}/",
             "Rocky Linux",
             "9.3"},
        Case{"fedora_netinst",
             {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/install.img"},
             {{".discinfo", "1713000000.000000\n40\nx86_64\n"}},
             "anaconda-netinst",
             "images/pxeboot/vmlinuz",
             "images/pxeboot/vmlinuz",
             {"images/pxeboot/initrd.img"},
             "inst.stage2=http://{server}/images/{name}/",
             "Fedora/RHEL",
             "40"},
        Case{"fedora_live",
             {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "LiveOS/squashfs.img"},
             {},
             "fedora-live",
             "images/pxeboot/vmlinuz",
             "images/pxeboot/vmlinuz",
             {"images/pxeboot/initrd.img"},
             "root=live:http://{server}/images/{name}/LiveOS/squashfs.img rd.live.image ip=dhcp",
             "Fedora Live",
             ""},
        // Microcode first, then the initramfs.
        Case{"arch",
             {"arch/boot/x86_64/vmlinuz-linux", "arch/boot/x86_64/initramfs-linux.img",
              "arch/boot/intel-ucode.img", "arch/boot/amd-ucode.img", "arch/x86_64/airootfs.sfs"},
             {{"arch/version", "2024.05.01\n"}},
             "arch",
             "arch/boot/x86_64/vmlinuz-linux",
             "arch/boot/x86_64/vmlinuz-linux",
             {"arch/boot/intel-ucode.img", "arch/boot/amd-ucode.img",
              "arch/boot/x86_64/initramfs-linux.img"},
             "archisobasedir=arch archiso_http_srv=http://{server}/images/{name}/ ip=dhcp",
             "Arch Linux",
             "2024.05.01"},
        Case{"arch_without_microcode",
             {"arch/boot/x86_64/vmlinuz-linux", "arch/boot/x86_64/initramfs-linux.img"},
             {},
             "arch",
             "arch/boot/x86_64/vmlinuz-linux",
             "arch/boot/x86_64/vmlinuz-linux",
             {"arch/boot/x86_64/initramfs-linux.img"},
             "archisobasedir=arch archiso_http_srv=http://{server}/images/{name}/ ip=dhcp",
             "Arch Linux",
             ""},
        Case{"systemrescue",
             {"sysresccd/boot/x86_64/vmlinuz", "sysresccd/boot/x86_64/sysresccd.img",
              "sysresccd/boot/intel_ucode.img", "sysresccd/boot/amd_ucode.img",
              "sysresccd/x86_64/airootfs.sfs"},
             {{"sysresccd/VERSION", "11.01\n"}},
             "systemrescue",
             "sysresccd/boot/x86_64/vmlinuz",
             "sysresccd/boot/x86_64/vmlinuz",
             {"sysresccd/boot/intel_ucode.img", "sysresccd/boot/amd_ucode.img",
              "sysresccd/boot/x86_64/sysresccd.img"},
             "archisobasedir=sysresccd archiso_http_srv=http://{server}/images/{name}/ ip=dhcp",
             "SystemRescue",
             "11.01"},
        // Debian's /usr/lib/memtest86+/memtest86+x64.iso: only the EFI binary.
        Case{"memtest_iso",
             {"boot/floppy.img", "boot.catalog"},
             {{"EFI/BOOT/bootx64.efi", MemtestBinary("6.10")}},
             "memtest86+",
             "",
             "EFI/BOOT/bootx64.efi",
             {},
             "",
             "Memtest86+",
             "6.10"},
        Case{"memtest_binaries",
             {},
             {{"boot/memtest86+x64.bin", MemtestBinary("7.00")},
              {"boot/memtest86+x64.efi", MemtestBinary("7.00")}},
             "memtest86+",
             "boot/memtest86+x64.bin",
             "boot/memtest86+x64.efi",
             {},
             "",
             "Memtest86+",
             "7.00"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

struct GenericCase {
  std::string name;
  std::vector<std::string> paths;
  Files files;
  std::string why;
};

void PrintTo(const GenericCase& c, std::ostream* os) { *os << c.name; }

class DetectGenericTest : public ::testing::TestWithParam<GenericCase> {};

TEST_P(DetectGenericTest, FallsBackToSanbootAndSaysWhy) {
  const GenericCase& c = GetParam();
  BootRecipe recipe = Detect(Listing(c.paths, c.files));
  EXPECT_EQ(recipe.family, "generic");
  EXPECT_TRUE(recipe.sanboot);
  EXPECT_EQ(recipe.kernel, "");
  EXPECT_THAT(recipe.initrds, IsEmpty());
  EXPECT_THAT(recipe.why, StartsWith("generic (sanboot): "));
  EXPECT_THAT(recipe.why, HasSubstr(c.why));
}

INSTANTIATE_TEST_SUITE_P(
    Fallbacks, DetectGenericTest,
    ::testing::Values(
        GenericCase{"empty", {}, {}, "no signature matched"},
        GenericCase{"windows",
                    {"bootmgr", "efi/boot/bootx64.efi", "sources/install.wim"},
                    {{"efi/boot/bootx64.efi", std::string(4096, 'x')}},
                    "no signature matched"},
        GenericCase{"ubuntu_without_initrd",
                    {"casper/vmlinuz", "casper/filesystem.squashfs"},
                    {},
                    "ubuntu: found casper/vmlinuz but no initrd matching casper/initrd"},
        GenericCase{"debian_installer_without_kernel",
                    {"install.amd/initrd.gz"},
                    {},
                    "debian-installer: no kernel matching install.amd/vmlinuz"},
        GenericCase{"arch_without_initramfs",
                    {"arch/boot/x86_64/vmlinuz-linux", "arch/boot/intel-ucode.img"},
                    {},
                    "arch: found arch/boot/x86_64/vmlinuz-linux but no initrd matching"},
        // A memtest-named binary that is not memtest86+.
        GenericCase{"memtest_name_without_marker",
                    {},
                    {{"boot/memtest.bin", std::string(2000, 'M')}},
                    "no signature matched"}),
    [](const ::testing::TestParamInfo<GenericCase>& info) { return info.param.name; });

TEST(DetectTest, GarbageVersionFileStillDetectsAndKeepsOnlySafeText) {
  std::string garbage = "\x01\xff$(reboot)\"; rm -rf / \n\n 7.7 `x` \x7f";
  garbage += std::string(100000, 'A');  // longer than any read
  BootRecipe recipe = Detect(
      Listing({"casper/vmlinuz", "casper/initrd", "casper/a.squashfs"}, {{".disk/info", garbage}}));
  EXPECT_EQ(recipe.family, "ubuntu");
  EXPECT_LE(recipe.version.size(), kMaxVersionLength);
  EXPECT_LE(recipe.distro.size(), kMaxVersionLength);
  EXPECT_THAT(recipe.version + recipe.distro, ::testing::MatchesRegex("[A-Za-z0-9 ._+~:()/,-]*"));
}

TEST(DetectTest, UnreadableVersionFileLeavesVersionEmpty) {
  ImageListing image =
      Listing({"casper/vmlinuz", "casper/initrd", "casper/a.squashfs", ".disk/info"});
  BootRecipe recipe = Detect(image);
  EXPECT_EQ(recipe.family, "ubuntu");
  EXPECT_EQ(recipe.distro, "Ubuntu");
  EXPECT_EQ(recipe.version, "");

  image.read_small = nullptr;
  EXPECT_EQ(Detect(image).family, "ubuntu");
}

TEST(DetectTest, ReadsOnlyBoundedPrefixes) {
  std::vector<size_t> asked;
  ImageListing image = Listing({"casper/vmlinuz", "casper/initrd", "casper/a.squashfs",
                                ".disk/info", "EFI/BOOT/BOOTX64.EFI"});
  image.read_small = [&](std::string_view, size_t max_bytes) -> std::optional<std::string> {
    asked.push_back(max_bytes);
    return std::string(max_bytes * 2, 'x');  // a callback returning too much is cut
  };
  BootRecipe recipe = Detect(image);
  EXPECT_EQ(recipe.family, "ubuntu");
  ASSERT_FALSE(asked.empty());
  for (size_t max_bytes : asked) EXPECT_LE(max_bytes, kMaxVersionFileBytes);
  EXPECT_LE(recipe.version.size(), kMaxVersionLength);
}

TEST(DetectTest, ResultDoesNotDependOnListingOrder) {
  std::vector<std::string> paths = {"live/vmlinuz-2",           "live/initrd.img-2",
                                    "live/vmlinuz-1",           "live/initrd.img-1",
                                    "live/filesystem.squashfs", "casper/x.squashfs"};
  BootRecipe first = Detect(Listing(paths));
  std::mt19937 random(7);
  for (int i = 0; i < 10; ++i) {
    std::shuffle(paths.begin(), paths.end(), random);
    BootRecipe again = Detect(Listing(paths));
    EXPECT_EQ(again.kernel, first.kernel);
    EXPECT_EQ(again.initrds, first.initrds);
  }
  EXPECT_EQ(first.kernel, "live/vmlinuz-1");
  EXPECT_THAT(first.initrds, ElementsAre("live/initrd.img-1"));
}

TEST(DetectTest, CustomTableEntryIsAllItTakes) {
  std::vector<Signature> table = {{
      .family = "alpine",
      .distro = "Alpine Linux",
      .require = {".alpine-release"},
      .kernel = "boot/vmlinuz-*",
      .initrds = {{"boot/initramfs-{*}"}},
      .version = {{".alpine-release", VersionFormat::kFirstLine}},
  }};
  BootRecipe recipe =
      Detect(Listing({"boot/vmlinuz-lts", "boot/initramfs-lts", "boot/initramfs-virt"},
                     {{".alpine-release", "3.19.1\n"}}),
             table);
  EXPECT_EQ(recipe.family, "alpine");
  EXPECT_EQ(recipe.kernel, "boot/vmlinuz-lts");
  EXPECT_THAT(recipe.initrds, ElementsAre("boot/initramfs-lts"));
  EXPECT_EQ(recipe.version, "3.19.1");
}

// The real memtest86+ binary, when Debian's memtest86+ package is installed.
TEST(DetectTest, RealMemtestBinaryNamesItsVersion) {
  const std::filesystem::path efi = "/boot/memtest86+x64.efi";
  if (!std::filesystem::exists(efi)) GTEST_SKIP() << efi << " is missing (package memtest86+)";
  std::ifstream in(efi, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BootRecipe recipe = Detect(Listing({"boot/floppy.img"}, {{"EFI/BOOT/bootx64.efi", bytes}}));
  EXPECT_EQ(recipe.family, "memtest86+");
  EXPECT_EQ(recipe.efi_kernel, "EFI/BOOT/bootx64.efi");
  EXPECT_THAT(recipe.version, ::testing::MatchesRegex("[0-9]+\\.[0-9]+"));
}

TEST(SignaturesTest, FamiliesAreUniqueAndEveryOneHasAKernel) {
  std::vector<std::string> families;
  for (const Signature& signature : Signatures()) {
    families.push_back(std::string(signature.family));
    EXPECT_FALSE(signature.kernel.empty() && signature.efi_kernel.empty()) << signature.family;
  }
  std::vector<std::string> sorted = families;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_THAT(families,
              ::testing::IsSupersetOf({"debian-installer", "debian-live", "ubuntu", "anaconda",
                                       "arch", "systemrescue", "memtest86+"}));
}

struct GlobCase {
  std::string pattern;
  std::string path;
  bool match;
};

TEST(MatchGlobTest, Table) {
  std::vector<GlobCase> cases = {
      {"casper/vmlinuz", "casper/vmlinuz", true},
      {"casper/vmlinuz", "CASPER/VMLINUZ", true},
      {"casper/initrd*", "casper/initrd", true},
      {"casper/initrd*", "CASPER/INITRD.LZ", true},
      {"casper/initrd*", "casper/sub/initrd", false},
      {"*/repodata/repomd.xml", "BaseOS/repodata/repomd.xml", true},
      {"*/repodata/repomd.xml", "a/b/repodata/repomd.xml", false},
      {"*", "", true},
      {"*", "a/b", false},
      {"?", "", false},
      {"?", "/", false},
      {"a?c", "abc", true},
      {"a\\*c", "a*c", true},
      {"a\\*c", "abc", false},
      {"a\\", "a\\", true},
      {"vmlinuz", "vmlinuz-linux", false},
      {"", "", true},
      {"", "x", false},
  };
  for (const GlobCase& c : cases) {
    EXPECT_EQ(MatchGlob(c.pattern, c.path), c.match) << c.pattern << " vs " << c.path;
  }
}

struct VersionCase {
  std::string name;
  VersionFormat format;
  std::string text;
  std::string distro;
  std::string version;
};

TEST(ParseVersionFileTest, WellFormedAndMalformed) {
  std::vector<VersionCase> cases = {
      {"disk_info_debian", VersionFormat::kDiskInfo, std::string(kDebianInfo), "Debian GNU/Linux",
       "12.5.0"},
      {"disk_info_ubuntu", VersionFormat::kDiskInfo, std::string(kUbuntuInfo), "Ubuntu-Server",
       "24.04 LTS"},
      {"disk_info_mint", VersionFormat::kDiskInfo,
       "Linux Mint 21.3 \"Virginia\" - Release amd64 20240114", "Linux Mint", "21.3"},
      {"disk_info_no_version", VersionFormat::kDiskInfo, "Some Distro", "Some Distro", ""},
      {"disk_info_only_quotes", VersionFormat::kDiskInfo, "\"\"\"", "", ""},
      {"disk_info_second_line_ignored", VersionFormat::kDiskInfo, "X\n1.0", "X", ""},
      {"disk_info_empty", VersionFormat::kDiskInfo, "", "", ""},
      {"disk_info_nul", VersionFormat::kDiskInfo, std::string("A\0 2.0", 6), "A", "2.0"},
      {"treeinfo_rocky", VersionFormat::kTreeinfo, std::string(kRockyTreeinfo), "Rocky Linux",
       "9.3"},
      {"treeinfo_general_only", VersionFormat::kTreeinfo,
       "[general]\nfamily = Fedora\nversion = 40\n", "Fedora", "40"},
      {"treeinfo_product", VersionFormat::kTreeinfo,
       "[product]\r\nname = Red Hat Enterprise Linux\r\nversion = 8.9\r\n",
       "Red Hat Enterprise Linux", "8.9"},
      {"treeinfo_no_sections", VersionFormat::kTreeinfo, "version = 1\n", "", ""},
      {"treeinfo_garbage", VersionFormat::kTreeinfo, "[[[\n===\n[release\nname", "", ""},
      {"treeinfo_unsafe_value", VersionFormat::kTreeinfo,
       "[release]\nname = $(evil) `x`;\nversion = 9.3\"\n", "(evil) x", "9.3"},
      {"discinfo_number", VersionFormat::kDiscinfo, "1713000000.0\n40\nx86_64\n", "", "40"},
      {"discinfo_named", VersionFormat::kDiscinfo, "1.0\nRed Hat Enterprise Linux 9.3\n",
       "Red Hat Enterprise Linux", "9.3"},
      {"discinfo_one_line", VersionFormat::kDiscinfo, "1713000000.0", "", ""},
      {"first_line", VersionFormat::kFirstLine, "  2024.05.01 \r\nmore", "", "2024.05.01"},
      {"first_line_empty", VersionFormat::kFirstLine, "\n2", "", ""},
      {"none", VersionFormat::kNone, "1.0", "", ""},
  };
  for (const VersionCase& c : cases) {
    VersionInfo info = ParseVersionFile(c.format, c.text);
    EXPECT_EQ(info.distro, c.distro) << c.name;
    EXPECT_EQ(info.version, c.version) << c.name;
  }
}

TEST(ParseVersionFileTest, AfterMarker) {
  EXPECT_EQ(
      ParseVersionFile(VersionFormat::kAfterMarker, MemtestBinary("6.10"), "Memtest86+ v").version,
      "6.10");
  EXPECT_EQ(ParseVersionFile(VersionFormat::kAfterMarker, "Memtest86+ v", "Memtest86+ v").version,
            "");
  EXPECT_EQ(ParseVersionFile(VersionFormat::kAfterMarker, "nothing", "Memtest86+ v").version, "");
  EXPECT_EQ(ParseVersionFile(VersionFormat::kAfterMarker, "x", "").version, "");
  std::string long_version = "Memtest86+ v" + std::string(1000, '9');
  EXPECT_EQ(
      ParseVersionFile(VersionFormat::kAfterMarker, long_version, "Memtest86+ v").version.size(),
      kMaxVersionLength);
}

TEST(ParseVersionFileTest, LongTextIsBounded) {
  std::string text = "Name " + std::string(100000, '1');
  VersionInfo info = ParseVersionFile(VersionFormat::kDiskInfo, text);
  EXPECT_EQ(info.distro, "Name");
  EXPECT_EQ(info.version.size(), kMaxVersionLength);
}

// Overrides --------------------------------------------------------------

BootRecipe Detected(std::vector<std::string> paths) { return Detect(Listing(std::move(paths))); }

BootRecipe Ubuntu() {
  return Detected({"casper/vmlinuz", "casper/initrd", "casper/filesystem.squashfs"});
}

v1::BootProfile Profile() {
  v1::BootProfile profile;
  profile.set_name("p");
  profile.set_image("img");
  return profile;
}

TEST(ApplyOverridesTest, NothingSetKeepsTheRecipe) {
  absl::StatusOr<BootRecipe> recipe = ApplyOverrides(Ubuntu(), Profile());
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline, Ubuntu().cmdline);
  EXPECT_EQ(recipe->why, Ubuntu().why);
}

TEST(ApplyOverridesTest, KernelAndInitrdsReplace) {
  v1::BootProfile profile = Profile();
  profile.set_kernel("casper/hwe-vmlinuz");
  profile.add_initrds("casper/hwe-initrd");
  absl::StatusOr<BootRecipe> recipe = ApplyOverrides(Ubuntu(), profile);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->kernel, "casper/hwe-vmlinuz");
  EXPECT_EQ(recipe->efi_kernel, "casper/hwe-vmlinuz");
  EXPECT_THAT(recipe->initrds, ElementsAre("casper/hwe-initrd"));
  EXPECT_THAT(recipe->why, HasSubstr("profile 'p' set kernel, initrds"));
}

TEST(ApplyOverridesTest, CmdlineReplacesOrAppends) {
  struct {
    std::string cmdline;
    std::string want;
  } cases[] = {
      {"console=ttyS0", "console=ttyS0"},
      {"  console=ttyS0  ", "console=ttyS0"},
      {"+ quiet", Ubuntu().cmdline + " quiet"},
      {"+quiet splash", Ubuntu().cmdline + " quiet splash"},
      {"+", Ubuntu().cmdline},
  };
  for (const auto& c : cases) {
    v1::BootProfile profile = Profile();
    profile.set_cmdline(c.cmdline);
    absl::StatusOr<BootRecipe> recipe = ApplyOverrides(Ubuntu(), profile);
    ASSERT_TRUE(recipe.ok()) << recipe.status();
    EXPECT_EQ(recipe->cmdline, c.want) << c.cmdline;
  }
}

TEST(ApplyOverridesTest, AppendToAnEmptyCommandLine) {
  v1::BootProfile profile = Profile();
  profile.set_cmdline("+ console=ttyS0");
  absl::StatusOr<BootRecipe> recipe =
      ApplyOverrides(Detected({"install.amd/vmlinuz", "install.amd/initrd.gz"}), profile);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline, "console=ttyS0");
}

TEST(ApplyOverridesTest, AnswerFilesForTheirInstallers) {
  BootRecipe debian = Detected({"install.amd/vmlinuz", "install.amd/initrd.gz"});
  BootRecipe rocky = Detected({"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", ".treeinfo",
                               "BaseOS/repodata/repomd.xml"});
  BootRecipe netinst = Detected(
      {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/install.img", ".treeinfo"});

  v1::BootProfile preseed = Profile();
  preseed.set_preseed("http://{server}/preseed.cfg");
  absl::StatusOr<BootRecipe> recipe = ApplyOverrides(debian, preseed);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline, "auto=true priority=critical url=http://{server}/preseed.cfg");

  v1::BootProfile kickstart = Profile();
  kickstart.set_kickstart("http://198.18.0.1/ks.cfg");
  recipe = ApplyOverrides(rocky, kickstart);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline,
            "inst.repo=http://{server}/images/{name}/ inst.ks=http://198.18.0.1/ks.cfg");
  recipe = ApplyOverrides(netinst, kickstart);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_THAT(recipe->cmdline, HasSubstr(" inst.ks=http://198.18.0.1/ks.cfg"));

  v1::BootProfile autoinstall = Profile();
  autoinstall.set_autoinstall("http://{server}/seed/");
  recipe = ApplyOverrides(Ubuntu(), autoinstall);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline,
            Ubuntu().cmdline + " autoinstall ds=nocloud-net;s=http://{server}/seed/");
  EXPECT_THAT(recipe->why, HasSubstr("set autoinstall"));

  autoinstall.set_autoinstall("true");
  recipe = ApplyOverrides(Ubuntu(), autoinstall);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline, Ubuntu().cmdline + " autoinstall");
}

TEST(ApplyOverridesTest, AnswerFileAfterAReplacedCommandLine) {
  v1::BootProfile profile = Profile();
  profile.set_cmdline("ip=dhcp url=http://mirror/x.iso");
  profile.set_autoinstall("true");
  absl::StatusOr<BootRecipe> recipe = ApplyOverrides(Ubuntu(), profile);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->cmdline, "ip=dhcp url=http://mirror/x.iso autoinstall");
}

TEST(ApplyOverridesTest, Errors) {
  BootRecipe generic = Detected({"foo.txt"});
  BootRecipe memtest = Detect(Listing({}, {{"boot/memtest.bin", MemtestBinary("1")}}));
  struct {
    std::string name;
    BootRecipe recipe;
    v1::BootProfile profile;
    std::string error;
  } cases[] = {
      {"kickstart_on_ubuntu", Ubuntu(), Profile(),
       "kickstart is not for ubuntu (it takes autoinstall)"},
      {"preseed_on_memtest", memtest, Profile(),
       "preseed is not for memtest86+ (it takes no answer file"},
      {"preseed_without_image", BootRecipe{}, Profile(),
       "preseed is not for a kernel without an image"},
      {"two_answers", Ubuntu(), Profile(), "set one of preseed, kickstart and autoinstall"},
      {"url_with_space", Ubuntu(), Profile(), "autoinstall must be a URL without spaces"},
      {"url_with_newline", Ubuntu(), Profile(), "autoinstall must be a URL without spaces"},
      {"cmdline_on_sanboot", generic, Profile(), "booted whole"},
      {"initrds_on_sanboot", generic, Profile(), "set kernel too"},
  };
  cases[0].profile.set_kickstart("http://x/ks");
  cases[1].profile.set_preseed("http://x/p");
  cases[2].profile.set_preseed("http://x/p");
  cases[3].profile.set_preseed("http://x/p");
  cases[3].profile.set_autoinstall("http://x/s/");
  cases[4].profile.set_autoinstall("http://x/s/ quiet");
  cases[5].profile.set_autoinstall("http://x/s/\ninjected");
  cases[6].profile.set_cmdline("quiet");
  cases[7].profile.add_initrds("x");
  for (const auto& c : cases) {
    absl::StatusOr<BootRecipe> recipe = ApplyOverrides(c.recipe, c.profile);
    ASSERT_FALSE(recipe.ok()) << c.name;
    EXPECT_THAT(recipe.status().message(), HasSubstr(c.error)) << c.name;
    EXPECT_THAT(recipe.status().message(), HasSubstr("profile 'p'")) << c.name;
  }
}

TEST(ApplyOverridesTest, KernelTurnsSanbootIntoAKernelBoot) {
  v1::BootProfile profile = Profile();
  profile.set_kernel("boot/vmlinuz");
  profile.add_initrds("boot/initrd");
  profile.set_cmdline("quiet");
  absl::StatusOr<BootRecipe> recipe = ApplyOverrides(Detected({"foo.txt"}), profile);
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_FALSE(recipe->sanboot);
  EXPECT_EQ(recipe->kernel, "boot/vmlinuz");
  EXPECT_EQ(recipe->cmdline, "quiet");
}

TEST(FillPlaceholdersTest, ServerAndEncodedName) {
  BootRecipe recipe = Ubuntu();
  recipe.cmdline += " x={name}/{server}/{other}";
  BootRecipe filled = FillPlaceholders(recipe, "198.18.0.1:8080", "my image+1");
  EXPECT_EQ(
      filled.cmdline,
      "ip=dhcp cloud-config-url=/dev/null url=http://198.18.0.1:8080/images/my%20image%2B1.iso"
      " x=my%20image%2B1/198.18.0.1:8080/{other}");
  EXPECT_EQ(filled.kernel, recipe.kernel);
}

TEST(HttpAuthorityTest, PortOnlyWhenNot80) {
  EXPECT_EQ(HttpAuthority("198.18.0.1", 80), "198.18.0.1");
  EXPECT_EQ(HttpAuthority("198.18.0.1", 0), "198.18.0.1");
  EXPECT_EQ(HttpAuthority("198.18.0.1", 8080), "198.18.0.1:8080");
}

TEST(PercentEncodeTest, KeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e/f g", true), "a-b_c.d~e/f%20g");
  EXPECT_EQ(PercentEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(PercentEncode("\n\xff", false), "%0A%FF");
}

}  // namespace
}  // namespace stampede::catalog
