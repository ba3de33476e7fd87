#include "dataplane/io/block_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/io/block_cache.h"
#include "dataplane/io/file_registry.h"
#include "gtest/gtest.h"

namespace stampede::io {
namespace {

class BlockReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/stampede-reader-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    memory_ = static_cast<std::byte*>(std::aligned_alloc(kCacheBlockBytes, 16 * kCacheBlockBytes));
  }
  void TearDown() override {
    std::free(memory_);
    std::system(("rm -rf " + dir_).c_str());
  }

  v1::CatalogFile Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0);
    v1::CatalogFile file;
    file.set_path(name);
    file.set_source(path);
    file.set_length(bytes.size());
    file.set_device(st.st_dev);
    file.set_inode(st.st_ino);
    file.set_mtime_ns(int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec);
    return file;
  }

  // Reads block `block` of `id` through the ring; returns the slot.
  uint32_t Load(BlockReader& reader, BlockCache& cache, uint32_t id, uint64_t block) {
    auto pin = cache.Acquire(BlockCache::Key(id, block));
    EXPECT_TRUE(pin && pin->load);
    reader.Queue(id, block, pin->slot);
    reader.Submit();
    // Bounded: a local file read completes in far less than 10^7 polls.
    for (int i = 0; i < 10'000'000 && cache.state(pin->slot) == BlockCache::State::kLoading; ++i) {
      reader.Reap();
    }
    return pin->slot;
  }

  std::string dir_;
  std::byte* memory_ = nullptr;
};

TEST_F(BlockReaderTest, ReadsBlocksIntoTheCache) {
  std::string content(150'000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 251);
  FileRegistry files;
  std::string why;
  uint32_t id = files.Open(Write("initrd", content), why);
  ASSERT_NE(id, FileRegistry::kNoFile) << why;
  BlockCache cache(memory_, 16 * kCacheBlockBytes);
  auto reader = BlockReader::Create(cache, files, 8);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (uint64_t block = 0; block < 3; ++block) {
    uint32_t slot = Load(**reader, cache, id, block);
    ASSERT_EQ(cache.state(slot), BlockCache::State::kReady);
    size_t offset = block * kCacheBlockBytes;
    size_t length = std::min<size_t>(kCacheBlockBytes, content.size() - offset);
    ASSERT_EQ(cache.length(slot), length);
    EXPECT_EQ(std::memcmp(cache.data(slot), content.data() + offset, length), 0) << block;
  }
  EXPECT_EQ((*reader)->reads(), 3u);
  EXPECT_EQ((*reader)->read_errors(), 0u);
}

TEST_F(BlockReaderTest, RegistryRefusesAChangedOrMissingFile) {
  FileRegistry files;
  std::string why;
  v1::CatalogFile file = Write("a", "old");
  file.set_mtime_ns(file.mtime_ns() + 1);
  EXPECT_EQ(files.Open(file, why), FileRegistry::kNoFile);
  EXPECT_NE(why.find("changed"), std::string::npos) << why;
  v1::CatalogFile gone = Write("b", "x");
  unlink(gone.source().c_str());
  EXPECT_EQ(files.Open(gone, why), FileRegistry::kNoFile);
  v1::CatalogFile same = Write("c", "y");
  uint32_t id = files.Open(same, why);
  EXPECT_EQ(files.Open(same, why), id);  // one id per version
}

// Generated files (menus) are read through io_uring like any other: from a
// sealed memfd holding the policy's bytes, one per distinct content.
TEST_F(BlockReaderTest, GeneratedContentIsReadLikeAFile) {
  FileRegistry files;
  std::string why;
  v1::CatalogFile menu;
  menu.set_path("pxelinux.cfg/default");
  menu.set_content("DEFAULT install\nLABEL install\n  LINUX linux\n");
  menu.set_length(menu.content().size());
  uint32_t id = files.Open(menu, why);
  ASSERT_NE(id, FileRegistry::kNoFile) << why;
  EXPECT_EQ(files.size(id), menu.content().size());
  EXPECT_EQ(fcntl(files.fd(id), F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
  v1::CatalogFile same = menu;
  same.set_path("pxelinux.cfg/01-02-00-5e-00-00-01");
  EXPECT_EQ(files.Open(same, why), id);  // same bytes, same id
  v1::CatalogFile other = menu;
  other.set_content("DEFAULT burn\n");
  other.set_length(other.content().size());
  uint32_t other_id = files.Open(other, why);
  EXPECT_NE(other_id, id);
  BlockCache cache(memory_, 16 * kCacheBlockBytes);
  auto reader = BlockReader::Create(cache, files, 8);
  ASSERT_TRUE(reader.ok()) << reader.status();
  uint32_t slot = Load(**reader, cache, id, 0);
  ASSERT_EQ(cache.state(slot), BlockCache::State::kReady);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(cache.data(slot)), cache.length(slot)),
            menu.content());
}

TEST_F(BlockReaderTest, AFileCutShortFailsTheBlockNotTheReader) {
  FileRegistry files;
  std::string why;
  uint32_t id = files.Open(Write("shrinks", std::string(100'000, 'z')), why);
  ASSERT_NE(id, FileRegistry::kNoFile);
  ASSERT_EQ(truncate((dir_ + "/shrinks").c_str(), 10), 0);
  BlockCache cache(memory_, 16 * kCacheBlockBytes);
  auto reader = BlockReader::Create(cache, files, 8);
  ASSERT_TRUE(reader.ok());
  uint32_t slot = Load(**reader, cache, id, 1);
  EXPECT_EQ(cache.state(slot), BlockCache::State::kFailed);
  EXPECT_EQ((*reader)->read_errors(), 1u);
}

}  // namespace
}  // namespace stampede::io
