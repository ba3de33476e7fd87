#include "dataplane/dhcp/journal_writer.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace stampede::dhcp {
namespace {

// Completion tags: which request of a batch's chain (or the first NOP) a CQE is.
constexpr uint64_t kWriteTag = 1;
constexpr uint64_t kSyncTag = 2;
constexpr uint64_t kNopTag = 3;
constexpr uint64_t kZeroTag = 4;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Writes all of `data` at `offset` (retrying short writes); false on error.
bool WriteAll(int fd, const std::byte* data, size_t size, uint64_t offset = 0) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

absl::StatusOr<std::vector<std::byte>> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<std::byte>();
    return Errno(path);
  }
  std::vector<std::byte> data;
  std::byte buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = Errno(path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    data.insert(data.end(), buffer, buffer + n);
  }
  close(fd);
  return data;
}

// Writes header + records to <path>.new, syncs, renames over `path` and syncs
// the directory: a crash at any point leaves the old or the new file whole.
absl::StatusOr<uint64_t> WriteCompacted(const std::string& path,
                                        const std::vector<JournalRecord>& records) {
  std::vector<std::byte> data(kJournalHeaderSize);
  std::memcpy(data.data(), kJournalMagic, kJournalHeaderSize);
  std::byte record[kMaxRecordSize];
  for (const JournalRecord& r : records) {
    size_t n = EncodeRecord(r, record);
    data.insert(data.end(), record, record + n);
  }
  std::string temporary = path + ".new";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(temporary);
  bool ok = WriteAll(fd, data.data(), data.size()) && fdatasync(fd) == 0;
  absl::Status status = ok ? absl::OkStatus() : Errno(temporary);
  close(fd);
  if (!ok) {
    unlink(temporary.c_str());
    return status;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) return Errno(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return data.size();
}

}  // namespace

absl::StatusOr<std::unique_ptr<JournalWriter>> JournalWriter::Open(const std::string& path,
                                                                   uint64_t now_unix_ms,
                                                                   LeaseTable& table,
                                                                   JournalOpenStats& stats,
                                                                   NextBootUsed* next_boot) {
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  absl::StatusOr<std::vector<std::byte>> data = ReadFile(path);
  if (!data.ok()) return data.status();
  // Segments a run left (it stopped before compacting them) follow the base.
  std::vector<uint64_t> segments = JournalSegments(path);
  ReplayResult replay = ReplayJournal(path, segments);
  if (!replay.header_ok && !data->empty()) {
    // Not ours to overwrite: keep it for a human, start a new journal.
    std::filesystem::rename(path, path + ".corrupt", ignored);
    stats.moved_aside = true;
  }
  stats.records_replayed = replay.records.size();
  stats.tail_skipped_bytes = replay.skipped_bytes;
  stats.tail_reason = replay.tail_reason;
  Restore(replay.records, now_unix_ms, table, next_boot);
  stats.leases_restored = table.size();
  if (next_boot != nullptr) stats.next_boots_used = next_boot->size();
  absl::StatusOr<uint64_t> size = WriteCompacted(path, Snapshot(table, now_unix_ms, next_boot));
  if (!size.ok()) return size.status();
  for (uint64_t segment : segments) unlink(SegmentPath(path, segment).c_str());
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno(path);
  std::unique_ptr<JournalWriter> writer(new JournalWriter(path, fd, *size));
  // tmpfs keeps a file in memory only: its fdatasync does nothing, and a
  // write is as durable as it will ever be (against a crash of this
  // process, not of the machine) once it returns.
  struct statfs fs {};
  writer->memory_file_ =
      fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
  writer->clock_ = [] {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000 +
           static_cast<uint64_t>(now.tv_nsec) / 1'000'000;
  };
  // A batch completes on a kernel helper thread; by default that thread
  // interrupts the worker (an IPI) to post the completion. Cooperative task
  // running posts it at the worker's next entry into the ring instead,
  // which Reap makes when the ring's flags say work is waiting (kernel 5.19;
  // older kernels get the default).
  int error =
      io_uring_queue_init(8, &writer->ring_, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
  if (error == -EINVAL) error = io_uring_queue_init(8, &writer->ring_, 0);
  if (error < 0) {
    return absl::InternalError(absl::StrCat("io_uring_queue_init: ", std::strerror(-error)));
  }
  writer->ring_ready_ = true;
  writer->open_.reserve(kJournalBatchBytes);
  writer->writing_.reserve(kJournalBatchBytes);
  return writer;
}

JournalWriter::~JournalWriter() {
  // Let an in-flight batch finish: its records are on their way to disk.
  for (int i = 0; i < 1000 && in_flight_; ++i) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec timeout{0, 10'000'000};
    if (io_uring_wait_cqe_timeout(&ring_, &cqe, &timeout) == 0) Reap();
  }
  if (ring_ready_) io_uring_queue_exit(&ring_);
  close(fd_);
  if (compactor_.joinable()) compactor_.join();
}

