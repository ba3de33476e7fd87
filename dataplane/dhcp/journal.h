// The lease journal's format and replay (no I/O here: the writer in
// journal_writer.h appends through io_uring). A file is an 8-byte header and
// a sequence of records:
//
//   u32 body length | u32 CRC32C of the body | body
//   body: u8 kind | u32 address | u64 expiry (Unix ms) | u8 client id
//         length | client id bytes | u64 client id overflow hash
//
// All integers little-endian. Replay stops at the first record that is
// truncated, oversized or fails its CRC (a torn or corrupt tail): what came
// before stands, the rest is skipped and counted, never fatal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/dhcp/leases.h"

namespace stampede::dhcp {

inline constexpr char kJournalMagic[8] = {'S', 'T', 'P', 'L', 'E', 'A', 'S', '1'};
inline constexpr size_t kJournalHeaderSize = sizeof(kJournalMagic);
inline constexpr size_t kRecordHeaderSize = 8;
inline constexpr size_t kMaxRecordBody = 1 + 4 + 8 + 1 + ClientKey::kMaxBytes + 8;
inline constexpr size_t kMaxRecordSize = kRecordHeaderSize + kMaxRecordBody;

// Record kinds: kGranted (bound until `expires`), kReleased (free again),
// kDeclined (quarantined until `expires`); kNextBootUsed (a host's one-shot
// next boot went out in an ACK: `address` holds the next_boot profile, the
// expiry field the host key, no client id); never kNone.
using JournalKind = LeaseChange;

// Hosts whose one-shot next boot was used: host key -> next_boot profile.
using NextBootUsed = absl::flat_hash_map<uint64_t, uint32_t>;

struct JournalRecord {
  JournalKind kind = JournalKind::kGranted;
  uint32_t address = 0;
  uint64_t expires_unix_ms = 0;
  ClientKey client;
  bool operator==(const JournalRecord&) const = default;
};

// Writes `record` into `out` (at least kMaxRecordSize bytes); returns its size.
size_t EncodeRecord(const JournalRecord& record, std::span<std::byte> out);

struct ReplayResult {
  bool header_ok = false;  // false: not a journal (or empty file)
  std::vector<JournalRecord> records;
  size_t valid_bytes = 0;    // header + whole good records: where to append
  size_t skipped_bytes = 0;  // a torn or corrupt tail
  std::string tail_reason;   // why the tail was skipped
};

ReplayResult Replay(std::span<const std::byte> file);

// The journal on disk is `path` (a compacted snapshot, then records) and,
// once it has grown past a rotation size at run time, segments `path.1`,
// `path.2`, ... that took over the appending in turn; replayed in that order.
// Compaction folds `path` and the segments before the active one into a new
// `path` and deletes them; replaying a segment again after the snapshot that
// already holds it changes nothing (the last word on each address wins).
std::string SegmentPath(const std::string& path, uint64_t segment);
// The segment numbers beside `path`, ascending.
std::vector<uint64_t> JournalSegments(const std::string& path);
// Replays `path` and then each of `segments` (ENOENT: an empty file; a
// segment compacted away meanwhile is in `path` already). `header_ok` and
// `valid_bytes` are the base file's.
ReplayResult ReplayJournal(const std::string& path, const std::vector<uint64_t>& segments);
// The same over every segment there is, opened before `path` so that a
// compaction finishing meanwhile loses nothing (what it folded in is read
// twice, which is harmless).
ReplayResult ReplayJournal(const std::string& path);

// Applies replayed records to an empty table: the last word on each address
// wins; leases already expired at `now_unix_ms` are left out. One-shot next
// boots used go into `next_boot` when given.
void Restore(const std::vector<JournalRecord>& records, uint64_t now_unix_ms, LeaseTable& table,
             NextBootUsed* next_boot = nullptr);

// A snapshot of `table` (and of `next_boot` when given) as records
// (compaction writes these into a new file).
std::vector<JournalRecord> Snapshot(const LeaseTable& table, uint64_t now_unix_ms,
                                    const NextBootUsed* next_boot = nullptr);

}  // namespace stampede::dhcp
