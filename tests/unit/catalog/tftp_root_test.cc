#include "control/catalog/tftp_root.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/tftp/message.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::catalog {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Paths(const TftpRootScan& scan) {
  std::vector<std::string> paths;
  for (const v1::CatalogFile& file : scan.files) paths.push_back(file.path());
  return paths;
}

// The problem reported for `path`, or "" when none was.
std::string ProblemOf(const TftpRootScan& scan, const std::string& path) {
  for (const ScanProblem& problem : scan.problems) {
    if (problem.path == path) return problem.what;
  }
  return "";
}

class TftpRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "stampede-tftp-root-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    root_ = pattern;
    char resolved[PATH_MAX];
    ASSERT_NE(realpath(root_.c_str(), resolved), nullptr);
    real_root_ = resolved;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(root_ / "locked", fs::perms::owner_all, ignored);
    fs::remove_all(root_, ignored);  // does not follow the symlinks
  }

  void Write(const std::string& path, const std::string& bytes) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path, std::ios::binary) << bytes;
  }

  // The tree of the brief: plain and empty files, nested folders, symlinks in
  // and out, special files, names requests cannot name, a case collision.
  void BuildTree() {
    Write("pxelinux.0", "pxe");
    Write("empty", "");
    Write("boot/grub/grub.cfg", "menuentry");
    Write("boot/BCD", "upper");
    Write("boot/bcd", "lower");
    Write("a\\b", "backslash");
    Write("..\\x", "climbs");
    Write("tab\tname", "control");
    fs::create_symlink("pxelinux.0", root_ / "link-inside");
    fs::create_directory_symlink("boot/grub", root_ / "grub-link");
    fs::create_symlink("/etc/passwd", root_ / "escape");
    fs::create_directory_symlink("/etc", root_ / "escape-dir");
    fs::create_symlink("../../../../../../../../etc/passwd", root_ / "boot/climb");
    fs::create_symlink("nothing-here", root_ / "dangling");
    fs::create_directory_symlink("..", root_ / "boot/loop");
    ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0644), 0) << std::strerror(errno);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string socket_path = (root_ / "socket").string();
    ASSERT_LT(socket_path.size(), sizeof(address.sun_path));
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    close(fd);
  }

  fs::path root_;
  std::string real_root_;
};

TEST_F(TftpRootTest, CataloguesRegularFilesSortedAndReportsTheRest) {
  BuildTree();
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("boot/BCD", "boot/bcd", "boot/grub/grub.cfg", "empty",
                                        "grub-link/grub.cfg", "link-inside", "pxelinux.0"));
  EXPECT_THAT(ProblemOf(*scan, "a\\\\b"), HasSubstr("read as 'a/b'"));
  EXPECT_THAT(ProblemOf(*scan, "..\\\\x"), HasSubstr("'..' part"));
  EXPECT_THAT(ProblemOf(*scan, "tab\\tname"), HasSubstr("control character"));
  EXPECT_THAT(ProblemOf(*scan, "escape"), HasSubstr("out of the root (to /etc/passwd)"));
  EXPECT_THAT(ProblemOf(*scan, "escape-dir"), HasSubstr("out of the root (to /etc)"));
  EXPECT_THAT(ProblemOf(*scan, "boot/climb"), HasSubstr("out of the root"));
  EXPECT_THAT(ProblemOf(*scan, "dangling"), HasSubstr("leads nowhere"));
  EXPECT_THAT(ProblemOf(*scan, "boot/loop"), HasSubstr("back to a folder above it"));
  EXPECT_THAT(ProblemOf(*scan, "fifo"), HasSubstr("not a regular file (fifo)"));
  EXPECT_THAT(ProblemOf(*scan, "socket"), HasSubstr("not a regular file (socket)"));
  EXPECT_EQ(scan->problems.size(), 10u);
}

TEST_F(TftpRootTest, FilesCarryTheirSourceAndIdentity) {
  BuildTree();
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false);
  ASSERT_TRUE(scan.ok()) << scan.status();
  for (const v1::CatalogFile& file : scan->files) {
    EXPECT_EQ(tftp::NormalisePath(file.path()), file.path());
    EXPECT_TRUE(file.source().starts_with(real_root_ + "/")) << file.source();
    EXPECT_EQ(file.offset(), 0u);
    struct stat st;
    ASSERT_EQ(stat(file.source().c_str(), &st), 0) << file.source();
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(file.length(), static_cast<uint64_t>(st.st_size)) << file.path();
    EXPECT_EQ(file.device(), static_cast<uint64_t>(st.st_dev));
    EXPECT_EQ(file.inode(), static_cast<uint64_t>(st.st_ino));
    EXPECT_EQ(file.mtime_ns(), st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
  }
  // A symlink is served from what it points at, not from the link.
  const v1::CatalogFile& link = scan->files[5];
  ASSERT_EQ(link.path(), "link-inside");
  EXPECT_EQ(link.source(), real_root_ + "/pxelinux.0");
  EXPECT_EQ(link.length(), 3u);
  EXPECT_EQ(scan->files[4].source(), real_root_ + "/boot/grub/grub.cfg");
  EXPECT_EQ(scan->files[3].length(), 0u);  // the empty file is served too
}

