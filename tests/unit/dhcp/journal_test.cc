#include "dataplane/dhcp/journal.h"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dataplane/dhcp/journal_writer.h"
#include "gtest/gtest.h"

namespace stampede::dhcp {
namespace {

ClientKey Key(uint8_t n) {
  std::byte id[7] = {std::byte{1}, std::byte{2}, std::byte{0}, std::byte{0x5e},
                     std::byte{0}, std::byte{0}, std::byte{n}};
  return ClientKey::From(id);
}

std::vector<std::byte> File(const std::vector<JournalRecord>& records) {
  std::vector<std::byte> file(kJournalHeaderSize);
  std::memcpy(file.data(), kJournalMagic, kJournalHeaderSize);
  std::byte buffer[kMaxRecordSize];
  for (const JournalRecord& r : records) {
    size_t n = EncodeRecord(r, buffer);
    file.insert(file.end(), buffer, buffer + n);
  }
  return file;
}

std::vector<JournalRecord> Sample() {
  std::byte long_id[40];
  for (size_t i = 0; i < sizeof(long_id); ++i) long_id[i] = std::byte(i);
  return {{JournalKind::kGranted, 0xc6120064, 5000, Key(1)},
          {JournalKind::kGranted, 0xc6120065, 6000, ClientKey::From(long_id)},
          {JournalKind::kDeclined, 0xc6120066, 7000, Key(3)},
          {JournalKind::kReleased, 0xc6120064, 0, Key(1)},
          {JournalKind::kNextBootUsed, 2, 0x0200005e0001ULL, ClientKey{}}};
}

TEST(JournalTest, RoundTrips) {
  ReplayResult r = Replay(File(Sample()));
  ASSERT_TRUE(r.header_ok);
  EXPECT_EQ(r.records, Sample());
  EXPECT_EQ(r.skipped_bytes, 0u);
}

TEST(JournalTest, ATornTailKeepsEveryWholeRecordBeforeIt) {
  std::vector<std::byte> file = File(Sample());
  std::vector<size_t> ends = {kJournalHeaderSize};
  for (const JournalRecord& r : Sample()) {
    std::byte buffer[kMaxRecordSize];
    ends.push_back(ends.back() + EncodeRecord(r, buffer));
  }
  for (size_t n = kJournalHeaderSize; n <= file.size(); ++n) {
    ReplayResult r = Replay(std::span(file).first(n));
    size_t whole = std::upper_bound(ends.begin(), ends.end(), n) - ends.begin() - 1;
    ASSERT_EQ(r.records.size(), whole) << n;
    EXPECT_EQ(r.valid_bytes, ends[whole]) << n;
    EXPECT_EQ(r.skipped_bytes, n - ends[whole]) << n;
  }
}

TEST(JournalTest, ACorruptRecordEndsTheReplay) {
  std::vector<std::byte> file = File(Sample());
  file[kJournalHeaderSize + kRecordHeaderSize + 2] ^= std::byte{0x40};  // first record's body
  ReplayResult r = Replay(file);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.tail_reason, "record CRC mismatch");
  std::vector<std::byte> huge = File({});
  huge.insert(huge.end(), {std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{0},
                           std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}});
  EXPECT_EQ(Replay(huge).tail_reason, "record length out of range");
  std::vector<std::byte> foreign(100, std::byte{'x'});
  EXPECT_FALSE(Replay(foreign).header_ok);
}

// Zeros written ahead of the records end a journal cleanly; a torn record
// among them is still a torn tail.
TEST(JournalTest, AZeroTailIsTheCleanEnd) {
  std::vector<std::byte> file = File(Sample());
  size_t records_end = file.size();
  file.resize(records_end + 4096);
  ReplayResult r = Replay(file);
  EXPECT_EQ(r.records, Sample());
  EXPECT_EQ(r.valid_bytes, records_end);
  EXPECT_EQ(r.skipped_bytes, 0u);
  EXPECT_EQ(r.tail_reason, "");
  file[records_end + 100] = std::byte{1};  // not all zeros: a zero length
  r = Replay(file);
  EXPECT_EQ(r.records, Sample());
  EXPECT_EQ(r.skipped_bytes, 4096u);
  EXPECT_EQ(r.tail_reason, "malformed record");
  std::vector<std::byte> only_zeros = File({});
  only_zeros.resize(kJournalHeaderSize + 3);
  r = Replay(only_zeros);
  EXPECT_TRUE(r.header_ok);
  EXPECT_EQ(r.skipped_bytes, 0u);
}

