// The back channel from the dataplane to the control plane, in one shared-
// memory region per instance ("/dev/shm/stampede-<instance>-status"), created
// by the dataplane:
//
//   StatusHeader | ring 0 (head | tail | records) | ring 1 | ring 2 |
//   HttpCounters | DhcpCounters | LcoreCounters[lcores] | TFTP rings[lcores]
//
// Events (serialized stampede.v1.Event) travel through single-producer,
// single-consumer rings, one per producer: ring 0 the service thread's
// (policy applied/refused), ring 1 the DHCP worker's (leases), ring 2 the
// HTTP thread's (finished transfers), and one per worker for its TFTP
// transfers; stampede-control consumes them all. A full ring drops the new
// event and counts it; the dataplane never waits for control. The counters are the HTTP thread's,
// the DHCP server's and the workers' own blocks, living here so control reads them without a
// syscall.
//
// The control side treats the region as untrusted bytes: every index and
// length is checked before use (a bad one is counted, never followed).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/dhcp/counters.h"
#include "dataplane/http/counters.h"
#include "dataplane/port/counters.h"

namespace stampede::policy {

inline constexpr uint64_t kStatusMagic = 0x315453504d415453;  // "STAMPST1" little-endian
// 4: drop reason rx_ring_full (the counters keep their size, not their order).
// 5: counter router_advertisements, the IPv6 and ICMPv6 drop reasons.
// 6: the DHCP server's counters after the HTTP server's.
// 7: a TFTP event ring per worker after the lcores' counters (event_rings
//    counts them too), counter events_dropped.
inline constexpr uint32_t kStatusLayoutVersion = 7;
// Events between two reads by control (which reads every 100 ms): a boot
// storm's worth of lease events later; power of two.
inline constexpr uint32_t kEventSlots = 4096;
inline constexpr uint32_t kEventRecordBytes = 512;
inline constexpr uint32_t kMaxEventBytes = kEventRecordBytes - sizeof(uint32_t);
inline constexpr uint32_t kMaxStatusLcores = 128;

// One ring per producer (single producer, single consumer each): these
// three, then each worker's TFTP ring (PushTftp, PopTftpEvents).
enum class EventRing : uint32_t { kService = 0, kDhcp = 1, kHttp = 2 };
inline constexpr uint32_t kEventRings = 3;

enum class PolicyState : uint32_t {
  kNone = 0,     // no policy applied yet: boot services are off
  kServing = 1,  // a policy is applied
};

struct alignas(64) StatusHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t event_slots;
  uint32_t record_bytes;
  uint32_t lcore_count;
  uint32_t counters_bytes;  // sizeof(port::LcoreCounters) in the writer's build
  uint32_t pid;             // the dataplane's
  // Updated by the dataplane's service thread on every pass (every ~20 ms).
  std::atomic<uint64_t> heartbeat_ns;
  std::atomic<uint32_t> policy_state;
  std::atomic<uint64_t> applied_generation;
  std::atomic<uint64_t> policies_applied;
  std::atomic<uint64_t> policies_refused;
  std::atomic<uint64_t> refused_generation;  // the last refused, 0 if none
  std::atomic<uint64_t> events_dropped;      // ring full, every ring
  // Appended in layout 3 (the fields above keep their offsets).
  uint32_t http_counters_bytes;  // sizeof(http::HttpCounters) in the writer's build
  uint32_t event_rings;          // kEventRings + lcore_count (the TFTP rings)
  // By EventRing; a TFTP ring's drops are its worker's events_dropped.
  std::atomic<uint64_t> ring_events_dropped[kEventRings];
  // Appended in layout 6.
  uint32_t dhcp_counters_bytes;  // sizeof(dhcp::DhcpCounters) in the writer's build
};
// The fuzzer's seeds patch header fields at fixed offsets.
static_assert(sizeof(StatusHeader) == 128);

struct alignas(64) RingIndex {
  std::atomic<uint64_t> value;
};

struct EventRecord {
  std::atomic<uint32_t> length;
  std::byte data[kMaxEventBytes];
};
static_assert(sizeof(EventRecord) == kEventRecordBytes);

inline constexpr size_t kRingBytes =
    2 * sizeof(RingIndex) + size_t{kEventSlots} * kEventRecordBytes;

constexpr size_t StatusRegionSize(uint32_t lcores) {
  return sizeof(StatusHeader) + kEventRings * kRingBytes + sizeof(http::HttpCounters) +
         sizeof(dhcp::DhcpCounters) + size_t{lcores} * sizeof(port::LcoreCounters) +
         size_t{lcores} * kRingBytes;
}

// "/dev/shm/stampede-<instance>-status".
std::string StatusRegionPath(const std::string& instance);

// The dataplane's side: creates (replaces) the region, owns the counters.
class StatusWriter {
 public:
  static absl::StatusOr<StatusWriter> Create(const std::string& path, uint32_t lcores);
  // Formats `memory` (at least StatusRegionSize(lcores) bytes, 64-byte
  // aligned) as an empty region and writes into it without owning it
  // (tests and fuzzers).
  static StatusWriter Over(std::span<std::byte> memory, uint32_t lcores);
  // A clean exit removes the region (a crashed dataplane's is replaced by
  // the next one): control then reports no dataplane rather than a stale one.
  void Remove();
  StatusWriter(StatusWriter&& other) noexcept;
  StatusWriter& operator=(StatusWriter&&) = delete;
  ~StatusWriter();