void JournalWriter::MaybeRotate() {
  if (in_flight_ || file_bytes_ < rotate_bytes_ || compacting()) return;
  if (compactor_.joinable()) compactor_.join();  // finished: compacting() is false
  uint64_t next = active_segment_ + 1;
  std::string segment = SegmentPath(path_, next);
  // Rare (once per rotation size) and short: create, write the header and
  // make both it and its name durable before a record may depend on it.
  int fd = open(segment.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;  // appending to the big file goes on; tried again later
  std::string dir = std::filesystem::path(path_).parent_path().string();
  int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = WriteAll(fd, reinterpret_cast<const std::byte*>(kJournalMagic), kJournalHeaderSize) &&
            fdatasync(fd) == 0 && dir_fd >= 0 && fsync(dir_fd) == 0;
  if (dir_fd >= 0) close(dir_fd);
  if (!ok) {
    close(fd);
    unlink(segment.c_str());
    return;
  }
  close(fd_);
  fd_ = fd;
  file_bytes_ = kJournalHeaderSize;
  allocated_ = file_bytes_;
  active_segment_ = next;
  ++rotations_;
  compacting_.store(true, std::memory_order_release);
  compactor_ = std::thread([this, last = next - 1] { Compact(last); });
}

// The compaction thread: everything before the active segment, folded into
// a snapshot renamed over the base; the folded segments then go. The worker
// never touches these files any more, so nothing here races with it.
void JournalWriter::Compact(uint64_t last_segment) {
  // Started from the worker, this thread was bound to the worker's CPU.
  if (CPU_COUNT(&helper_cpus_) > 0) sched_setaffinity(0, sizeof(helper_cpus_), &helper_cpus_);
  std::vector<uint64_t> segments;
  for (uint64_t segment : JournalSegments(path_)) {
    if (segment <= last_segment) segments.push_back(segment);
  }
  ReplayResult replay = ReplayJournal(path_, segments);
  LeaseTable table;
  NextBootUsed next_boot;
  uint64_t now = clock_();
  Restore(replay.records, now, table, &next_boot);
  absl::StatusOr<uint64_t> size = WriteCompacted(path_, Snapshot(table, now, &next_boot));
  if (size.ok()) {
    for (uint64_t segment : segments) unlink(SegmentPath(path_, segment).c_str());
    compactions_.fetch_add(1, std::memory_order_release);
  } else {
    // The base and segments stay as they were: the next start replays them.
    compaction_failures_.fetch_add(1, std::memory_order_release);
  }
  compacting_.store(false, std::memory_order_release);
}

uint64_t JournalWriter::Append(const JournalRecord& record) {
  if (open_.size() + kMaxRecordSize > kJournalBatchBytes) return 0;
  size_t at = open_.size();
  open_.resize(at + kMaxRecordSize);
  open_.resize(at + EncodeRecord(record, std::span(open_).subspan(at)));
  return open_batch_;
}

void JournalWriter::PlaceHelpers() {
  helpers_placed_ = true;
  // The kernel threads that run a batch's write and fdatasync (io-wq) may
  // run on any CPU and land on the submitting worker's own, preempting it
  // for every batch. Keep them on the CPUs this thread is not bound to.
  // The affinity belongs to the submitting thread's io-wq, which exists
  // once the thread has entered the ring: a NOP, completed inline, does it
  // without starting a helper.
  cpu_set_t mine, others;
  CPU_ZERO(&others);
  if (sched_getaffinity(0, sizeof(mine), &mine) != 0) return;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (long cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &mine)) CPU_SET(cpu, &others);
  }
  if (CPU_COUNT(&others) == 0) return;  // bound to every CPU: nothing to keep off
  helper_cpus_ = others;                // for the compaction thread too
  if (memory_file_) return;             // written directly: the ring has no helpers
  io_uring_sqe* nop = io_uring_get_sqe(&ring_);
  if (nop == nullptr) return;
  io_uring_prep_nop(nop);
  io_uring_sqe_set_data64(nop, kNopTag);
  io_uring_cqe* cqe = nullptr;
  if (io_uring_submit_and_wait(&ring_, 1) == 1 && io_uring_peek_cqe(&ring_, &cqe) == 0) {
    io_uring_cqe_seen(&ring_, cqe);
  }
  helpers_off_cpu_ = io_uring_register_iowq_aff(&ring_, sizeof(others), &others) == 0;
}

