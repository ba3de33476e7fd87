// cache_miss_bench: the TFTP cache-miss path, io_uring against pread, on the
// same disk file in the same run. A file of real bytes is written to a disk
// folder (not tmpfs: its pages are always in memory), its page cache is
// dropped (posix_fadvise DONTNEED) before every row, and 64 KiB blocks are
// read at random or sequential offsets by:
//   io_uring BlockReader  the dataplane's own reader as the TFTP worker runs
//                         it (registered cache buffers, fixed files, one
//                         submit per poll, completions reaped without
//                         waiting, 256 reads in flight) into a BlockCache
//   pread x1              one thread, synchronous: the peer (1.00x)
//   pread xN              N threads sharing the blocks, one read each at once
// Reported per row (median of --rounds): MB/s (10^6 bytes), IOPS and CPU
// seconds per GB (getrusage of the whole process: every thread, the kernel's
// io_uring workers included), user and system apart.
//
// The reader's loop sleeps for 20 us when a poll found nothing to reap and
// nothing to queue, where the dataplane's worker would go on serving packets:
// its CPU column is the reads' cost, not a busy poll's. The file is unlinked
// as soon as it is created (it is reached through /proc/self/fd), so it is
// gone when the process ends, however it ends.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "dataplane/io/block_cache.h"
#include "dataplane/io/block_reader.h"
#include "dataplane/io/file_registry.h"
#include "dataplane/policy/tables.h"

ABSL_FLAG(std::string, dir, "/var/tmp", "Disk folder for the file (not tmpfs)");
ABSL_FLAG(uint32_t, file_mb, 2048, "Size of the file, MiB (written once, real bytes)");
ABSL_FLAG(uint32_t, read_mb, 512, "Bytes each row reads, MiB");
ABSL_FLAG(uint32_t, rounds, 3, "Rounds of every row; rows report the median");
ABSL_FLAG(std::vector<std::string>, pread_threads, std::vector<std::string>({"1", "16"}),
          "pread rows: threads in each (the first is the peer)");
ABSL_FLAG(std::vector<std::string>, patterns, std::vector<std::string>({"random", "sequential"}),
          "Offsets: random (a shuffled subset of the file's blocks) and/or sequential");
ABSL_FLAG(std::vector<std::string>, depths, std::vector<std::string>({"256"}),
          "io_uring rows: reads in flight in each (256: the TFTP engine's kReadsInFlight)");
ABSL_FLAG(uint32_t, cache_mb, 128, "Block cache size (the dataplane's --tftp_cache_mb default)");
ABSL_FLAG(uint32_t, row_seconds, 30, "A row stops after this long (its rates stand)");
ABSL_FLAG(std::string, json, "", "Also write the rows as JSON to this file");