TEST(JournalTest, RestoreAppliesTheLastWordAndDropsExpiredLeases) {
  LeaseTable table;
  Restore(Sample(), 5500, table);
  EXPECT_EQ(table.ByAddress(0xc6120064), nullptr);  // released
  ASSERT_NE(table.ByAddress(0xc6120065), nullptr);
  EXPECT_EQ(table.ByAddress(0xc6120065)->state, LeaseState::kBound);
  EXPECT_EQ(table.ByAddress(0xc6120066)->state, LeaseState::kDeclined);
  LeaseTable later;
  Restore(Sample(), 6500, later);
  EXPECT_EQ(later.ByAddress(0xc6120065), nullptr);  // expired
  std::vector<JournalRecord> snapshot = Snapshot(table, 5500);
  EXPECT_EQ(snapshot.size(), 2u);
}

class JournalWriterTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_ = absl::StrCat("/tmp/stampede-journal-test-", getpid());
  std::string path_ = dir_ + "/leases.journal";
};

// Polls the writer until `batch` settles (bounded).
bool WaitSettled(JournalWriter& w, uint64_t batch) {
  for (int i = 0; i < 5000; ++i) {
    w.Submit();
    w.Reap();
    if (w.settled() >= batch) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST_F(JournalWriterTest, GroupCommitsAndSurvivesAReopen) {
  LeaseTable table;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path_, 1000, table, stats);
  ASSERT_TRUE(writer.ok()) << writer.status();
  uint64_t first = (*writer)->Append({JournalKind::kGranted, 0xc6120064, 1'000'000, Key(1)});
  (*writer)->Submit();  // batch 1 in flight; the next records gather in batch 2
  uint64_t second = (*writer)->Append({JournalKind::kGranted, 0xc6120065, 1'000'000, Key(2)});
  uint64_t third = (*writer)->Append({JournalKind::kDeclined, 0xc6120066, 1'000'000, Key(3)});
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(second, 2u);
  EXPECT_EQ(third, 2u);  // one batch, one fdatasync
  ASSERT_TRUE(WaitSettled(**writer, 2));
  EXPECT_EQ((*writer)->durable(), 2u);
  EXPECT_TRUE((*writer)->healthy());
  EXPECT_EQ((*writer)->batches_written(), 2u);

  // A torn record after the last one (a crash mid-write, into the zeros
  // written ahead) is skipped, the rest restored.
  uint64_t records_end = (*writer)->file_bytes();
  uint64_t size = std::filesystem::file_size(path_);
  EXPECT_EQ(size, (*writer)->allocated_bytes());
  EXPECT_GE(size, records_end + kJournalPreallocateBytes / 2);  // /tmp is a disk here
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(records_end));
    file << std::string("\x30\0\0\0abc", 7);
  }
  writer->reset();
  LeaseTable restored;
  auto reopened = JournalWriter::Open(path_, 2000, restored, stats);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(stats.records_replayed, 3u);
  EXPECT_EQ(stats.tail_skipped_bytes, size - records_end);
  EXPECT_EQ(restored.size(), 3u);
  EXPECT_EQ(restored.ByAddress(0xc6120065)->client, Key(2));
  // Compacted on open: the torn bytes are gone.
  EXPECT_EQ(std::filesystem::file_size(path_), (*reopened)->file_bytes());
}

TEST_F(JournalWriterTest, UsedOneShotNextBootsSurviveAReopenAndCompaction) {
  LeaseTable table;
  NextBootUsed used;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path_, 1000, table, stats, &used);
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->Append({JournalKind::kGranted, 0xc6120064, 1'000'000, Key(1)});
  uint64_t batch =
      (*writer)->Append({JournalKind::kNextBootUsed, 3, 0x0200005e0001ULL, ClientKey{}});
  ASSERT_TRUE(WaitSettled(**writer, batch));
  writer->reset();
  for (int reopen = 0; reopen < 2; ++reopen) {  // the second reads the compacted file
    LeaseTable restored;
    NextBootUsed restored_used;
    auto again = JournalWriter::Open(path_, 2000, restored, stats, &restored_used);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(restored.size(), 1u);
    ASSERT_EQ(restored_used.size(), 1u) << reopen;
    EXPECT_EQ(restored_used[0x0200005e0001ULL], 3u);
    EXPECT_EQ(stats.next_boots_used, 1u);
  }
  // A next-boot record never becomes a lease.
  LeaseTable plain;
  Restore({{JournalKind::kNextBootUsed, 0xc6120064, 77, ClientKey{}}}, 0, plain);
  EXPECT_EQ(plain.size(), 0u);
}