void JournalWriter::Submit() {
  if (in_flight_) return;
  if (!helpers_placed_) PlaceHelpers();
  MaybeRotate();
  if (open_.empty()) return;
  if (memory_file_) {
    // tmpfs: the write is a copy into memory with nothing to wait for, so
    // it is made here; through the ring it would be handed to a kernel
    // helper thread (tmpfs cannot write without blocking), a wake-up and a
    // completion per batch for nothing.
    writing_.swap(open_);
    open_.clear();
    ++open_batch_;
    Settle(!WriteAll(fd_, writing_.data(), writing_.size(), file_bytes_));
    return;
  }
  // Past the zeros written ahead, the batch writes the next ones behind
  // its records: an fdatasync that must also make a new file size durable
  // commits the file system's journal first (a second flush); one over
  // blocks that were already there does not. The zeros' own failure (a
  // full disk) is not the batch's: hard-linked, the sync runs anyway.
  uint64_t end = file_bytes_ + open_.size();
  bool extend = end > allocated_;
  if (io_uring_sq_space_left(&ring_) < (extend ? 3u : 2u)) return;  // full: at the next poll
  writing_.swap(open_);
  open_.clear();
  io_uring_sqe* write_sqe = io_uring_get_sqe(&ring_);
  io_uring_prep_write(write_sqe, fd_, writing_.data(), static_cast<unsigned>(writing_.size()),
                      file_bytes_);
  write_sqe->flags |= IOSQE_IO_LINK;  // the rest runs only after the write succeeded
  io_uring_sqe_set_data64(write_sqe, kWriteTag);
  pending_completions_ = 2;
  extending_ = 0;
  if (extend) {
    if (zeros_.empty()) zeros_.resize(kJournalPreallocateBytes);
    extending_ = kJournalPreallocateBytes;
    io_uring_sqe* zero_sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_write(zero_sqe, fd_, zeros_.data(), static_cast<unsigned>(extending_), end);
    zero_sqe->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(zero_sqe, kZeroTag);
    ++pending_completions_;
  }
  io_uring_sqe* sync_sqe = io_uring_get_sqe(&ring_);
  io_uring_prep_fsync(sync_sqe, fd_, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data64(sync_sqe, kSyncTag);
  io_uring_submit(&ring_);
  in_flight_ = true;
  in_flight_failed_ = false;
  ++open_batch_;
}

void JournalWriter::Reap() {
  io_uring_cqe* cqe = nullptr;
  while (in_flight_ && io_uring_peek_cqe(&ring_, &cqe) == 0) {
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    int result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (tag == kWriteTag && result != static_cast<int>(writing_.size())) in_flight_failed_ = true;
    if (tag == kSyncTag && result != 0) in_flight_failed_ = true;
    if (tag == kZeroTag && result != static_cast<int>(extending_)) {
      extending_ = 0;  // tried again by the next batch that passes the end
    }
    if (--pending_completions_ > 0) continue;
    in_flight_ = false;
    Settle(in_flight_failed_);
  }
}

void JournalWriter::Settle(bool failed) {
  uint64_t batch = open_batch_ - 1;
  settled_ = batch;
  if (failed) {
    // Cut off whatever part of the batch reached the file, so the next
    // batch follows the last durable record (replay stops at a torn one).
    if (ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) { /* next write overwrites */
    }
    healthy_ = false;
    ++batches_failed_;
    allocated_ = file_bytes_;
  } else {
    file_bytes_ += writing_.size();
    allocated_ = std::max(allocated_, file_bytes_ + extending_);
    durable_ = batch;
    healthy_ = true;
    ++batches_written_;
  }
  writing_.clear();
}

}  // namespace stampede::dhcp
