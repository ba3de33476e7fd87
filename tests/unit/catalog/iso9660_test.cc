#include "control/catalog/iso9660.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stampede::catalog {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A missing tool or Debian package: a skip on a developer machine, a failure
// in CI (tests/integration/netlab.py's skip_or_fail).
bool InCi() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string value = absl::AsciiStrToLower(ci);
  return value == "1" || value == "true" || value == "yes";
}

#define REQUIRE_PREREQUISITE(ok, what)                                        \
  do {                                                                        \
    if (!(ok)) {                                                              \
      if (InCi()) FAIL() << "CI=true, prerequisites are mandatory: " << what; \
      GTEST_SKIP() << what << " (run scripts/setup)";                         \
    }                                                                         \
  } while (0)

bool HaveCommand(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Deterministic bytes that differ from sector to sector, so a wrong extent
// shows.
std::string Pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

std::string ContentThroughExtents(const std::function<std::string(uint64_t, uint64_t)>& read,
                                  const IsoFile& file) {
  std::string out;
  for (const Extent& e : file.extents) out += read(e.offset, e.length);
  return out;
}

std::string ContentOf(const fs::path& image, const IsoFile& file) {
  int fd = open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<cannot open image>";
  std::string out = ContentThroughExtents(
      [fd](uint64_t offset, uint64_t length) {
        std::string bytes(length, '\0');
        ssize_t n = pread(fd, bytes.data(), length, static_cast<off_t>(offset));
        if (n != static_cast<ssize_t>(length)) return std::string("<short read>");
        return bytes;
      },
      file);
  close(fd);
  return out;
}

const IsoFile* FindFile(const IsoImage& image, const std::string& path) {
  for (const IsoFile& file : image.files) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

std::vector<std::string> FilePaths(const IsoImage& image) {
  std::vector<std::string> paths;
  for (const IsoFile& file : image.files) paths.push_back(file.path);
  return paths;
}

std::string Warnings(const IsoImage& image) {
  std::string all;
  for (const std::string& w : image.warnings) all += w + "\n";
  return all;
}

// Every extent inside the image, files sorted and unique, sizes adding up.
void ExpectWellFormed(const IsoImage& image, uint64_t image_size) {
  for (size_t i = 0; i < image.files.size(); ++i) {
    const IsoFile& file = image.files[i];
    if (i > 0) {
      EXPECT_LT(image.files[i - 1].path, file.path);
    }
    uint64_t size = 0;
    for (const Extent& e : file.extents) {
      EXPECT_LE(e.offset + e.length, image_size) << file.path;
      EXPECT_GT(e.length, 0u) << file.path;
      size += e.length;
    }
    EXPECT_EQ(size, file.size) << file.path;
  }
  for (const BootImage& boot : image.boot_images) {
    EXPECT_LE(boot.offset + boot.length, image_size);
  }
}

// ---------------------------------------------------------------------------
// Images built by xorriso, checked against the source tree (the round trip:
// Parse(Build(tree)) == tree) and against osirrox's extraction of the same
// image.

class XorrisoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "stampede-iso-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    have_tools_ = HaveCommand("xorriso") && HaveCommand("osirrox");
  }
  void TearDown() override {
    // osirrox extracts read-only folders.
    std::system(("chmod -R u+rwX " + dir_.string() + " 2>/dev/null").c_str());
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs a shell command with its output in a log; the log on failure.
  ::testing::AssertionResult Run(const std::string& command) {
    fs::path log = dir_ / "command.log";
    int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
    if (status == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << command << " failed (" << status << "):\n"
                                         << ReadAll(log);
  }

  // The tree every image is made of. `rock_ridge` adds what only Rock Ridge
  // holds: symlinks, long and mixed-case names.
  void BuildTree(bool rock_ridge) {
    src_ = dir_ / "src";
    Put("README.txt", "hello\n");
    Put("empty", "");
    Put("boot/isolinux.bin", Pattern(5000, 1));
    Put("boot/efi.img", Pattern(100000, 2));
    Put("a/b/c/d/e/f/g/h/i/j/k/l/deep.txt", "deep\n");
    Put("data/two-sectors.bin", Pattern(4096, 3));
    Put("data/one-byte-more.bin", Pattern(2049, 4));
    if (!rock_ridge) return;
    Put("Mixed Case name.with.dots.txt", "mixed\n");
    Put(std::string(200, 'n') + ".txt", "long\n");
    Link("boot", "grub");
    Link("boot/isolinux.bin", "link");
    Link("../README.txt", "a/up");
    Link("grub/isolinux.bin", "via");
    Link(".", "debian");
    Link("/boot/efi.img", "abs-in");
    Link("/etc/passwd", "escape");
    Link("../../etc/passwd", "climb");
    Link("loop2", "loop1");
    Link("loop1", "loop2");
    Link("nothing-here", "dangling");
  }
  void Put(const std::string& path, const std::string& bytes) {
    WriteAll(src_ / path, bytes);
    source_[path] = bytes;
  }
  void Link(const std::string& target, const std::string& path) {
    fs::create_symlink(target, src_ / path);
  }

  // Makes `name`.iso of the tree with `options`, every mtime set first.
  fs::path MakeIso(const std::string& name, const std::string& options) {
    fs::path iso = dir_ / (name + ".iso");
    EXPECT_TRUE(Run("find " + src_.string() + " -exec touch -h -d @1600000000 {} +"));
    EXPECT_TRUE(
        Run("xorriso -as mkisofs " + options + " -o " + iso.string() + " " + src_.string()));
    return iso;
  }

  absl::StatusOr<IsoImage> Parse(const fs::path& iso) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<IsoImage> image = ReadIsoFile(iso.string());
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (image.ok()) {
      std::cout << "[   INFO   ] " << iso.filename().string() << ": " << image->files.size()
                << " files, " << image->symlinks.size() << " symlinks, "
                << image->boot_images.size() << " boot images, names from " << image->names_from
                << ", parsed in " << ms << " ms\n";
      ExpectWellFormed(*image, fs::file_size(iso));
    }
    return image;
  }

  // Every file equals its source; the image holds exactly the source's files.
  void ExpectSameAsSource(const fs::path& iso, const IsoImage& image) {
    std::vector<std::string> expected;
    for (const auto& [path, bytes] : source_) expected.push_back(path);
    EXPECT_EQ(FilePaths(image), expected);
    for (const IsoFile& file : image.files) {
      auto it = source_.find(file.path);
      if (it == source_.end()) continue;
      EXPECT_EQ(file.size, it->second.size()) << file.path;
      EXPECT_TRUE(ContentOf(iso, file) == it->second) << file.path << " differs from its source";
    }
  }

  // osirrox's extraction: the same regular files with the same bytes; each
  // relative symlink kept exactly when it resolves inside the extraction.
  void ExpectSameAsOsirrox(const fs::path& iso, const IsoImage& image) {
    fs::path out = dir_ / ("extract-" + iso.stem().string());
    ASSERT_TRUE(Run("osirrox -indev " + iso.string() + " -extract / " + out.string()));
    fs::path root = fs::canonical(out);
    std::map<std::string, const IsoFile*> ours;
    for (const IsoFile& file : image.files) ours[file.path] = &file;
    std::map<std::string, std::string> our_links;
    for (const IsoSymlink& link : image.symlinks) our_links[link.path] = link.target;
    size_t files = 0;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(out)) {
      std::string path = entry.path().lexically_relative(out).string();
      if (entry.is_symlink()) {
        std::string target = fs::read_symlink(entry.path()).string();
        if (!target.empty() && target[0] == '/') continue;  // names the host; see RockRidge
        std::error_code error;
        fs::path resolved = fs::canonical(entry.path(), error);
        std::string rel = error ? "" : resolved.lexically_relative(root).string();
        bool inside = !error && rel.rfind("..", 0) != 0;
        if (inside) {
          EXPECT_EQ(our_links[path], rel) << path;
        } else {
          EXPECT_EQ(our_links.count(path), 0u) << path << " leads out of the image";
        }
      } else if (entry.is_regular_file()) {
        ++files;
        auto it = ours.find(path);
        if (it == ours.end()) {
          ADD_FAILURE() << path << " extracted by osirrox but not listed";
          continue;
        }
        EXPECT_TRUE(ContentOf(iso, *it->second) == ReadAll(entry.path()))
            << path << " differs from osirrox's extraction";
      }
    }
    EXPECT_EQ(files, image.files.size());
  }

  // El Torito entries as xorriso reports them.
  struct XorrisoBoot {
    std::string platform;
    std::string emulation;
    uint64_t load_sectors;
    uint64_t lba;
    std::string path;
  };
  std::vector<XorrisoBoot> XorrisoBootImages(const fs::path& iso) {
    EXPECT_TRUE(Run("xorriso -indev " + iso.string() + " -report_el_torito plain"));
    std::vector<XorrisoBoot> boots;
    std::istringstream report(ReadAll(dir_ / "command.log"));
    for (std::string line; std::getline(report, line);) {
      std::istringstream words(line.substr(std::min(line.size(), size_t{20})));
      if (line.rfind("El Torito boot img :", 0) == 0) {
        XorrisoBoot b;
        std::string n, bootable, segment, hdpt;
        words >> n >> b.platform >> bootable >> b.emulation >> segment >> hdpt >> b.load_sectors >>
            b.lba;
        boots.push_back(b);
      } else if (line.rfind("El Torito img path :", 0) == 0) {
        size_t n = 0;
        std::string path;
        words >> n >> path;
        if (n >= 1 && n <= boots.size()) boots[n - 1].path = path.substr(1);
      }
    }
    return boots;
  }

  void ExpectBootImagesAsXorriso(const fs::path& iso, const IsoImage& image) {
    std::vector<XorrisoBoot> expected = XorrisoBootImages(iso);
    ASSERT_EQ(image.boot_images.size(), expected.size()) << ReadAll(dir_ / "command.log");
    for (size_t i = 0; i < expected.size(); ++i) {
      const BootImage& boot = image.boot_images[i];
      const XorrisoBoot& x = expected[i];
      EXPECT_EQ(boot.platform, x.platform == "BIOS"   ? BootImage::Platform::kBios
                               : x.platform == "UEFI" ? BootImage::Platform::kEfi
                                                      : BootImage::Platform::kOther);
      EXPECT_EQ(boot.offset, x.lba * 2048);
      EXPECT_EQ(boot.path, x.path);
      uint64_t length = x.emulation == "fd1.4" ? 1474560 : x.load_sectors * 512;
      if (boot.platform == BootImage::Platform::kEfi && x.load_sectors <= 1 && !x.path.empty()) {
        length = FindFile(image, x.path)->size;
      }
      EXPECT_EQ(boot.length, length) << i;
    }
  }

  fs::path dir_;
  fs::path src_;
  std::map<std::string, std::string> source_;
  bool have_tools_ = false;
};