// On tmpfs nothing needs syncing: a batch is written, and durable, when it
// is submitted, with no zeros ahead of it.
TEST(JournalWriterTmpfsTest, WritesABatchWhenSubmitted) {
  std::string path = absl::StrCat("/dev/shm/stampede-journal-test-", getpid());
  LeaseTable table;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path, 1000, table, stats);
  ASSERT_TRUE(writer.ok()) << writer.status();
  uint64_t batch = (*writer)->Append({JournalKind::kGranted, 0xc6120064, 1'000'000, Key(1)});
  (*writer)->Submit();
  EXPECT_EQ((*writer)->durable(), batch);
  EXPECT_TRUE((*writer)->idle());
  EXPECT_EQ(std::filesystem::file_size(path), (*writer)->file_bytes());
  writer->reset();
  LeaseTable restored;
  ASSERT_TRUE(JournalWriter::Open(path, 2000, restored, stats).ok());
  EXPECT_EQ(restored.size(), 1u);
  std::filesystem::remove(path);
}

// The kernel's helper threads that write and sync a batch stay off the CPU
// the submitting worker is bound to.
TEST_F(JournalWriterTest, HelperThreadsStayOffTheWorkersCpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    if (getenv("CI") != nullptr) FAIL() << "needs two CPUs";
    GTEST_SKIP() << "needs two CPUs";
  }
  std::string seen;
  std::thread worker([&] {
    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    ASSERT_EQ(sched_setaffinity(0, sizeof(cpu0), &cpu0), 0);
    LeaseTable table;
    JournalOpenStats stats;
    auto writer = JournalWriter::Open(path_, 1000, table, stats);
    ASSERT_TRUE(writer.ok()) << writer.status();
    uint64_t batch = 0;
    for (int i = 0; i < 20; ++i) {
      batch = (*writer)->Append({JournalKind::kGranted, 0xc6120064u + i, 1'000'000, Key(1)});
    }
    ASSERT_TRUE(WaitSettled(**writer, batch));
    EXPECT_TRUE((*writer)->helpers_off_cpu());
    // Which CPUs this thread's io-wq threads (named after it) may run on.
    std::string mine = absl::StrCat("iou-wrk-", gettid());
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name != mine) continue;
      std::ifstream status(task.path() / "status");
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("Cpus_allowed_list:", 0) == 0) seen += line.substr(18) + ";";
      }
    }
  });
  worker.join();
  ASSERT_FALSE(seen.empty()) << "no io-wq thread found";
  for (absl::string_view cpus : absl::StrSplit(seen, ';', absl::SkipEmpty())) {
    std::string list(absl::StripAsciiWhitespace(cpus));
    EXPECT_NE(list.substr(0, 1), "0") << list;  // CPU 0 would be listed first
  }
}