  StatusHeader& header() const { return *reinterpret_cast<StatusHeader*>(data_); }
  std::span<port::LcoreCounters> counters() const;
  // The HTTP server's counters (its thread the only writer).
  http::HttpCounters& http_counters() const;
  // The DHCP server's counters (the DHCP worker the only writer;
  // dhcp::Server::UseCounters).
  dhcp::DhcpCounters& dhcp_counters() const;
  // Appends one event; false (and counted) when the ring is full or the
  // event is larger than a record.
  bool Push(std::span<const std::byte> event, EventRing ring = EventRing::kService);
  // The same into worker `lcore`'s TFTP ring (that worker its only
  // producer); a drop is counted in its counters' events_dropped.
  bool PushTftp(std::span<const std::byte> event, uint32_t lcore);

 private:
  StatusWriter(std::byte* data, size_t size, uint32_t lcores, bool owned, std::string path)
      : data_(data), size_(size), lcores_(lcores), owned_(owned), path_(std::move(path)) {}
  std::byte* data_;
  size_t size_;
  uint32_t lcores_;
  bool owned_;
  std::string path_;
};

// A consistent-enough copy of the header's numbers for the API.
struct StatusSnapshot {
  uint32_t pid = 0;
  uint64_t heartbeat_ns = 0;
  PolicyState policy_state = PolicyState::kNone;
  uint64_t applied_generation = 0;
  uint64_t policies_applied = 0;
  uint64_t policies_refused = 0;
  uint64_t refused_generation = 0;
  uint64_t events_dropped = 0;
  uint64_t ring_events_dropped[kEventRings] = {};  // by EventRing
  uint64_t tftp_events_dropped = 0;                // every worker's TFTP ring
  uint32_t lcores = 0;
};

// The control plane's side: maps an existing region read-write (it moves the
// ring's tail) and reads it defensively.
class StatusReader {
 public:
  static absl::StatusOr<StatusReader> Open(const std::string& path);
  // For tests and the fuzzer: a region in memory (checked like a mapping).
  static absl::StatusOr<StatusReader> Attach(std::span<std::byte> region);
  StatusReader(StatusReader&& other) noexcept;
  StatusReader& operator=(StatusReader&& other) noexcept;
  ~StatusReader();

  StatusSnapshot Snapshot() const;
  // Up to `max` events, oldest first (serialized stampede.v1.Event); records
  // with an impossible length are skipped and counted in bad_records().
  std::vector<std::vector<std::byte>> PopEvents(size_t max, EventRing ring = EventRing::kService);
  // The same from worker `lcore`'s TFTP ring; empty past the last lcore.
  std::vector<std::vector<std::byte>> PopTftpEvents(size_t max, uint32_t lcore);
  // One lcore's counters in CounterNames() order; empty past the last lcore.
  std::vector<uint64_t> CounterValues(uint32_t lcore) const;
  // The HTTP server's counters and gauges in HttpCounterNames() order.
  std::vector<uint64_t> HttpCounterValues() const;
  // The DHCP server's counters in DhcpCounterNames() order.
  std::vector<uint64_t> DhcpCounterValues() const;
  uint32_t lcores() const { return lcores_; }
  uint64_t bad_records() const { return bad_records_; }
  // The region file was replaced (a restarted dataplane): reopen.
  bool Stale() const;

 private:
  StatusReader(std::byte* data, size_t size, uint32_t lcores, bool mapped, uint64_t inode,
               std::string path)
      : data_(data),
        size_(size),
        lcores_(lcores),
        mapped_(mapped),
        inode_(inode),
        path_(std::move(path)) {}
  const StatusHeader& header() const { return *reinterpret_cast<const StatusHeader*>(data_); }
  std::vector<std::vector<std::byte>> PopFrom(std::byte* ring, size_t max);

  std::byte* data_ = nullptr;
  size_t size_ = 0;
  uint32_t lcores_ = 0;
  bool mapped_ = false;
  uint64_t inode_ = 0;
  std::string path_;
  uint64_t bad_records_ = 0;
};

// Counter names in CounterValues() order: the STAMPEDE_COUNTERS, then
// "drop_<reason>" for every drop reason.
std::vector<std::string> CounterNames();

// HTTP counter names in HttpCounterValues() order: the STAMPEDE_HTTP_COUNTERS,
// then the kHttpGauges gauges (connections_open, listening_port).
std::vector<std::string> HttpCounterNames();
inline constexpr size_t kHttpGauges = 2;

// DHCP counter names in DhcpCounterValues() order: the STAMPEDE_DHCP_COUNTERS.
std::vector<std::string> DhcpCounterNames();

// "service", "dhcp", "http".
const char* EventRingName(EventRing ring);

}  // namespace stampede::policy