TEST_F(XorrisoTest, PlainLevel1And2KeepStoredNames) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(false);
  for (int level : {1, 2}) {
    fs::path iso = MakeIso("plain" + std::to_string(level),
                           "--norock -iso-level " + std::to_string(level) + " -V PLAIN");
    absl::StatusOr<IsoImage> image = Parse(iso);
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->names_from, "iso9660");
    EXPECT_EQ(image->volume_id, "PLAIN");
    EXPECT_THAT(image->warnings, IsEmpty());
    const IsoFile* readme = FindFile(*image, "README.TXT");
    ASSERT_NE(readme, nullptr) << testing::PrintToString(FilePaths(*image));
    EXPECT_EQ(ContentOf(iso, *readme), "hello\n");
    EXPECT_EQ(readme->mtime_s, 1600000000);
    ASSERT_NE(FindFile(*image, "A/B/C/D/E/F/G/H/I/J/K/L/DEEP.TXT"), nullptr);
    const IsoFile* empty = FindFile(*image, "EMPTY");
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(empty->size, 0u);
    EXPECT_THAT(empty->extents, IsEmpty());
    EXPECT_NE(FindFile(*image, level == 1 ? "DATA/ONE_BYTE.BIN" : "DATA/ONE_BYTE_MORE.BIN"),
              nullptr);
    ExpectSameAsOsirrox(iso, *image);
  }
}

TEST_F(XorrisoTest, JolietNamesAreTheSourceNames) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(false);
  Put("Ünïcödé – names €.txt", "utf-8\n");
  fs::path iso = MakeIso("joliet", "--norock -J -input-charset UTF-8");
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "joliet");
  EXPECT_THAT(image->warnings, IsEmpty());
  ExpectSameAsSource(iso, *image);
  ExpectSameAsOsirrox(iso, *image);
  for (const IsoFile& file : image->files) EXPECT_EQ(file.mtime_s, 1600000000) << file.path;
}