namespace stampede::perf {
namespace {

constexpr uint32_t kBlock = io::kCacheBlockBytes;
constexpr uint64_t kWordsPerBlock = kBlock / 8;
constexpr auto kIdleSleep = std::chrono::microseconds(20);
constexpr uint32_t kVerifyBlocks = 512;  // blocks checked again after an io_uring row

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// Every 8-byte word of the file is a function of its position: any block's
// first word says whether the right bytes arrived.
uint64_t Word(uint64_t block, uint64_t i) { return Mix(block * kWordsPerBlock + i + 1); }
bool BlockOk(const void* data, uint64_t block) {
  uint64_t first;
  std::memcpy(&first, data, 8);
  return first == Word(block, 0);
}

double Seconds(timeval t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }

struct Cpu {
  double user = 0, system = 0;
  static Cpu Now() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return {Seconds(r.ru_utime), Seconds(r.ru_stime)};
  }
};

struct Measure {
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  double wall_s = 0;
  double user_s = 0;
  double system_s = 0;
  uint64_t errors = 0;   // failed or short reads
  uint64_t checked = 0;  // blocks whose bytes were checked
  uint64_t wrong = 0;    // ... and were not the file's
  double resident_before = 0;
  uint32_t iou_workers = 0;  // io_uring worker threads alive at the row's end
  double Mbps() const { return wall_s > 0 ? double(bytes) / wall_s / 1e6 : 0; }
  double Iops() const { return wall_s > 0 ? double(blocks) / wall_s : 0; }
  double CpuPerGb() const { return bytes ? (user_s + system_s) / (double(bytes) / 1e9) : 0; }
  double UserPerGb() const { return bytes ? user_s / (double(bytes) / 1e9) : 0; }
  double SystemPerGb() const { return bytes ? system_s / (double(bytes) / 1e9) : 0; }
};

class TestFile {
 public:
  // Creates, unlinks and fills the file; nullptr (after saying why) on failure.
  static std::unique_ptr<TestFile> Create(const std::string& dir, uint64_t bytes);
  ~TestFile() {
    if (map_ != MAP_FAILED) munmap(map_, size_);
    if (fd_ >= 0) close(fd_);
  }
  // /proc/self/fd/N: a path that opens the unlinked file.
  std::string path() const { return absl::StrCat("/proc/self/fd/", fd_); }
  uint64_t size() const { return size_; }
  uint64_t blocks() const { return size_ / kBlock; }
  // Drops the file's pages from the page cache; the fraction still resident.
  double DropCache() const;
  double write_s = 0;

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  void* map_ = MAP_FAILED;
};

std::unique_ptr<TestFile> TestFile::Create(const std::string& dir, uint64_t bytes) {
  struct statvfs vfs {};
  if (statvfs(dir.c_str(), &vfs) == 0 &&
      uint64_t{vfs.f_bavail} * vfs.f_frsize < bytes + (uint64_t{1} << 30)) {
    std::fprintf(stderr, "cache_miss_bench: %s has less than %lu MiB + 1 GiB free\n", dir.c_str(),
                 static_cast<unsigned long>(bytes >> 20));
    return nullptr;
  }
  auto file = std::unique_ptr<TestFile>(new TestFile());
  std::string name = absl::StrCat(dir, "/stampede_cache_miss_", getpid(), ".bin");
  file->fd_ = open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (file->fd_ < 0) {
    std::fprintf(stderr, "cache_miss_bench: %s: %s\n", name.c_str(), strerror(errno));
    return nullptr;
  }
  unlink(name.c_str());
  file->size_ = bytes / kBlock * kBlock;
  auto start = std::chrono::steady_clock::now();
  constexpr uint64_t kChunkBlocks = 64;  // 4 MiB per write
  std::vector<uint64_t> chunk(kChunkBlocks * kWordsPerBlock);
  for (uint64_t b = 0; b < file->blocks() && !g_stop; b += kChunkBlocks) {
    uint64_t n = std::min(kChunkBlocks, file->blocks() - b);
    for (uint64_t k = 0; k < n; ++k) {
      for (uint64_t i = 0; i < kWordsPerBlock; ++i) chunk[k * kWordsPerBlock + i] = Word(b + k, i);
    }
    size_t length = n * kBlock, done = 0;
    while (done < length) {
      ssize_t w = pwrite(file->fd_, reinterpret_cast<const char*>(chunk.data()) + done,
                         length - done, static_cast<off_t>(b * kBlock + done));
      if (w <= 0) {
        std::fprintf(stderr, "cache_miss_bench: writing the file: %s\n", strerror(errno));
        return nullptr;
      }
      done += static_cast<size_t>(w);
    }
  }
  if (g_stop || fdatasync(file->fd_) != 0) return nullptr;
  file->write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Never touched: only for mincore (which pages are resident).
  file->map_ = mmap(nullptr, file->size_, PROT_READ, MAP_SHARED, file->fd_, 0);
  return file;
}

double TestFile::DropCache() const {
  fdatasync(fd_);
  posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  if (map_ == MAP_FAILED) return -1;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size_ + page - 1) / page);
  if (mincore(map_, size_, pages.data()) != 0) return -1;
  size_t resident = 0;
  for (unsigned char p : pages) resident += p & 1;
  return double(resident) / double(pages.size());
}

// Whether `dir` is in memory (tmpfs, ramfs): its pages are always cached.
bool InMemory(const std::string& dir) {
  struct statfs fs {};
  constexpr long kTmpfs = 0x01021994, kRamfs = 0x858458f6;
  return statfs(dir.c_str(), &fs) == 0 && (fs.f_type == kTmpfs || fs.f_type == kRamfs);
}

// The kernel's io_uring worker threads (iou-wrk-*) alive in this process:
// reads the kernel could not start without blocking were handed to them.
uint32_t IoUringWorkers() {
  uint32_t n = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    n += name.starts_with("iou-wrk") ? 1 : 0;
  }
  return n;
}

// The blocks a row reads: `count` of the file's, shuffled (random) or in order.
std::vector<uint64_t> Blocks(const TestFile& file, uint64_t count, bool random, uint64_t seed) {
  std::vector<uint64_t> all(file.blocks());
  std::iota(all.begin(), all.end(), 0);
  if (random) std::shuffle(all.begin(), all.end(), std::mt19937_64(seed));
  all.resize(std::min<uint64_t>(count, all.size()));
  return all;
}

