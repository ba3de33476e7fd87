// Appends lease records to the journal through io_uring with group commit:
// records gather in an open batch while the previous batch's write and
// fdatasync (linked, one submission) are in flight; a batch is durable when
// its fdatasync completes, and only then may the DHCPACKs that depend on it
// leave. A failed write or sync (a full or failing disk) marks the journal
// unhealthy: the batch's ACKs are never sent, the file is cut back to its
// last durable length, and later batches try again.
//
// The journal does not grow without end: past kJournalRotateBytes the writer
// moves the appending to a new segment (path.N, see journal.h) and a thread of
// its own folds what came before into a compacted snapshot, renamed over
// `path`, while the worker goes on appending.
#pragma once

#include <liburing.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/dhcp/journal.h"

namespace stampede::dhcp {

// A batch holds what arrives while one fdatasync runs: thousands of leases
// in a boot storm (a record is at most 55 bytes).
inline constexpr size_t kJournalBatchBytes = 256 * 1024;
// A file (base or segment) this big is rotated: about a million records, a
// compaction of a few hundred milliseconds on the compaction thread.
inline constexpr uint64_t kJournalRotateBytes = 64ull << 20;
// On a disk, the file is extended by this many zero bytes at a time, ahead
// of the records (replay takes a zero tail as the journal's clean end).
inline constexpr size_t kJournalPreallocateBytes = 256 << 10;

struct JournalOpenStats {
  size_t records_replayed = 0;
  size_t leases_restored = 0;
  size_t next_boots_used = 0;
  size_t tail_skipped_bytes = 0;
  std::string tail_reason;
  bool moved_aside = false;  // the file was not a journal: kept as <path>.corrupt
};

class JournalWriter {
 public:
  // Replays `path` into `table` (empty), compacts it (a snapshot written to
  // <path>.new, synced and renamed over it) and opens it for appending.
  // One-shot next boots already used are restored into `next_boot` (and
  // kept by compaction) when given.
  static absl::StatusOr<std::unique_ptr<JournalWriter>> Open(const std::string& path,
                                                             uint64_t now_unix_ms,
                                                             LeaseTable& table,
                                                             JournalOpenStats& stats,
                                                             NextBootUsed* next_boot = nullptr);
  ~JournalWriter();

  // Adds a record to the open batch; returns the batch number it will be
  // durable with, or 0 when the batch is full (the caller refuses the lease).
  uint64_t Append(const JournalRecord& record);
  // Starts writing the open batch if it has records and no batch is in flight.
  void Submit();
  // Reaps completions without blocking.
  void Reap();
  // Every batch up to this number is on disk.
  uint64_t durable() const { return durable_; }
  // Every batch up to this number is durable or failed (its ACKs dropped).
  uint64_t settled() const { return settled_; }
  bool healthy() const { return healthy_; }
  bool idle() const { return !in_flight_ && open_.empty(); }
  uint64_t batches_written() const { return batches_written_; }
  uint64_t batches_failed() const { return batches_failed_; }
  // Bytes in the file being appended to (the base or the active segment).
  uint64_t file_bytes() const { return file_bytes_; }
  // The file's size on a disk: file_bytes() and the zeros written ahead.
  uint64_t allocated_bytes() const { return allocated_; }
  uint64_t active_segment() const { return active_segment_; }
  uint64_t rotations() const { return rotations_; }
  uint64_t compactions() const { return compactions_.load(std::memory_order_acquire); }
  uint64_t compaction_failures() const {
    return compaction_failures_.load(std::memory_order_acquire);
  }
  bool compacting() const { return compacting_.load(std::memory_order_acquire); }
  // Whether the kernel's helper threads for this ring were kept off the
  // submitting thread's CPUs (see PlaceHelpers).
  bool helpers_off_cpu() const { return helpers_off_cpu_; }

  // Tests: a smaller rotation size, and the wall clock compaction expires
  // leases by (milliseconds since the epoch).
  void SetRotateBytes(uint64_t bytes) { rotate_bytes_ = bytes; }
  void SetClock(std::function<uint64_t()> clock) { clock_ = std::move(clock); }

 private:
  JournalWriter(std::string path, int fd, uint64_t file_bytes)
      : path_(std::move(path)), fd_(fd), file_bytes_(file_bytes), allocated_(file_bytes) {}
  // Between batches, when the file is past the rotation size and no
  // compaction runs: the next segment takes the appends, the thread folds
  // the rest.
  void MaybeRotate();
  void Compact(uint64_t last_segment);
  // At the first Submit, on the thread that submits: where the io-wq and
  // compaction threads may run.
  void PlaceHelpers();
  // The batch in `writing_` is done: on the file, or failed and cut off.
  void Settle(bool failed);

  std::string path_;
  int fd_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool helpers_placed_ = false;
  bool memory_file_ = false;  // on tmpfs: written directly, nothing to sync
  bool helpers_off_cpu_ = false;
  cpu_set_t helper_cpus_{};  // the CPUs the submitting thread is not bound to (none: unset)
  uint64_t file_bytes_;
  uint64_t allocated_;    // the file's size: records, then zeros written ahead
  size_t extending_ = 0;  // zeros the batch in flight writes past its records
  std::vector<std::byte> zeros_;
  std::vector<std::byte> open_;     // records of the batch being filled
  std::vector<std::byte> writing_;  // the batch in flight
  uint64_t open_batch_ = 1;         // number of the batch being filled
  bool in_flight_ = false;
  int pending_completions_ = 0;
  bool in_flight_failed_ = false;
  uint64_t durable_ = 0;
  uint64_t settled_ = 0;
  bool healthy_ = true;
  uint64_t batches_written_ = 0;
  uint64_t batches_failed_ = 0;
  uint64_t rotate_bytes_ = kJournalRotateBytes;
  uint64_t active_segment_ = 0;  // 0: the base file
  uint64_t rotations_ = 0;
  std::function<uint64_t()> clock_;
  std::thread compactor_;
  std::atomic<bool> compacting_{false};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> compaction_failures_{0};
};

}  // namespace stampede::dhcp