TEST_F(XorrisoTest, RockRidgeNamesAndSymlinksStayInside) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(true);
  fs::path iso = MakeIso("rock", "-R -J");
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "rock_ridge");
  ExpectSameAsSource(iso, *image);
  ExpectSameAsOsirrox(iso, *image);
  for (const IsoFile& file : image->files) EXPECT_EQ(file.mtime_s, 1600000000) << file.path;
  EXPECT_THAT(
      image->symlinks,
      ElementsAre(IsoSymlink{"a/up", "README.txt"}, IsoSymlink{"abs-in", "boot/efi.img"},
                  IsoSymlink{"debian", "."}, IsoSymlink{"grub", "boot"},
                  IsoSymlink{"link", "boot/isolinux.bin"}, IsoSymlink{"via", "boot/isolinux.bin"}));
  std::string warnings = Warnings(*image);
  EXPECT_THAT(warnings, HasSubstr("/escape: symlink to '/etc/passwd' leads to /etc, which is not"));
  EXPECT_THAT(warnings, HasSubstr("/climb: symlink to '../../etc/passwd' climbs above"));
  EXPECT_THAT(warnings, HasSubstr("/loop1: symlink to 'loop2' goes round symlinks in circles"));
  EXPECT_THAT(warnings, HasSubstr("/dangling: symlink to 'nothing-here' leads to /nothing-here"));
  EXPECT_EQ(image->warnings.size(), 5u) << warnings;
}

TEST_F(XorrisoTest, RelocatedDeepFoldersAreFollowed) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(false);
  // Folders past ECMA-119's 8 levels moved to rr_moved, reached through
  // RRIP CL records.
  fs::path iso = dir_ / "reloc.iso";
  ASSERT_TRUE(Run("find " + src_.string() + " -exec touch -h -d @1600000000 {} +"));
  ASSERT_TRUE(Run("xorriso -outdev " + iso.string() +
                  " -compliance deep_paths_off -rr_reloc_dir rr_moved -map " + src_.string() +
                  " /"));
  ASSERT_TRUE(Run("xorriso -read_fs norock -indev " + iso.string() + " -find /RR_MOVED"));
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "rock_ridge");
  EXPECT_THAT(image->warnings, IsEmpty());
  ExpectSameAsSource(iso, *image);
  ExpectSameAsOsirrox(iso, *image);
}

TEST_F(XorrisoTest, DepthAndFileLimitsLeaveTheRestOut) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(false);
  fs::path iso = MakeIso("limits", "-R");
  absl::StatusOr<IsoImage> deep = ReadIsoFile(iso.string(), IsoLimits{.max_depth = 3});
  ASSERT_TRUE(deep.ok()) << deep.status();
  EXPECT_EQ(FindFile(*deep, "a/b/c/d/e/f/g/h/i/j/k/l/deep.txt"), nullptr);
  EXPECT_NE(FindFile(*deep, "boot/efi.img"), nullptr);
  EXPECT_THAT(Warnings(*deep), HasSubstr("/a/b/c/d: folder deeper than 3 levels; not read"));

  absl::StatusOr<IsoImage> few = ReadIsoFile(iso.string(), IsoLimits{.max_files = 2});
  ASSERT_TRUE(few.ok()) << few.status();
  EXPECT_EQ(few->files.size(), 2u);
  EXPECT_THAT(Warnings(*few), HasSubstr("more than 2 files"));

  absl::StatusOr<IsoImage> small =
      ReadIsoFile(iso.string(), IsoLimits{.max_directory_bytes = 4 * 2048});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_THAT(Warnings(*small), HasSubstr("more than 8192 bytes of directories"));

  absl::StatusOr<IsoImage> quiet =
      ReadIsoFile(iso.string(), IsoLimits{.max_depth = 0, .max_warnings = 0});
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_THAT(quiet->warnings, ElementsAre(HasSubstr("more warnings left out")));
}

TEST_F(XorrisoTest, ElToritoBiosAndEfi) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  BuildTree(false);
  fs::path iso = MakeIso("boot",
                         "-R -J -b boot/isolinux.bin -no-emul-boot -boot-load-size 4 "
                         "-eltorito-alt-boot -e boot/efi.img -no-emul-boot");
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  ExpectBootImagesAsXorriso(iso, *image);
  ASSERT_EQ(image->boot_images.size(), 2u);
  const BootImage& bios = image->boot_images[0];
  EXPECT_EQ(bios.platform, BootImage::Platform::kBios);
  EXPECT_EQ(bios.path, "boot/isolinux.bin");
  EXPECT_EQ(bios.length, 4u * 512);
  EXPECT_EQ(bios.offset, FindFile(*image, "boot/isolinux.bin")->extents[0].offset);
  const BootImage& efi = image->boot_images[1];
  EXPECT_EQ(efi.platform, BootImage::Platform::kEfi);
  EXPECT_EQ(efi.path, "boot/efi.img");
  EXPECT_EQ(efi.length, (100000u + 511) / 512 * 512);
  ExpectSameAsOsirrox(iso, *image);

  // An EFI entry with a sector count of 0 or 1 (xorriso writes 0 for images
  // over 32 MiB) takes its length from the file at the same place.
  const IsoFile* catalog = FindFile(*image, "boot.catalog");
  ASSERT_NE(catalog, nullptr);
  // Entries: validation, initial (BIOS), section header (EFI), section entry.
  int fd = open(iso.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const char one[2] = {1, 0};
  ASSERT_EQ(pwrite(fd, one, 2, static_cast<off_t>(catalog->extents[0].offset + 3 * 32 + 6)), 2);
  close(fd);
  absl::StatusOr<IsoImage> patched = ReadIsoFile(iso.string());
  ASSERT_TRUE(patched.ok()) << patched.status();
  ASSERT_EQ(patched->boot_images.size(), 2u);
  EXPECT_EQ(patched->boot_images[1].length, 100000u);
  EXPECT_EQ(patched->boot_images[1].path, "boot/efi.img");
}

