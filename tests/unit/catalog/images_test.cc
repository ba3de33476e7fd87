#include "control/catalog/images.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace stampede::catalog {
namespace {

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string(ci) == "true" || std::string(ci) == "1");
}

class ImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v xorriso >/dev/null 2>&1") != 0) {
      if (InCi()) FAIL() << "xorriso is missing (scripts/setup installs it)";
      GTEST_SKIP() << "xorriso is missing (scripts/setup installs it)";
    }
    char dir[] = "/tmp/stampede-images-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::filesystem::create_directories(dir_ + "/src/casper");
    std::filesystem::create_directories(dir_ + "/images");
    Write("src/casper/vmlinuz", std::string(70'000, 'k') + "end");
    Write("src/casper/initrd", "initrd bytes");
    Write("src/empty", "");
    std::filesystem::create_symlink("casper/vmlinuz", dir_ + "/src/kernel");
    std::filesystem::create_symlink("casper", dir_ + "/src/folder-link");
    ASSERT_EQ(Run("xorriso -as mkisofs -R -J -V LIVEVOL -o " + dir_ + "/images/live.iso " + dir_ +
                  "/src"),
              0);
    Write("images/broken.iso", std::string(100'000, 'x'));  // not ISO 9660
    Write("images/notes.txt", "not an image");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
  }
  static int Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
  }
  std::string Bytes(const v1::CatalogFile& file) {
    std::ifstream in(file.source(), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(file.offset()));
    std::string out(file.length(), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
  }

  std::string dir_;
};

TEST_F(ImagesTest, CataloguesEveryFileAsAnExtentOfItsImage) {
  absl::StatusOr<ImagesScan> scan = ScanImages(dir_ + "/images");
  ASSERT_TRUE(scan.ok()) << scan.status();
  ASSERT_EQ(scan->images.size(), 2u);  // broken.iso and live.iso, by name; notes.txt is no image
  const ImageStatus& broken = scan->images[0];
  EXPECT_EQ(broken.name, "broken");
  EXPECT_FALSE(broken.served);
  EXPECT_FALSE(broken.error.empty());
  const ImageStatus& live = scan->images[1];
  ASSERT_TRUE(live.served) << live.error;
  EXPECT_EQ(live.volume_id, "LIVEVOL");
  EXPECT_EQ(live.names_from, "rock_ridge");
  std::map<std::string, v1::CatalogFile> by_path;
  for (const v1::CatalogFile& file : scan->files) by_path[file.path()] = file;
  ASSERT_TRUE(by_path.contains("images/live.iso"));
  EXPECT_EQ(by_path["images/live.iso"].length(),
            std::filesystem::file_size(dir_ + "/images/live.iso"));
  EXPECT_EQ(Bytes(by_path["images/live/casper/vmlinuz"]), std::string(70'000, 'k') + "end");
  EXPECT_EQ(Bytes(by_path["images/live/casper/initrd"]), "initrd bytes");
  EXPECT_EQ(by_path["images/live/empty"].length(), 0u);
  // A symlink to a file serves the file; one to a folder is not followed.
  EXPECT_EQ(Bytes(by_path["images/live/kernel"]), std::string(70'000, 'k') + "end");
  for (const auto& [path, file] : by_path) EXPECT_EQ(path.find("folder-link"), std::string::npos);
  EXPECT_EQ(live.files, by_path.size() - 1);  // all but the whole image
  // Sorted, with the image's identity for the dataplane's check.
  for (size_t i = 1; i < scan->files.size(); ++i) {
    EXPECT_LT(scan->files[i - 1].path(), scan->files[i].path());
  }
  EXPECT_NE(by_path["images/live/casper/vmlinuz"].inode(), 0u);
}

TEST_F(ImagesTest, AMissingFolderIsAnError) {
  absl::StatusOr<ImagesScan> scan = ScanImages(dir_ + "/nowhere");
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.status().message().find("nowhere"), std::string::npos);
}

}  // namespace
}  // namespace stampede::catalog
