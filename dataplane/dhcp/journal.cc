#include "dataplane/dhcp/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "dataplane/policy/crc32c.h"

namespace stampede::dhcp {
namespace {

void Put32(std::span<std::byte> out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = std::byte(static_cast<uint8_t>(v >> (8 * i)));
}
void Put64(std::span<std::byte> out, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[at + i] = std::byte(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t Get32(std::span<const std::byte> in, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(in[at + i]);
  return v;
}
uint64_t Get64(std::span<const std::byte> in, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(in[at + i]);
  return v;
}

// Decodes a body; false when it is not a well-formed record.
bool DecodeBody(std::span<const std::byte> body, JournalRecord& out) {
  if (body.size() < 1 + 4 + 8 + 1 + 8) return false;
  uint8_t kind = static_cast<uint8_t>(body[0]);
  if (kind < 1 || kind > 4) return false;
  out.kind = static_cast<JournalKind>(kind);
  out.address = Get32(body, 1);
  out.expires_unix_ms = Get64(body, 5);
  size_t length = static_cast<uint8_t>(body[13]);
  if (length > ClientKey::kMaxBytes || body.size() != 14 + length + 8) return false;
  out.client = ClientKey();
  out.client.length = static_cast<uint8_t>(length);
  std::memcpy(out.client.bytes.data(), body.data() + 14, length);
  out.client.overflow_hash = Get64(body, 14 + length);
  return true;
}

}  // namespace

size_t EncodeRecord(const JournalRecord& r, std::span<std::byte> out) {
  std::span<std::byte> body = out.subspan(kRecordHeaderSize);
  body[0] = std::byte(static_cast<uint8_t>(r.kind));
  Put32(body, 1, r.address);
  Put64(body, 5, r.expires_unix_ms);
  body[13] = std::byte(r.client.length);
  std::memcpy(body.data() + 14, r.client.bytes.data(), r.client.length);
  Put64(body, 14 + r.client.length, r.client.overflow_hash);
  size_t body_size = 14 + r.client.length + 8;
  Put32(out, 0, static_cast<uint32_t>(body_size));
  Put32(out, 4, policy::Crc32c(body.first(body_size)));
  return kRecordHeaderSize + body_size;
}

// A record's first byte is its body length's low byte: never 0 (Replay
// takes a zero there as the start of the zeros written ahead).
static_assert(kMaxRecordBody < 256);

ReplayResult Replay(std::span<const std::byte> file) {
  ReplayResult result;
  if (file.size() < kJournalHeaderSize ||
      std::memcmp(file.data(), kJournalMagic, kJournalHeaderSize) != 0) {
    result.skipped_bytes = file.size();
    result.tail_reason = file.empty() ? "" : "not a lease journal (bad header)";
    return result;
  }
  result.header_ok = true;
  size_t at = kJournalHeaderSize;
  while (at < file.size()) {
    // Zeros written ahead of the records on a disk are the clean end: no
    // record starts with a zero byte, as none is shorter than 22 bytes
    // (checked once, where a zero byte starts a record). A torn batch
    // still ends at its first bad record.
    if (file[at] == std::byte{0} &&
        std::all_of(file.begin() + static_cast<ptrdiff_t>(at), file.end(),
                    [](std::byte b) { return b == std::byte{0}; })) {
      break;
    }
    if (file.size() - at < kRecordHeaderSize) {
      result.tail_reason = "torn record header";
      break;
    }
    uint32_t length = Get32(file, at);
    uint32_t crc = Get32(file, at + 4);
    if (length > kMaxRecordBody) {
      result.tail_reason = "record length out of range";
      break;
    }
    if (file.size() - at - kRecordHeaderSize < length) {
      result.tail_reason = "torn record";
      break;
    }
    std::span<const std::byte> body = file.subspan(at + kRecordHeaderSize, length);
    JournalRecord record;
    if (policy::Crc32c(body) != crc) {
      result.tail_reason = "record CRC mismatch";
      break;
    }
    if (!DecodeBody(body, record)) {
      result.tail_reason = "malformed record";
      break;
    }
    result.records.push_back(record);
    at += kRecordHeaderSize + length;
  }
  result.valid_bytes = at;
  result.skipped_bytes = result.tail_reason.empty() ? 0 : file.size() - at;
  return result;
}

void Restore(const std::vector<JournalRecord>& records, uint64_t now_unix_ms, LeaseTable& table,
             NextBootUsed* next_boot) {
  for (const JournalRecord& r : records) {
    switch (r.kind) {
      case JournalKind::kGranted:
        table.Put({r.address, r.client, LeaseState::kBound, r.expires_unix_ms, 0});
        break;
      case JournalKind::kDeclined:
        table.Put({r.address, r.client, LeaseState::kDeclined, r.expires_unix_ms, 0});
        break;
      case JournalKind::kReleased:
        if (const Lease* held = table.ByAddress(r.address);
            held != nullptr && held->client == r.client) {
          table.Remove(r.address);
        }
        break;
      case JournalKind::kNextBootUsed:
        if (next_boot != nullptr) (*next_boot)[r.expires_unix_ms] = r.address;
        break;
      case JournalKind::kNone:
        break;  // DecodeBody never yields it
    }
  }
  table.Expire(now_unix_ms, table.size() + records.size());
}

std::vector<JournalRecord> Snapshot(const LeaseTable& table, uint64_t now_unix_ms,
                                    const NextBootUsed* next_boot) {
  std::vector<JournalRecord> records;
  if (next_boot != nullptr) {
    for (const auto& [host, profile] : *next_boot) {
      records.push_back({JournalKind::kNextBootUsed, profile, host, {}});
    }
  }
  table.ForEach([&](const Lease& lease) {
    if (lease.expires_ms <= now_unix_ms || lease.state == LeaseState::kOffered) return;
    records.push_back(
        {lease.state == LeaseState::kDeclined ? JournalKind::kDeclined : JournalKind::kGranted,
         lease.address, lease.expires_ms, lease.client});
  });
  return records;
}

}  // namespace stampede::dhcp

namespace stampede::dhcp {
namespace {

// Reads an open file whole; an unreadable one reads as empty (its records
// are lost to this replay, as a torn tail would be).
std::vector<std::byte> ReadAll(int fd) {
  std::vector<std::byte> data;
  if (fd < 0) return data;
  std::byte buffer[65536];
  for (int rounds = 0; rounds < (1 << 24); ++rounds) {  // 1 TiB: bounded
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.insert(data.end(), buffer, buffer + n);
  }
  close(fd);
  return data;
}

int OpenForReplay(const std::string& path) { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }

// Replays the base file, then each segment after it.
ReplayResult ReplayOpened(int base_fd, const std::vector<int>& segment_fds) {
  std::vector<std::byte> base = ReadAll(base_fd);
  ReplayResult result = Replay(base);
  for (int fd : segment_fds) {
    ReplayResult segment = Replay(ReadAll(fd));
    result.records.insert(result.records.end(), segment.records.begin(), segment.records.end());
    result.skipped_bytes += segment.skipped_bytes;
    if (result.tail_reason.empty()) result.tail_reason = segment.tail_reason;
  }
  return result;
}

}  // namespace

std::string SegmentPath(const std::string& path, uint64_t segment) {
  return path + "." + std::to_string(segment);
}

std::vector<uint64_t> JournalSegments(const std::string& path) {
  std::vector<uint64_t> segments;
  std::filesystem::path file(path);
  std::filesystem::path folder = file.parent_path().empty() ? "." : file.parent_path();
  std::string prefix = file.filename().string() + ".";
  std::error_code error;
  std::filesystem::directory_iterator it(folder, error), end;
  for (size_t seen = 0; !error && it != end && seen < 100'000; it.increment(error), ++seen) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) || name.size() == prefix.size() ||
        name.size() > prefix.size() + 19) {
      continue;
    }
    std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits[0] == '0') continue;
    segments.push_back(std::stoull(digits));
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

ReplayResult ReplayJournal(const std::string& path, const std::vector<uint64_t>& segments) {
  int base = OpenForReplay(path);
  std::vector<int> fds;
  for (uint64_t segment : segments) fds.push_back(OpenForReplay(SegmentPath(path, segment)));
  return ReplayOpened(base, fds);
}

ReplayResult ReplayJournal(const std::string& path) {
  std::vector<int> fds;
  for (uint64_t segment : JournalSegments(path)) {
    fds.push_back(OpenForReplay(SegmentPath(path, segment)));
  }
  return ReplayOpened(OpenForReplay(path), fds);
}

}  // namespace stampede::dhcp