// A file over 4 GiB is stored as several extents (ECMA-119 6.5.1, 9.1.6
// bit 7). xorriso writes all 4.5 GB of it, which takes too long for a unit
// test (about 18 s here), but it writes the directories first: read the
// head of the image from a pipe, take the image's size from its primary
// volume descriptor, and check the records xorriso wrote. The bytes through
// several extents are checked on a synthetic image below.
TEST_F(XorrisoTest, MultiExtentRecordsOfAFileOver4GiB) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  src_ = dir_ / "src";
  fs::create_directories(src_);
  constexpr uint64_t kBig = 4500ull << 20;
  ASSERT_TRUE(Run("truncate -s " + std::to_string(kBig) + " " + (src_ / "big.img").string()));
  WriteAll(src_ / "small.txt", "small\n");
  std::string command = "xorriso -as mkisofs -iso-level 3 -R -J -o - " + src_.string() + " 2>" +
                        (dir_ / "xorriso.log").string();
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string head(1 << 20, '\0');
  size_t got = fread(head.data(), 1, head.size(), pipe);
  pclose(pipe);  // xorriso stops at the closed pipe
  ASSERT_EQ(got, head.size()) << ReadAll(dir_ / "xorriso.log");
  uint64_t image_size = 0;
  std::memcpy(&image_size, head.data() + 16 * 2048 + 80, 4);  // volume space size, LE
  image_size *= 2048;
  ASSERT_GT(image_size, kBig);
  // Reads past the head fail: the reader must not need the file data.
  ReadAt read = [&](uint64_t offset, std::span<std::byte> out) {
    if (offset > head.size() || out.size() > head.size() - offset) return false;
    std::memcpy(out.data(), head.data() + offset, out.size());
    return true;
  };
  absl::StatusOr<IsoImage> image = ReadIso(image_size, read);
  ASSERT_TRUE(image.ok()) << image.status();
  ExpectWellFormed(*image, image_size);
  EXPECT_EQ(image->names_from, "rock_ridge");
  EXPECT_THAT(FilePaths(*image), ElementsAre("big.img", "small.txt"));
  const IsoFile& big = image->files[0];
  EXPECT_EQ(big.size, kBig);
  ASSERT_EQ(big.extents.size(), 2u);
  EXPECT_EQ(big.extents[0].length, 0xFFFFF800u);  // 4 GiB less a block
  EXPECT_EQ(big.extents[1].offset, big.extents[0].offset + big.extents[0].length);
  EXPECT_EQ(big.extents[1].length, kBig - 0xFFFFF800u);
}

// The Debian packages' own ISOs: every file as osirrox extracts it, and the
// boot catalog as xorriso reports it.
TEST_F(XorrisoTest, DebianGrubRescueIso) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  fs::path iso = "/usr/lib/grub-rescue/grub-rescue-cdrom.iso";
  REQUIRE_PREREQUISITE(fs::exists(iso), iso.string() + " missing (package grub-rescue-pc)");
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "rock_ridge");
  EXPECT_THAT(image->warnings, IsEmpty());
  EXPECT_GT(image->files.size(), 100u);
  ExpectSameAsOsirrox(iso, *image);
  ExpectBootImagesAsXorriso(iso, *image);
  ASSERT_FALSE(image->boot_images.empty());
  EXPECT_EQ(image->boot_images[0].platform, BootImage::Platform::kBios);
  EXPECT_EQ(image->boot_images[0].path, "boot/grub/i386-pc/eltorito.img");
}

TEST_F(XorrisoTest, DebianMemtestIso) {
  REQUIRE_PREREQUISITE(have_tools_, "xorriso and osirrox are not installed");
  fs::path iso = "/usr/lib/memtest86+/memtest86+x64.iso";
  REQUIRE_PREREQUISITE(fs::exists(iso), iso.string() + " missing (package memtest86+)");
  absl::StatusOr<IsoImage> image = Parse(iso);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->warnings, IsEmpty());
  ExpectSameAsOsirrox(iso, *image);
  ExpectBootImagesAsXorriso(iso, *image);
  // A BIOS floppy image that is a file, and an EFI image in an appended
  // partition that no directory record names.
  ASSERT_EQ(image->boot_images.size(), 2u);
  EXPECT_EQ(image->boot_images[0].path, "boot/floppy.img");
  EXPECT_EQ(image->boot_images[0].length, 1474560u);
  EXPECT_EQ(image->boot_images[1].platform, BootImage::Platform::kEfi);
  EXPECT_EQ(image->boot_images[1].path, "");
}

TEST(ReadIsoFileTest, ErrorsNameThePath) {
  absl::StatusOr<IsoImage> missing = ReadIsoFile("/nonexistent/stampede.iso");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/stampede.iso: cannot open"));
  absl::StatusOr<IsoImage> folder = ReadIsoFile("/");
  EXPECT_FALSE(folder.ok());
  EXPECT_THAT(folder.status().message(), HasSubstr("/: not a file or block device"));
  absl::StatusOr<IsoImage> empty = ReadIsoFile("/dev/null");
  EXPECT_FALSE(empty.ok());
}

// ---------------------------------------------------------------------------
// Synthetic images: what xorriso will not write, and malformed input.

void Both16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v);
  s[at + 1] = static_cast<char>(v >> 8);
  s[at + 2] = static_cast<char>(v >> 8);
  s[at + 3] = static_cast<char>(v);
}

void Both32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    s[at + i] = static_cast<char>(v >> (8 * i));
    s[at + 7 - i] = static_cast<char>(v >> (8 * i));
  }
}

// SUSP / RRIP entries.
std::string Susp(std::string_view sig, std::string_view data) {
  std::string e(sig);
  e += static_cast<char>(4 + data.size());
  e += '\1';
  e += data;
  return e;
}
std::string Sp(uint8_t skip = 0) {
  return Susp("SP", std::string("\xBE\xEF", 2) + static_cast<char>(skip));
}
std::string Er() {
  std::string id = "RRIP_1991A";
  return Susp("ER", std::string{static_cast<char>(id.size()), 0, 0, 1} + id);
}
std::string Nm(std::string_view name, uint8_t flags = 0) {
  return Susp("NM", std::string(1, static_cast<char>(flags)) + std::string(name));
}
std::string Ce(uint32_t block, uint32_t offset, uint32_t length) {
  std::string data(24, '\0');
  Both32(data, 0, block);
  Both32(data, 8, offset);
  Both32(data, 16, length);
  return Susp("CE", data);
}
// SL with components: "/" root, "." current, ".." parent, else a name;
// flags 1: the link continues in the next SL entry.
std::string Sl(const std::vector<std::string>& parts, uint8_t flags_of_entry = 0) {
  std::string data(1, static_cast<char>(flags_of_entry));
  for (const std::string& part : parts) {
    uint8_t flags = part == "/" ? 0x08 : part == "." ? 0x02 : part == ".." ? 0x04 : 0;
    std::string content = flags ? "" : part;
    data += static_cast<char>(flags);
    data += static_cast<char>(content.size());
    data += content;
  }
  return Susp("SL", data);
}
std::string Px(uint32_t mode) {
  std::string data(32, '\0');
  Both32(data, 0, mode);
  Both32(data, 8, 1);
  return Susp("PX", data);
}

constexpr uint8_t kDir = 0x02;
constexpr uint8_t kMulti = 0x80;

std::string Record(std::string_view id, uint32_t lba, uint32_t size, uint8_t flags = 0,
                   std::string_view system_use = "") {
  size_t length = 33 + id.size() + (id.size() % 2 == 0 ? 1 : 0) + system_use.size();
  length += length % 2;
  std::string r(length, '\0');
  r[0] = static_cast<char>(length);
  Both32(r, 2, lba);
  Both32(r, 10, size);
  const char date[7] = {120, 1, 2, 3, 4, 5, 0};  // 2020-01-02 03:04:05 GMT
  std::memcpy(&r[18], date, 7);
  r[25] = static_cast<char>(flags);
  Both16(r, 28, 1);
  r[32] = static_cast<char>(id.size());
  std::memcpy(&r[33], id.data(), id.size());
  std::memcpy(&r[33 + id.size() + (id.size() % 2 == 0 ? 1 : 0)], system_use.data(),
              system_use.size());
  return r;
}
constexpr int64_t kRecordTime = 1577934245;

