#include "control/catalog/bootloaders.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::catalog {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

// A fake root where the packages' files would be.
class BootloadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/stampede-loaders-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    prefix_ = dir;
    Put("/usr/lib/PXELINUX/pxelinux.0", "pxe");
    Put("/usr/lib/syslinux/modules/bios/ldlinux.c32", "ld");
    Put("/usr/lib/syslinux/modules/bios/menu.c32", "menu");
    Put("/usr/lib/syslinux/modules/bios/README", "not a module");
    // Debian's packages often install links: the catalog serves the target.
    std::filesystem::create_symlink(prefix_ + "/usr/lib/syslinux/modules/bios/menu.c32",
                                    prefix_ + "/usr/lib/syslinux/modules/bios/vesamenu.c32");
  }
  void TearDown() override { std::filesystem::remove_all(prefix_); }

  void Put(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(prefix_ + path).parent_path());
    std::ofstream(prefix_ + path) << bytes;
  }

  static std::vector<std::string> Paths(const BootloaderScan& scan) {
    std::vector<std::string> paths;
    for (const v1::CatalogFile& file : scan.files) paths.push_back(file.path());
    return paths;
  }

  std::string prefix_;
};

TEST_F(BootloadersTest, ANamedBundleServesItsFilesAndModulesAtTheRoot) {
  absl::StatusOr<BootloaderScan> scan = ScanBootloaders({"pxelinux"}, prefix_);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("ldlinux.c32", "menu.c32", "pxelinux.0", "vesamenu.c32"));
  EXPECT_THAT(scan->bundles, ElementsAre("pxelinux"));
  const v1::CatalogFile& pxelinux = scan->files[2];
  EXPECT_EQ(pxelinux.source(),
            std::filesystem::canonical(prefix_ + "/usr/lib/PXELINUX/pxelinux.0"));
  EXPECT_EQ(pxelinux.length(), 3u);
  EXPECT_NE(pxelinux.inode(), 0u);
  EXPECT_EQ(scan->files[3].source(), scan->files[1].source());  // the link's target
}

TEST_F(BootloadersTest, LeftOutMeansEveryInstalledOneAndNotesTheOthers) {
  absl::StatusOr<BootloaderScan> scan = ScanBootloaders({}, prefix_);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(scan->bundles, ElementsAre("pxelinux"));
  ASSERT_EQ(scan->notes.size(), BootloaderBundles().size() - 1);
  EXPECT_THAT(scan->notes[0], HasSubstr("boot loader 'grub-efi' not served: "));
  EXPECT_THAT(scan->notes[0], HasSubstr("(install shim-signed and grub-efi-amd64-signed)"));
}

TEST_F(BootloadersTest, NamedButNotInstalledIsAnErrorSayingWhatToInstall) {
  absl::StatusOr<BootloaderScan> scan = ScanBootloaders({"pxelinux", "ipxe"}, prefix_);
  ASSERT_FALSE(scan.ok());
  EXPECT_THAT(std::string(scan.status().message()),
              HasSubstr("boot loader 'ipxe': " + prefix_ +
                        "/usr/lib/ipxe/undionly.kpxe is missing (install ipxe)"));
}

TEST_F(BootloadersTest, NoneAndUnknownNames) {
  absl::StatusOr<BootloaderScan> none = ScanBootloaders({"none"}, prefix_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->files.empty());
  absl::StatusOr<BootloaderScan> bad = ScanBootloaders({"syslinux"}, prefix_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "no boot loader named 'syslinux' (known: pxelinux, grub-efi, ipxe, memtest86+, or "
            "none alone)");
  EXPECT_FALSE(ScanBootloaders({"none", "pxelinux"}, prefix_).ok());
}

TEST_F(BootloadersTest, AFolderOrDanglingLinkIsNotAFile) {
  std::filesystem::remove(prefix_ + "/usr/lib/PXELINUX/pxelinux.0");
  std::filesystem::create_directories(prefix_ + "/usr/lib/PXELINUX/pxelinux.0");
  EXPECT_FALSE(ScanBootloaders({"pxelinux"}, prefix_).ok());
  std::filesystem::remove(prefix_ + "/usr/lib/PXELINUX/pxelinux.0");
  std::filesystem::create_symlink(prefix_ + "/nowhere", prefix_ + "/usr/lib/PXELINUX/pxelinux.0");
  EXPECT_FALSE(ScanBootloaders({"pxelinux"}, prefix_).ok());
}

// The table names files Debian 12's packages really install: checked on
// the machine scripts/setup prepared (CI), told apart from a bare one.
TEST(BootloaderTableTest, EveryRequiredFileIsWhereDebianInstallsIt) {
  bool ci = std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true";
  for (const BootloaderBundle& bundle : BootloaderBundles()) {
    for (const BootloaderFile& file : bundle.required) {
      if (!ci && !std::filesystem::exists(file.installed)) continue;
      EXPECT_TRUE(std::filesystem::is_regular_file(file.installed))
          << file.installed << " (" << bundle.packages << ")";
    }
  }
}

}  // namespace
}  // namespace stampede::catalog