// The dataplane's reader: the TFTP engine's way of using it (Acquire a
// block, Queue the read when it is a miss, one Submit per poll, Reap).
Measure ReadIoUring(const TestFile& file, const std::vector<uint64_t>& blocks, uint32_t depth,
                    std::byte* memory, size_t cache_bytes, bool& registered) {
  Measure m;
  io::FileRegistry files;
  v1::CatalogFile entry;
  entry.set_path("cache_miss.bin");
  entry.set_source(file.path());
  entry.set_length(file.size());
  struct stat st {};
  stat(file.path().c_str(), &st);
  policy::SetFileIdentity(st, entry);
  std::string why;
  uint32_t id = files.Open(entry, why);
  io::BlockCache cache(memory, cache_bytes);
  auto reader = id == io::FileRegistry::kNoFile
                    ? absl::StatusOr<std::unique_ptr<io::BlockReader>>(absl::InternalError(why))
                    : io::BlockReader::Create(cache, files, depth);
  if (!reader.ok()) {
    std::fprintf(stderr, "cache_miss_bench: io_uring: %s\n",
                 std::string(reader.status().message()).c_str());
    m.errors = 1;
    return m;
  }
  registered = (*reader)->registered_buffers();
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_row_seconds));
  Cpu cpu0 = Cpu::Now();
  auto start = std::chrono::steady_clock::now();
  uint64_t base = cache.completions(), hits = 0;
  size_t next = 0;
  while (!g_stop) {
    uint32_t reaped = (*reader)->Reap();
    uint64_t done = cache.completions() - base + hits;
    if (done >= blocks.size() || (next == done && std::chrono::steady_clock::now() > deadline)) {
      break;
    }
    bool queued = false;
    while (next < blocks.size() && (*reader)->HasRoom() &&
           std::chrono::steady_clock::now() < deadline) {
      std::optional<io::BlockCache::Pin> pin = cache.Acquire(io::BlockCache::Key(id, blocks[next]));
      if (!pin) break;  // every way of the set is loading: after the next reap
      ++next;
      if (!pin->load) {
        cache.Release(pin->slot);
        ++hits;
        continue;
      }
      (*reader)->Queue(id, blocks[next - 1], pin->slot);
      queued = true;
    }
    (*reader)->Submit();
    if (reaped == 0 && !queued) std::this_thread::sleep_for(kIdleSleep);
  }
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Cpu cpu1 = Cpu::Now();
  m.user_s = cpu1.user - cpu0.user;
  m.system_s = cpu1.system - cpu0.system;
  m.blocks = cache.completions() - base + hits - (*reader)->read_errors();
  m.bytes = m.blocks * kBlock;
  m.errors = (*reader)->read_errors();
  m.iou_workers = IoUringWorkers();
  // The last blocks read are still in the cache: their bytes must be the file's.
  for (size_t i = next > kVerifyBlocks ? next - kVerifyBlocks : 0; i < next; ++i) {
    std::optional<io::BlockCache::Pin> pin = cache.Acquire(io::BlockCache::Key(id, blocks[i]));
    if (!pin) continue;
    if (pin->load) {
      cache.Abandon(pin->slot);  // evicted since
      continue;
    }
    if (pin->state == io::BlockCache::State::kReady) {
      ++m.checked;
      m.wrong += BlockOk(cache.data(pin->slot), blocks[i]) ? 0 : 1;
    }
    cache.Release(pin->slot);
  }
  reader->reset();  // waits for reads still in flight (none after a full row)
  return m;
}