// A small image laid out by hand: descriptors from sector 16, the root
// folder at sector 19, "SUB" at 20, file data from 24.
//   16 PVD  17 terminator  18 free  19 /  20 /SUB  24 HELLO.TXT  25 SUB/A.TXT
class SyntheticIso {
 public:
  static constexpr uint32_t kRoot = 19;
  static constexpr uint32_t kSub = 20;
  static constexpr uint32_t kHello = 24;
  static constexpr uint32_t kA = 25;

  explicit SyntheticIso(std::string root_dot_su = "") : bytes(40 * 2048, '\0') {
    Descriptor(16, 1, kRoot, 2048);
    Descriptor(17, 255, 0, 0);
    root_dot_su_ = std::move(root_dot_su);
    Root({Record("HELLO.TXT;1", kHello, 5), Record("SUB", kSub, 2048, kDir)});
    Folder(kSub, kRoot, 2048, {Record("A.TXT;1", kA, 3)});
    Put(kHello * 2048, "hello");
    Put(kA * 2048, "abc");
  }

  void Descriptor(uint32_t sector, uint8_t type, uint32_t root, uint32_t root_size,
                  std::string_view escapes = "") {
    std::string vd(2048, '\0');
    vd[0] = static_cast<char>(type);
    std::memcpy(&vd[1], "CD001\1", 6);
    if (type == 1 || type == 2) {
      std::memset(&vd[40], ' ', 32);
      std::memcpy(&vd[40], "SYNTHETIC", 9);
      Both32(vd, 80, static_cast<uint32_t>(bytes.size() / 2048));
      std::memcpy(&vd[88], escapes.data(), escapes.size());
      Both16(vd, 120, 1);
      Both16(vd, 124, 1);
      Both16(vd, 128, 2048);
      std::string root_record = Record(std::string(1, '\0'), root, root_size, kDir);
      std::memcpy(&vd[156], root_record.data(), 34);
    }
    Put(uint64_t{sector} * 2048, vd);
  }

  // Writes "." and ".." and `records`, starting a new sector when one does
  // not fit (ECMA-119 6.8.1.1).
  void Folder(uint32_t sector, uint32_t parent, uint32_t size, std::vector<std::string> records,
              std::string_view dot_su = "") {
    records.insert(records.begin(), {Record(std::string(1, '\0'), sector, size, kDir, dot_su),
                                     Record(std::string(1, '\1'), parent, 2048, kDir)});
    uint64_t at = uint64_t{sector} * 2048;
    for (const std::string& r : records) {
      if (at % 2048 + r.size() > 2048) at = (at / 2048 + 1) * 2048;
      Put(at, r);
      at += r.size();
    }
  }
  void Root(std::vector<std::string> records, uint32_t size = 2048) {
    Folder(kRoot, kRoot, size, std::move(records), root_dot_su_);
  }

  void Put(uint64_t offset, std::string_view data) {
    if (bytes.size() < offset + data.size()) bytes.resize(offset + data.size());
    std::memcpy(&bytes[offset], data.data(), data.size());
  }
  // Offset of the first record named `id` in the folder at `sector`.
  size_t RecordAt(uint32_t sector, std::string_view id) const {
    size_t at = size_t{sector} * 2048;
    for (size_t pos = at; pos < at + 2048 && bytes[pos] != 0;
         pos += static_cast<uint8_t>(bytes[pos])) {
      if (std::string_view(&bytes[pos + 33], static_cast<uint8_t>(bytes[pos + 32])) == id) {
        return pos;
      }
    }
    ADD_FAILURE() << "no record " << id;
    return at;
  }

  absl::StatusOr<IsoImage> Read(const IsoLimits& limits = {}) const {
    ReadAt read = [this](uint64_t offset, std::span<std::byte> out) {
      if (offset > bytes.size() || out.size() > bytes.size() - offset) return false;
      std::memcpy(out.data(), bytes.data() + offset, out.size());
      return true;
    };
    absl::StatusOr<IsoImage> image = ReadIso(bytes.size(), read, limits);
    if (image.ok()) ExpectWellFormed(*image, bytes.size());
    return image;
  }
  std::string Content(const IsoFile& file) const {
    return ContentThroughExtents(
        [this](uint64_t offset, uint64_t length) { return bytes.substr(offset, length); }, file);
  }

  std::string bytes;

 private:
  std::string root_dot_su_;
};

std::string RockRidgeRoot() { return Sp() + Er(); }

TEST(SyntheticIsoTest, PlainImage) {
  SyntheticIso iso;
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->volume_id, "SYNTHETIC");
  EXPECT_EQ(image->names_from, "iso9660");
  EXPECT_THAT(image->warnings, IsEmpty());
  ASSERT_THAT(FilePaths(*image), ElementsAre("HELLO.TXT", "SUB/A.TXT"));
  EXPECT_EQ(iso.Content(image->files[0]), "hello");
  EXPECT_EQ(image->files[0].mtime_s, kRecordTime);
  EXPECT_EQ(iso.Content(image->files[1]), "abc");
}

TEST(SyntheticIsoTest, MultiExtentFileReadsInRecordOrder) {
  SyntheticIso iso;
  std::string bytes = Pattern(3 * 2048 + 100, 7);
  // Parts out of place order: sectors 30-31, then 27, then 33.
  iso.Put(30 * 2048, bytes.substr(0, 4096));
  iso.Put(27 * 2048, bytes.substr(4096, 2048));
  iso.Put(33 * 2048, bytes.substr(6144));
  iso.Root({Record("BIG.BIN;1", 30, 4096, kMulti), Record("BIG.BIN;1", 27, 2048, kMulti),
            Record("BIG.BIN;1", 33, 100), Record("HELLO.TXT;1", SyntheticIso::kHello, 5)});
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->warnings, IsEmpty());
  ASSERT_THAT(FilePaths(*image), ElementsAre("BIG.BIN", "HELLO.TXT"));
  const IsoFile& big = image->files[0];
  EXPECT_THAT(big.extents, ElementsAre(Extent{30 * 2048, 4096}, Extent{27 * 2048, 2048},
                                       Extent{33 * 2048, 100}));
  EXPECT_EQ(big.size, bytes.size());
  EXPECT_TRUE(iso.Content(big) == bytes);
}