// Waits (bounded) until no compaction runs.
bool WaitCompacted(JournalWriter& w) {
  for (int i = 0; i < 5000 && w.compacting(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return !w.compacting();
}

// Past the rotation size the appends move on to segments and a thread folds
// the rest into the base: the files stay the size of the live leases, and a
// listing or a reopen sees every lease with its last word.
TEST_F(JournalWriterTest, RotatesAndCompactsWhileAppending) {
  LeaseTable table;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path_, 1000, table, stats);
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->SetRotateBytes(4096);
  (*writer)->SetClock([] { return uint64_t{2000}; });
  constexpr int kClients = 50, kRounds = 40;  // 2000 records, 50 live leases
  for (int round = 0; round < kRounds; ++round) {
    uint64_t batch = 0;
    for (int c = 0; c < kClients; ++c) {
      batch = (*writer)->Append({JournalKind::kGranted, 0xc6120064u + c,
                                 1'000'000u + static_cast<uint64_t>(round), Key(uint8_t(c))});
    }
    ASSERT_TRUE(WaitSettled(**writer, batch)) << round;
    ASSERT_TRUE(WaitCompacted(**writer)) << round;
  }
  EXPECT_GE((*writer)->rotations(), 5u);
  EXPECT_EQ((*writer)->compactions(), (*writer)->rotations());
  EXPECT_EQ((*writer)->compaction_failures(), 0u);
  EXPECT_TRUE((*writer)->healthy());
  // Only the active segment is left beside a base holding one record per lease.
  EXPECT_EQ(JournalSegments(path_), std::vector<uint64_t>{(*writer)->active_segment()});
  EXPECT_LE(std::filesystem::file_size(path_), kJournalHeaderSize + kClients * kMaxRecordSize);
  LeaseTable listed;  // what control's `stampede leases` reads
  Restore(ReplayJournal(path_).records, 2000, listed);
  ASSERT_EQ(listed.size(), size_t{kClients});
  EXPECT_EQ(listed.ByAddress(0xc6120064)->expires_ms, 1'000'000u + kRounds - 1);
  writer->reset();
  LeaseTable restored;
  auto again = JournalWriter::Open(path_, 2000, restored, stats);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(restored.size(), size_t{kClients});
  EXPECT_EQ(restored.ByAddress(0xc6120064 + kClients - 1)->expires_ms, 1'000'000u + kRounds - 1);
  EXPECT_TRUE(JournalSegments(path_).empty());  // folded into the base on open
}

// A crash between a compaction's rename and its unlinks leaves a segment
// beside a base that already holds it: replaying it again changes nothing.
TEST_F(JournalWriterTest, ASegmentLeftBesideItsSnapshotChangesNothing) {
  std::filesystem::create_directories(dir_);
  auto write = [](const std::string& path, const std::vector<JournalRecord>& records) {
    std::string bytes(kJournalMagic, kJournalHeaderSize);
    for (const JournalRecord& r : records) {
      std::byte buffer[kMaxRecordSize];
      size_t n = EncodeRecord(r, buffer);
      bytes.append(reinterpret_cast<const char*>(buffer), n);
    }
    std::ofstream(path, std::ios::binary) << bytes;
  };
  write(path_, {{JournalKind::kGranted, 0xc6120064, 5000, Key(1)}});  // the snapshot
  write(SegmentPath(path_, 1), {{JournalKind::kGranted, 0xc6120065, 4000, Key(2)},
                                {JournalKind::kGranted, 0xc6120064, 5000, Key(1)},
                                {JournalKind::kReleased, 0xc6120065, 0, Key(2)}});
  std::ofstream(path_ + ".7x") << "not a segment";
  EXPECT_EQ(JournalSegments(path_), std::vector<uint64_t>{1});
  LeaseTable restored;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path_, 1000, restored, stats);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ(stats.records_replayed, 4u);
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored.ByAddress(0xc6120064)->client, Key(1));
  EXPECT_TRUE(JournalSegments(path_).empty());
  EXPECT_TRUE(std::filesystem::exists(path_ + ".7x"));  // not ours: left alone
}

TEST_F(JournalWriterTest, AForeignFileIsMovedAsideNotOverwritten) {
  std::filesystem::create_directories(dir_);
  std::ofstream(path_) << "this is not a journal";
  LeaseTable table;
  JournalOpenStats stats;
  auto writer = JournalWriter::Open(path_, 1000, table, stats);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_TRUE(stats.moved_aside);
  EXPECT_TRUE(std::filesystem::exists(path_ + ".corrupt"));
}

}  // namespace
}  // namespace stampede::dhcp

#include "dataplane/dhcp/lease_event.h"
#include "stampede/v1/event.pb.h"