TEST_F(TftpRootTest, CaseInsensitiveKeepsTheFirstOfACollision) {
  BuildTree();
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), true);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("boot/BCD", "boot/grub/grub.cfg", "empty",
                                        "grub-link/grub.cfg", "link-inside", "pxelinux.0"));
  EXPECT_THAT(ProblemOf(*scan, "boot/bcd"),
              HasSubstr("same name ignoring case as 'boot/BCD', which is served"));
}

TEST_F(TftpRootTest, ACollisionNeedNotBeAdjacentInSortOrder) {
  Write("A/x", "1");
  Write("B", "2");
  Write("a/x", "3");
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), true);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("A/x", "B"));
  EXPECT_THAT(ProblemOf(*scan, "a/x"), HasSubstr("'A/x'"));
}

TEST_F(TftpRootTest, MissingRootIsAnErrorNamingIt) {
  std::string missing = (root_ / "not-there").string();
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(missing, false);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(scan.status().message(), HasSubstr("'" + missing + "' cannot be read"));
}

TEST_F(TftpRootTest, RootThatIsAFileIsAnError) {
  Write("file", "x");
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot((root_ / "file").string(), false);
  ASSERT_FALSE(scan.ok());
  EXPECT_THAT(scan.status().message(), HasSubstr("Not a directory"));
}

TEST_F(TftpRootTest, ARootThroughASymlinkIsServedFromWhereItIs) {
  Write("real/f", "x");
  fs::create_directory_symlink("real", root_ / "alias");
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot((root_ / "alias").string(), false);
  ASSERT_TRUE(scan.ok()) << scan.status();
  ASSERT_THAT(Paths(*scan), ElementsAre("f"));
  EXPECT_EQ(scan->files[0].source(), real_root_ + "/real/f");
}

TEST_F(TftpRootTest, StopsAtTheFileLimitAndSaysSo) {
  for (const char* name : {"a", "b", "c", "d"}) Write(name, name);
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false, {.max_files = 2});
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("a", "b"));
  ASSERT_EQ(scan->problems.size(), 1u);
  EXPECT_EQ(scan->problems[0].path, "c");
  EXPECT_THAT(scan->problems[0].what, HasSubstr("more than 2 files"));
}

TEST_F(TftpRootTest, StopsAtTheDepthLimitAndSaysSo) {
  Write("top", "0");
  Write("one/f", "1");
  Write("one/two/f", "2");
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false, {.max_depth = 1});
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("one/f", "top"));
  EXPECT_THAT(ProblemOf(*scan, "one/two"), HasSubstr("deeper than 1 levels"));
}

TEST_F(TftpRootTest, StopsAtTheEntryLimitAndSaysSo) {
  for (int i = 0; i < 5; ++i) fs::create_directory(root_ / ("d" + std::to_string(i)));
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false, {.max_entries = 3});
  ASSERT_TRUE(scan.ok()) << scan.status();
  ASSERT_EQ(scan->problems.size(), 1u);
  EXPECT_THAT(scan->problems[0].what, HasSubstr("stops after 3 entries"));
}

TEST_F(TftpRootTest, PathsLongerThanARequestAreSkipped) {
  std::string folder(200, 'd');
  Write(folder + "/" + std::string(54, 'f'), "fits");  // 255 bytes
  Write(folder + "/" + std::string(55, 'g'), "over");
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre(folder + "/" + std::string(54, 'f')));
  EXPECT_THAT(ProblemOf(*scan, folder + "/" + std::string(55, 'g')), HasSubstr("longer than 255"));
}

TEST_F(TftpRootTest, UnreadableFolderIsReportedAndSkipped) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads folders without read permission";
  Write("locked/secret", "x");
  Write("open", "y");
  fs::permissions(root_ / "locked", fs::perms::none);
  absl::StatusOr<TftpRootScan> scan = ScanTftpRoot(root_.string(), false);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(Paths(*scan), ElementsAre("open"));
  EXPECT_THAT(ProblemOf(*scan, "locked"), HasSubstr("cannot be read"));
}

}  // namespace
}  // namespace stampede::catalog