TEST(SyntheticIsoTest, RecordsContinueInTheNextSector) {
  SyntheticIso iso;
  std::vector<std::string> records;
  for (int i = 0; i < 60; ++i) {
    records.push_back(Record("FILE" + std::to_string(100 + i) + ".TXT;1", SyntheticIso::kHello, 5));
  }
  iso.Descriptor(16, 1, SyntheticIso::kRoot, 2 * 2048);
  iso.Put(SyntheticIso::kSub * 2048, std::string(2048, '\0'));
  iso.Root(records, 2 * 2048);  // 46 bytes each: 43 in sector 19, the rest in 20
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->warnings, IsEmpty());
  EXPECT_EQ(image->files.size(), 60u);
  EXPECT_EQ(image->files.back().path, "FILE159.TXT");
}

TEST(SyntheticIsoTest, RockRidgeEntries) {
  SyntheticIso iso(RockRidgeRoot());
  // A name spread over two NM entries and a continuation area; a symlink
  // whose SL comes in two entries; a fifo; a hidden and an associated file.
  std::string more = Nm("-continued.txt");
  iso.Put(26 * 2048 + 100, more);
  iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0,
                   Px(0100644) + Nm("hello", 1) + Ce(26, 100, static_cast<uint32_t>(more.size()))),
            Record("LINK;1", 0, 0, 0, Px(0120777) + Sl({"sub"}, 1) + Sl({"a.txt"})),
            Record("FIFO;1", 0, 0, 0, Px(0010644) + Nm("fifo")),
            Record("HIDDEN;1", SyntheticIso::kA, 3, 0x01, Nm("hidden")),
            Record("HELLO.TXT;1", SyntheticIso::kA, 3, 0x04, Nm("resource-fork")),
            Record("SUB", SyntheticIso::kSub, 2048, kDir, Nm("sub"))});
  iso.Folder(SyntheticIso::kSub, SyntheticIso::kRoot, 2048,
             {Record("A.TXT;1", SyntheticIso::kA, 3, 0, Nm("a.txt"))});
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "rock_ridge");
  EXPECT_THAT(FilePaths(*image), ElementsAre("hello-continued.txt", "hidden", "sub/a.txt"));
  EXPECT_THAT(image->symlinks, ElementsAre(IsoSymlink{"LINK", "sub/a.txt"}));
  EXPECT_THAT(image->warnings, ElementsAre("/fifo: not a regular file (mode 010000); left out"));
}

// SP's LEN_SKP: SUSP entries of every other record start after that many
// bytes.
TEST(SyntheticIsoTest, RockRidgeSkipBytes) {
  SyntheticIso iso(Sp(4) + Er());
  iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, "SKIP" + Nm("hello.txt"))});
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(FilePaths(*image), ElementsAre("hello.txt"));
}

TEST(SyntheticIsoTest, JolietWhenNoRockRidge) {
  SyntheticIso iso;
  // Joliet tree: root at 21 with "hé.txt;1" in UCS-2 BE and a surrogate pair.
  iso.Descriptor(17, 2, 21, 2048, "%/E");
  iso.Descriptor(18, 255, 0, 0);
  std::string name(
      "\0h\0\xe9\0.\0t\0x\0t\xd8\x3d\xde\x00\0;\0"
      "1",
      20);
  iso.Folder(21, 21, 2048, {Record(name, SyntheticIso::kHello, 5)});
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->names_from, "joliet");
  EXPECT_THAT(FilePaths(*image), ElementsAre("h\xc3\xa9.txt\xf0\x9f\x98\x80"));
}

TEST(SyntheticIsoTest, ElToritoCatalog) {
  SyntheticIso iso;
  // Boot record at 17 naming the catalog at 26; terminator moves to 18.
  std::string boot(2048, '\0');
  std::memcpy(&boot[1], "CD001\1EL TORITO SPECIFICATION", 29);
  boot[0x47] = 26;
  iso.Put(17 * 2048, boot);
  iso.Descriptor(18, 255, 0, 0);
  std::string catalog(2048, '\0');
  catalog[0] = 1;  // validation entry, platform 0 (x86)
  catalog[30] = 0x55;
  catalog[31] = static_cast<char>(0xAA);
  uint16_t sum = 0;
  for (int i = 0; i < 32; i += 2) {
    sum = static_cast<uint16_t>(
        sum + (static_cast<uint8_t>(catalog[i]) | static_cast<uint8_t>(catalog[i + 1]) << 8));
  }
  uint16_t checksum = static_cast<uint16_t>(-sum);
  catalog[28] = static_cast<char>(checksum);
  catalog[29] = static_cast<char>(checksum >> 8);
  auto entry = [&](size_t at, uint16_t sectors, uint32_t rba) {
    catalog[at] = static_cast<char>(0x88);
    catalog[at + 6] = static_cast<char>(sectors);
    catalog[at + 7] = static_cast<char>(sectors >> 8);
    for (int i = 0; i < 4; ++i) catalog[at + 8 + i] = static_cast<char>(rba >> (8 * i));
  };
  entry(32, 4, 27);                       // initial: BIOS, 4 virtual sectors
  catalog[64] = static_cast<char>(0x91);  // final section header
  catalog[65] = static_cast<char>(0xEF);  // EFI
  catalog[66] = 2;                        // two entries
  entry(96, 1, 28);                       // EFI, sector count 1
  catalog[97] = 0x20;                     // with an extension entry
  catalog[128] = 0x44;                    // the extension
  entry(160, 0, 25);                      // EFI, count 0, no file there
  iso.Put(26 * 2048, catalog);
  iso.Root({Record("BOOT.CAT;1", 26, 2048), Record("ISOLINUX.BIN;1", 27, 2048),
            Record("EFI.IMG;1", 28, 3000)});
  absl::StatusOr<IsoImage> image = iso.Read();
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_EQ(image->boot_images.size(), 2u) << Warnings(*image);
  EXPECT_EQ(image->boot_images[0].platform, BootImage::Platform::kBios);
  EXPECT_EQ(image->boot_images[0].offset, 27u * 2048);
  EXPECT_EQ(image->boot_images[0].length, 2048u);
  EXPECT_EQ(image->boot_images[0].path, "ISOLINUX.BIN");
  EXPECT_EQ(image->boot_images[1].platform, BootImage::Platform::kEfi);
  EXPECT_EQ(image->boot_images[1].length, 3000u);
  EXPECT_EQ(image->boot_images[1].path, "EFI.IMG");
  EXPECT_THAT(image->warnings, ElementsAre("/: boot image at sector 25 has no length; left out"));

  // The table's checksum case.
  iso.bytes[26 * 2048 + 28] ^= 1;
  absl::StatusOr<IsoImage> bad = iso.Read();
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_THAT(bad->boot_images, IsEmpty());
  EXPECT_THAT(Warnings(*bad), HasSubstr("bad validation entry"));
}