namespace stampede::dhcp {
namespace {

TEST(LeaseEventTest, EncodesWhatProtobufParses) {
  std::byte long_id[40] = {};
  for (const ClientKey& client : {Key(7), ClientKey::From(long_id)}) {
    std::byte buffer[kMaxLeaseEventBytes];
    size_t n = EncodeLeaseEvent(1'795'000'000'123'456'789, LeaseChange::kDeclined, 0xc6120064,
                                client, 1'795'000'600'000, buffer);
    ASSERT_LE(n, kMaxLeaseEventBytes);
    v1::Event event;
    ASSERT_TRUE(event.ParseFromArray(buffer, static_cast<int>(n)));
    EXPECT_EQ(event.time_ns(), 1'795'000'000'123'456'789u);
    ASSERT_TRUE(event.has_lease());
    EXPECT_EQ(event.lease().change(), v1::Lease::DECLINED);
    EXPECT_EQ(event.lease().address(), 0xc6120064u);
    EXPECT_EQ(event.lease().client_id(),
              std::string(reinterpret_cast<const char*>(client.bytes.data()), client.length));
    EXPECT_EQ(event.lease().expires_unix_ms(), 1'795'000'600'000u);
  }
}

// A granted lease's boot: the profile index and option 93, which is there
// even when 0 (BIOS) and absent without one.
TEST(LeaseEventTest, CarriesWhatTheLeaseBoots) {
  for (auto [boot, has_arch] :
       {std::pair{LeaseBoot{3, 0}, true}, std::pair{LeaseBoot{1, 0xffff}, true},
        std::pair{LeaseBoot{0, UINT32_MAX}, false}}) {
    std::byte buffer[kMaxLeaseEventBytes];
    size_t n =
        EncodeLeaseEvent(1, LeaseChange::kGranted, 0xc6120064, Key(7), UINT64_MAX, buffer, boot);
    ASSERT_LE(n, kMaxLeaseEventBytes);
    v1::Event event;
    ASSERT_TRUE(event.ParseFromArray(buffer, static_cast<int>(n)));
    EXPECT_EQ(event.lease().boot_profile(), boot.profile);
    EXPECT_EQ(event.lease().has_client_arch(), has_arch);
    if (has_arch) {
      EXPECT_EQ(event.lease().client_arch(), boot.client_arch);
    }
  }
}

// proxyDHCP's steps: each step, the address (0 left out), the longest
// client id, the boot profile and option 93 when there is one.
TEST(LeaseEventTest, EncodesProxyBootSteps) {
  std::byte long_id[40] = {};
  for (auto [step, want] : {std::pair{ProxyStep::kOffered, v1::ProxyBoot::OFFERED},
                            std::pair{ProxyStep::kAcked, v1::ProxyBoot::ACKED},
                            std::pair{ProxyStep::kRequested, v1::ProxyBoot::REQUESTED}}) {
    for (auto [boot, address] :
         {std::pair{LeaseBoot{2, 7}, 0u}, std::pair{LeaseBoot{0, UINT32_MAX}, 0xc6120064u},
          std::pair{LeaseBoot{UINT32_MAX, 0xffff}, UINT32_MAX}}) {
      ClientKey client = ClientKey::From(long_id);
      std::byte buffer[kMaxLeaseEventBytes];
      size_t n = EncodeProxyBootEvent(UINT64_MAX, step, address, client, buffer, boot);
      ASSERT_LE(n, kMaxLeaseEventBytes);
      v1::Event event;
      ASSERT_TRUE(event.ParseFromArray(buffer, static_cast<int>(n)));
      EXPECT_EQ(event.time_ns(), UINT64_MAX);
      ASSERT_TRUE(event.has_proxy_boot());
      const v1::ProxyBoot& p = event.proxy_boot();
      EXPECT_EQ(p.step(), want);
      EXPECT_EQ(p.address(), address);
      EXPECT_EQ(p.client_id(),
                std::string(reinterpret_cast<const char*>(client.bytes.data()), client.length));
      EXPECT_EQ(p.boot_profile(), boot.profile);
      EXPECT_EQ(p.has_client_arch(), boot.client_arch != UINT32_MAX);
      if (p.has_client_arch()) {
        EXPECT_EQ(p.client_arch(), boot.client_arch);
      }
    }
  }
}

TEST(LeaseEventTest, EncodesPoolExhaustion) {
  std::byte buffer[kMaxLeaseEventBytes];
  size_t n = EncodePoolExhaustedEvent(42, 0xc6120000, 24, buffer);
  v1::Event event;
  ASSERT_TRUE(event.ParseFromArray(buffer, static_cast<int>(n)));
  EXPECT_EQ(event.time_ns(), 42u);
  ASSERT_TRUE(event.has_pool_exhausted());
  EXPECT_EQ(event.pool_exhausted().network(), 0xc6120000u);
  EXPECT_EQ(event.pool_exhausted().prefix_length(), 24u);
}

}  // namespace
}  // namespace stampede::dhcp