// `threads` threads taking the next block from a shared counter, each with
// its own 64 KiB buffer; one descriptor (one readahead state) for all.
Measure ReadPread(const TestFile& file, const std::vector<uint64_t>& blocks, uint32_t threads) {
  Measure m;
  int fd = open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    m.errors = 1;
    return m;
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> read{0}, errors{0}, wrong{0};
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_row_seconds));
  auto work = [&] {
    std::unique_ptr<std::byte, decltype(&std::free)> buffer(
        static_cast<std::byte*>(std::aligned_alloc(4096, kBlock)), &std::free);
    while (!g_stop && std::chrono::steady_clock::now() < deadline) {
      size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= blocks.size()) break;
      off_t offset = static_cast<off_t>(blocks[i] * kBlock);
      ssize_t n = pread(fd, buffer.get(), kBlock, offset);
      if (n != static_cast<ssize_t>(kBlock)) {
        errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      read.fetch_add(1, std::memory_order_relaxed);
      if (!BlockOk(buffer.get(), blocks[i])) wrong.fetch_add(1, std::memory_order_relaxed);
    }
  };
  Cpu cpu0 = Cpu::Now();
  auto start = std::chrono::steady_clock::now();
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Cpu cpu1 = Cpu::Now();
  close(fd);
  m.user_s = cpu1.user - cpu0.user;
  m.system_s = cpu1.system - cpu0.system;
  m.blocks = read.load();
  m.bytes = m.blocks * kBlock;
  m.errors = errors.load();
  m.checked = m.blocks;
  m.wrong = wrong.load();
  return m;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Row {
  std::string pattern;
  std::string reader;
  uint32_t depth = 0;    // an io_uring row: reads in flight
  uint32_t threads = 0;  // a pread row: threads
  std::vector<Measure> runs;
  std::vector<double> All(double (Measure::*f)() const) const {
    std::vector<double> v;
    for (const Measure& m : runs) v.push_back((m.*f)());
    std::sort(v.begin(), v.end());
    return v;
  }
  double Med(double (Measure::*f)() const) const { return Median(All(f)); }
  template <typename F>
  uint64_t Sum(F f) const {
    uint64_t s = 0;
    for (const Measure& m : runs) s += f(m);
    return s;
  }
};

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Short sleeps stay short (the default slack is 50 us).
  prctl(PR_SET_TIMERSLACK, 1000UL);
  std::vector<uint32_t> threads, depths;
  for (const std::string& t : absl::GetFlag(FLAGS_pread_threads)) {
    uint32_t n = 0;
    if (absl::SimpleAtoi(t, &n) && n >= 1 && n <= 1024) threads.push_back(n);
  }
  for (const std::string& d : absl::GetFlag(FLAGS_depths)) {
    uint32_t n = 0;
    if (absl::SimpleAtoi(d, &n) && n >= 1 && n <= 4096) depths.push_back(n);
  }
  std::vector<std::string> patterns;
  for (const std::string& p : absl::GetFlag(FLAGS_patterns)) {
    if (p == "random" || p == "sequential") patterns.push_back(p);
  }
  if (threads.empty() || patterns.empty() || depths.empty()) {
    std::fprintf(stderr,
                 "cache_miss_bench: --pread_threads, --depths and --patterns need a value\n");
    return 2;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  uint64_t file_bytes = uint64_t{absl::GetFlag(FLAGS_file_mb)} << 20;
  uint64_t read_blocks = (uint64_t{absl::GetFlag(FLAGS_read_mb)} << 20) / kBlock;
  if (InMemory(dir)) {
    // Not this machine's fault: meson's exit code for a skipped test.
    std::printf(
        "SKIP: %s is in memory (tmpfs): its pages are always cached; give a disk "
        "folder (--dir)\n",
        dir.c_str());
    return 77;
  }
  std::unique_ptr<TestFile> file = TestFile::Create(dir, file_bytes);
  if (!file || file->blocks() == 0) return 2;
  size_t cache_bytes = size_t{absl::GetFlag(FLAGS_cache_mb)} << 20;
  // The cache's memory, touched once so the reader's registration pins it
  // (the dataplane's is hugepage memory; io_uring's registered reads do not
  // depend on the page size).
  std::unique_ptr<std::byte, decltype(&std::free)> memory(
      static_cast<std::byte*>(std::aligned_alloc(kBlock, cache_bytes)), &std::free);
  if (!memory) return 2;
  std::memset(memory.get(), 0, cache_bytes);

  std::vector<Row> rows;
  for (const std::string& p : patterns) {
    for (uint32_t d : depths) {
      rows.push_back({p, absl::StrCat("io_uring BlockReader (", d, " in flight)"), d, 0, {}});
    }
    for (uint32_t t : threads) rows.push_back({p, absl::StrCat("pread x", t), 0, t, {}});
  }
  bool registered = false;
  double resident_max = 0;
  uint32_t workers_max = 0;
  for (uint32_t round = 0; round < absl::GetFlag(FLAGS_rounds) && !g_stop; ++round) {
    for (Row& row : rows) {
      if (g_stop) break;
      std::vector<uint64_t> blocks = Blocks(*file, read_blocks, row.pattern == "random", round + 1);
      double resident = file->DropCache();
      resident_max = std::max(resident_max, resident);
      Measure m;
      m = row.depth > 0
              ? ReadIoUring(*file, blocks, row.depth, memory.get(), cache_bytes, registered)
              : ReadPread(*file, blocks, row.threads);
      m.resident_before = resident;
      workers_max = std::max(workers_max, m.iou_workers);
      row.runs.push_back(m);
    }
  }
  file->DropCache();

  std::printf(
      "\ncache_miss_bench: %lu MiB file in %s (written in %.1f s), %lu blocks of 64 KiB per row, "
      "median of %u rounds; page cache dropped before each row (resident before: at most "
      "%.2f %%); io_uring registered buffers: %s, worker threads: up to %u\n",
      static_cast<unsigned long>(file->size() >> 20), dir.c_str(), file->write_s,
      static_cast<unsigned long>(read_blocks), absl::GetFlag(FLAGS_rounds), resident_max * 100,
      registered ? "yes" : "no", workers_max);
  std::printf("%-11s %-38s %9s %15s %9s %9s %9s %9s %9s %9s %s\n", "pattern", "reader", "MB/s",
              "(min-max)", "IOPS", "CPU s/GB", "user", "sys", "MB/s vs", "CPU vs",
              "checked (wrong) errors");
  std::string json = absl::StrFormat(
      "{\"file_mb\":%u,\"dir\":\"%s\",\"block_bytes\":%u,\"blocks_per_row\":%u,\"rounds\":%u,"
      "\"depth\":%u,\"registered_buffers\":%s,\"iou_workers_max\":%u,\"resident_before_max\":%.4f,"
      "\"write_s\":%.2f,"
      "\"rows\":[",
      file->size() >> 20, dir, kBlock, read_blocks, absl::GetFlag(FLAGS_rounds), depths.front(),
      registered ? "true" : "false", workers_max, resident_max, file->write_s);
  bool complete = true;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    // The peer: the pattern's first pread row.
    const Row* peer = nullptr;
    for (const Row& p : rows) {
      if (!peer && p.pattern == r.pattern && p.threads > 0) peer = &p;
    }
    double mbps = r.Med(&Measure::Mbps), cpu = r.Med(&Measure::CpuPerGb);
    double peer_mbps = peer ? peer->Med(&Measure::Mbps) : 0;
    double peer_cpu = peer ? peer->Med(&Measure::CpuPerGb) : 0;
    double speed = peer_mbps > 0 ? mbps / peer_mbps : 0;
    double cost = peer_cpu > 0 ? cpu / peer_cpu : 0;
    uint64_t checked = r.Sum([](const Measure& m) { return m.checked; });
    uint64_t wrong = r.Sum([](const Measure& m) { return m.wrong; });
    uint64_t errors = r.Sum([](const Measure& m) { return m.errors; });
    uint64_t read = r.Sum([](const Measure& m) { return m.blocks; });
    complete = complete && read > 0 && wrong == 0 && errors == 0;
    std::vector<double> all = r.All(&Measure::Mbps);
    std::string spread = absl::StrFormat("(%.0f-%.0f)", all.front(), all.back());
    std::printf("%-11s %-38s %9.1f %15s %9.0f %9.3f %9.3f %9.3f %8.2fx %8.2fx %lu (%lu) %lu\n",
                r.pattern.c_str(), r.reader.c_str(), mbps, spread.c_str(), r.Med(&Measure::Iops),
                cpu, r.Med(&Measure::UserPerGb), r.Med(&Measure::SystemPerGb), speed, cost,
                static_cast<unsigned long>(checked), static_cast<unsigned long>(wrong),
                static_cast<unsigned long>(errors));
    json += absl::StrFormat(
        "%s{\"pattern\":\"%s\",\"reader\":\"%s\",\"mb_per_s\":%.2f,\"mb_per_s_min\":%.2f,"
        "\"mb_per_s_max\":%.2f,\"iops\":%.1f,"
        "\"cpu_s_per_gb\":%.4f,\"user_s_per_gb\":%.4f,\"system_s_per_gb\":%.4f,"
        "\"mb_per_s_vs_pread\":%.3f,\"cpu_vs_pread\":%.3f,\"checked\":%u,\"wrong\":%u,"
        "\"errors\":%u,\"runs\":%u}",
        i ? "," : "", r.pattern, r.reader, mbps, all.front(), all.back(), r.Med(&Measure::Iops),
        cpu, r.Med(&Measure::UserPerGb), r.Med(&Measure::SystemPerGb), speed, cost, checked, wrong,
        errors, r.runs.size());
  }
  json += "]}";
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) std::ofstream(path) << json;
  // Not a threshold: only wrong bytes or failed reads make the numbers void.
  if (!complete || g_stop) {
    std::fprintf(stderr, "cache_miss_bench: reads failed, bytes were wrong, or it was stopped\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) { return stampede::perf::Main(argc, argv); }