TEST(SyntheticIsoTest, ReadFailureIsAnError) {
  SyntheticIso iso;
  ReadAt failing = [](uint64_t, std::span<std::byte>) { return false; };
  absl::StatusOr<IsoImage> image = ReadIso(iso.bytes.size(), failing);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(image.status().message(), HasSubstr("read of 2048 bytes at byte 32768 failed"));
}

// Malformed input: each case an error, or warnings and what is still listed.
struct MalformedCase {
  std::string name;
  std::function<void(SyntheticIso&)> mutate;
  std::string error;    // substring of the error; "" when the image reads
  std::string warning;  // substring of the warnings
  std::vector<std::string> files;
  bool rock_ridge = false;
};

void PatchByte(SyntheticIso& iso, size_t at, uint8_t value) {
  iso.bytes[at] = static_cast<char>(value);
}

std::vector<MalformedCase> MalformedCases() {
  const std::vector<std::string> both = {"HELLO.TXT", "SUB/A.TXT"};
  const std::vector<std::string> hello = {"HELLO.TXT"};
  const std::vector<std::string> a = {"SUB/A.TXT"};
  constexpr uint32_t kRoot = SyntheticIso::kRoot, kSub = SyntheticIso::kSub;
  return {
      {"truncated_pvd",
       [](SyntheticIso& iso) { iso.bytes.resize(16 * 2048 + 100); },
       "bytes end before the volume descriptor at sector 16",
       "",
       {}},
      {"empty", [](SyntheticIso& iso) { iso.bytes.clear(); }, "not an ISO 9660 image", "", {}},
      {"not_cd001",
       [](SyntheticIso& iso) { iso.Put(16 * 2048 + 1, "CD002"); },
       "sector 16 is not a volume descriptor",
       "",
       {}},
      {"pvd_bad_type",
       [](SyntheticIso& iso) { PatchByte(iso, 16 * 2048, 7); },
       "no primary volume descriptor",
       "",
       {}},
      {"extra_descriptor_bad_type",
       [](SyntheticIso& iso) {
         iso.Descriptor(17, 9, 0, 0);
         iso.Descriptor(18, 255, 0, 0);
       },
       "", "volume descriptor at sector 17 has unknown type 9; skipped", both},
      {"no_terminator", [](SyntheticIso& iso) { iso.Put(17 * 2048, std::string(2048, '\0')); }, "",
       "sector 17 is not a volume descriptor", both},
      {"descriptors_without_end",
       [](SyntheticIso& iso) {
         for (uint32_t s = 17; s < 90; ++s) iso.Descriptor(s, 3, 0, 0);
         iso.bytes.resize(101 * 2048);
         iso.Descriptor(16, 1, 100, 2048);
         iso.Folder(100, 100, 2048, {Record("HELLO.TXT;1", 95, 5)});
         iso.Put(95 * 2048, "hello");
       },
       "", "no volume descriptor terminator in 64 sectors from sector 16", hello},
      {"block_size_4096",
       [](SyntheticIso& iso) { Both16(iso.bytes, 16 * 2048 + 128, 4096); },
       "logical block size 4096",
       "",
       {}},
      {"root_not_a_folder",
       [](SyntheticIso& iso) { PatchByte(iso, 16 * 2048 + 156 + 25, 0); },
       "root directory record is not a directory's",
       "",
       {}},
      {"root_outside",
       [](SyntheticIso& iso) { Both32(iso.bytes, 16 * 2048 + 156 + 2, 1u << 30); },
       "root folder (2048 bytes at byte 2199023255552) is not inside the image",
       "",
       {}},
      {"record_past_sector",
       [](SyntheticIso& iso) {
         // Associated-file records (not listed) fill the root folder's
         // sector to byte 2040, where a record of 60 bytes starts.
         std::vector<std::string> records = {Record("HELLO.TXT;1", SyntheticIso::kHello, 5),
                                             Record("SUB", kSub, 2048, kDir)};
         size_t left = 2040 - 68 - records[0].size() - records[1].size();
         while (left > 0) {
           size_t length = left <= 254 ? left : std::min<size_t>(254, left - 38);
           records.push_back(Record("PAD;1", 0, 0, 0x04, std::string(length - 38, '\0')));
           left -= length;
         }
         iso.Root(records);
         PatchByte(iso, kRoot * 2048 + 2040, 60);
       },
       "", "directory record of 60 bytes at byte 2040 of the folder runs past its sector", both},
      {"record_too_short",
       [](SyntheticIso& iso) { PatchByte(iso, iso.RecordAt(kRoot, "HELLO.TXT;1"), 20); },
       "",
       "directory record of 20 bytes at byte 68 of the folder (34 at least)",
       {}},
      {"name_past_record",
       [](SyntheticIso& iso) { PatchByte(iso, iso.RecordAt(kRoot, "HELLO.TXT;1") + 32, 200); }, "",
       "name of 200 bytes in a directory record of 44", a},
      {"folder_contains_itself",
       [](SyntheticIso& iso) {
         iso.Folder(kSub, kRoot, 2048,
                    {Record("A.TXT;1", SyntheticIso::kA, 3), Record("LOOP", kSub, 2048, kDir),
                     Record("UP", kRoot, 2048, kDir)});
       },
       "", "/SUB/LOOP: folder at byte 40960 was read before (a folder loop)", both},
      {"folder_huge",
       [](SyntheticIso& iso) { Both32(iso.bytes, iso.RecordAt(kRoot, "SUB") + 10, 0xFFFFFFFF); },
       "", "/SUB: folder extent (4294967295 bytes at byte 40960) ends past the image", hello},
      {"extent_past_end",
       [](SyntheticIso& iso) { Both32(iso.bytes, iso.RecordAt(kRoot, "HELLO.TXT;1") + 2, 100000); },
       "", "/HELLO.TXT: extent of 5 bytes at byte 204800000 ends past the image", a},
      {"extent_straddles_end",
       [](SyntheticIso& iso) { Both32(iso.bytes, iso.RecordAt(kRoot, "HELLO.TXT;1") + 10, 40000); },
       "", "/HELLO.TXT: extent of 40000 bytes at byte 49152 ends past the image", a},
      {"duplicate_name",
       [](SyntheticIso& iso) {
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5),
                   Record("HELLO.TXT;1", SyntheticIso::kA, 3)});
       },
       "", "/HELLO.TXT: a second entry of the same name; left out", hello},
      {"multi_extent_without_end",
       [](SyntheticIso& iso) {
         iso.Root({Record("BIG.BIN;1", 30, 2048, kMulti),
                   Record("HELLO.TXT;1", SyntheticIso::kHello, 5)});
       },
       "", "/BIG.BIN: multi-extent file left out: a record of another name", hello},
      {"multi_extent_at_folder_end",
       [](SyntheticIso& iso) { iso.Root({Record("BIG.BIN;1", 30, 2048, kMulti)}); },
       "",
       "/BIG.BIN: multi-extent file left out: the folder ends",
       {}},
      {"multi_extent_overlap",
       [](SyntheticIso& iso) {
         iso.Root({Record("BIG.BIN;1", 30, 4096, kMulti), Record("BIG.BIN;1", 31, 100)});
       },
       "",
       "/BIG.BIN: extents overlap at byte 63488; left out",
       {}},
      {"interleaved",
       [](SyntheticIso& iso) { PatchByte(iso, iso.RecordAt(kRoot, "HELLO.TXT;1") + 26, 1); }, "",
       "/HELLO.TXT: interleaved file", a},
      {"name_with_slash",
       [](SyntheticIso& iso) {
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, Nm("../../etc/passwd"))});
       },
       "",
       "name with a '/'; left out",
       {},
       true},
      {"name_dot_dot",
       [](SyntheticIso& iso) {
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, Nm("..")),
                   Record("X;1", SyntheticIso::kHello, 5, 0, Nm("", 4))});
       },
       "",
       "name '..'; left out",
       {},
       true},
      {"ce_outside",
       [](SyntheticIso& iso) {
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0,
                          Nm("hello.txt") + Ce(1000000, 0, 100))});
       },
       "",
       "/HELLO.TXT: continuation area at byte 2048000000 is outside the image; ignored",
       {"hello.txt"},
       true},
      {"ce_past_block",
       [](SyntheticIso& iso) {
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0,
                          Nm("hello.txt") + Ce(26, 2000, 100))});
       },
       "",
       "continuation area (100 bytes at 2000) runs past its block; ignored",
       {"hello.txt"},
       true},
      {"ce_loop",
       [](SyntheticIso& iso) {
         iso.Put(26 * 2048, Ce(26, 0, 28));
         iso.Root(
             {Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, Nm("hello.txt") + Ce(26, 0, 28))});
       },
       "",
       "more than 16 continuation areas",
       {"hello.txt"},
       true},
      {"susp_entry_too_long",
       [](SyntheticIso& iso) {
         std::string nm = Nm("hello.txt");
         nm[2] = 100;
         iso.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, nm)});
       },
       "",
       "",
       {"HELLO.TXT"},
       true},
      {"relocated_folder_elsewhere",
       [](SyntheticIso& iso) {
         std::string cl(8, '\0');
         Both32(cl, 0, 1000000);
         iso.Root({Record("SUB;1", 0, 0, 0, Nm("sub") + Susp("CL", cl))});
       },
       "",
       "/sub: relocated folder at byte 2048000000 is outside the image",
       {},
       true},
      {"zisofs",
       [](SyntheticIso& iso) {
         iso.Root({Record(
             "HELLO.TXT;1", SyntheticIso::kHello, 5, 0,
             Nm("hello.txt") + Susp("ZF", std::string("pz\2\17", 4) + std::string(8, '\0')))});
       },
       "",
       "/hello.txt: zisofs-compressed (ZF)",
       {},
       true},
      {"empty_symlink",
       [](SyntheticIso& iso) { iso.Root({Record("L;1", 0, 0, 0, Nm("l") + Sl({}))}); },
       "",
       "/l: symlink to '' is empty; left out",
       {},
       true},
      {"joliet_odd_name",
       [](SyntheticIso& iso) {
         iso.Descriptor(17, 2, 21, 2048, "%/@");
         iso.Descriptor(18, 255, 0, 0);
         iso.Folder(21, 21, 2048,
                    {Record(std::string("\0a\0", 3), SyntheticIso::kHello, 5),
                     Record(std::string("\0b", 2), SyntheticIso::kHello, 5)});
       },
       "",
       "/: Joliet name of an odd number of bytes; left out",
       {"b"}},
      {"symlink_host_and_climb",
       [](SyntheticIso& iso) {
         iso.Root({Record("L1;1", 0, 0, 0, Nm("l1") + Sl({"..", "x"})),
                   Record("L2;1", 0, 0, 0, Nm("l2") + Sl({"/", "..", "x"})),
                   Record("L3;1", 0, 0, 0, Nm("l3") + Px(0120777))});
       },
       "",
       "/l3: symlink without a usable target (SL); left out",
       {},
       true},
  };
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, ErrorOrWarning) {
  const MalformedCase& c = GetParam();
  SyntheticIso iso(c.rock_ridge ? RockRidgeRoot() : "");
  c.mutate(iso);
  absl::StatusOr<IsoImage> image = iso.Read();
  if (!c.error.empty()) {
    ASSERT_FALSE(image.ok());
    EXPECT_THAT(image.status().message(), HasSubstr(c.error));
    return;
  }
  ASSERT_TRUE(image.ok()) << image.status();
  if (!c.warning.empty()) {
    EXPECT_THAT(Warnings(*image), HasSubstr(c.warning));
  }
  EXPECT_EQ(FilePaths(*image), c.files) << Warnings(*image);
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedTest, ::testing::ValuesIn(MalformedCases()),
                         [](const auto& info) { return info.param.name; });

// A cheap cousin of tests/fuzz/iso9660_fuzz.cc that runs in every build:
// byte flips in the descriptors, folders and a continuation area of a Rock
// Ridge image read or fail cleanly, and symlinks never climb.
TEST(SyntheticIsoTest, EveryByteFlipOfASmallImageIsSafe) {
  SyntheticIso base(RockRidgeRoot());
  base.Root({Record("HELLO.TXT;1", SyntheticIso::kHello, 5, 0, Nm("hello") + Ce(26, 0, 40)),
             Record("L;1", 0, 0, 0, Nm("l") + Sl({"sub", "a.txt"})),
             Record("SUB", SyntheticIso::kSub, 2048, kDir, Nm("sub"))});
  base.Put(26 * 2048, Nm("-more.txt") + Px(0100644));
  for (size_t sector : {16u, 19u, 20u, 26u}) {
    for (size_t i = 0; i < 200; ++i) {
      SyntheticIso iso = base;
      iso.bytes[sector * 2048 + i] ^= static_cast<char>(0xA5);
      absl::StatusOr<IsoImage> image = iso.Read();
      if (!image.ok()) continue;
      for (const IsoSymlink& link : image->symlinks) {
        EXPECT_EQ(link.target.find(".."), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace stampede::catalog
