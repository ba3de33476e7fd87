#include "dataplane/policy/status_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <new>

#include "absl/strings/str_cat.h"

namespace stampede::policy {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::byte* RingBase(std::byte* data, EventRing ring) {
  return data + sizeof(StatusHeader) + static_cast<size_t>(ring) * kRingBytes;
}
RingIndex& Head(std::byte* ring) { return *reinterpret_cast<RingIndex*>(ring); }
RingIndex& Tail(std::byte* ring) { return *reinterpret_cast<RingIndex*>(ring + sizeof(RingIndex)); }
EventRecord* Records(std::byte* ring) {
  return reinterpret_cast<EventRecord*>(ring + 2 * sizeof(RingIndex));
}
http::HttpCounters* HttpCountersIn(std::byte* data) {
  return reinterpret_cast<http::HttpCounters*>(data + sizeof(StatusHeader) +
                                               kEventRings * kRingBytes);
}
dhcp::DhcpCounters* DhcpCountersIn(std::byte* data) {
  return reinterpret_cast<dhcp::DhcpCounters*>(
      data + sizeof(StatusHeader) + kEventRings * kRingBytes + sizeof(http::HttpCounters));
}
port::LcoreCounters* Counters(std::byte* data) {
  return reinterpret_cast<port::LcoreCounters*>(reinterpret_cast<std::byte*>(DhcpCountersIn(data)) +
                                                sizeof(dhcp::DhcpCounters));
}
// Worker `lcore`'s TFTP ring, after the `lcores` counter blocks.
std::byte* TftpRingBase(std::byte* data, uint32_t lcores, uint32_t lcore) {
  return reinterpret_cast<std::byte*>(Counters(data) + lcores) + size_t{lcore} * kRingBytes;
}

void FormatRing(std::byte* ring) {
  new (&Head(ring)) RingIndex{};
  new (&Tail(ring)) RingIndex{};
  for (uint32_t i = 0; i < kEventSlots; ++i) new (&Records(ring)[i]) EventRecord{};
}

// Appends to a ring; false when it is full or the event too large.
bool PushTo(std::byte* ring, std::span<const std::byte> event) {
  uint64_t head = Head(ring).value.load(std::memory_order_relaxed);
  uint64_t tail = Tail(ring).value.load(std::memory_order_acquire);
  if (event.size() > kMaxEventBytes || head - tail >= kEventSlots) return false;
  EventRecord& record = Records(ring)[head % kEventSlots];
  if (!event.empty()) std::memcpy(record.data, event.data(), event.size());
  record.length.store(static_cast<uint32_t>(event.size()), std::memory_order_relaxed);
  Head(ring).value.store(head + 1, std::memory_order_release);
  return true;
}

constexpr size_t kCounterFields = 0
#define STAMPEDE_COUNT_FIELD(name) +1
    STAMPEDE_COUNTERS(STAMPEDE_COUNT_FIELD)
#undef STAMPEDE_COUNT_FIELD
    ;
constexpr size_t kHttpCounterFields = kHttpGauges
#define STAMPEDE_COUNT_FIELD(name) +1
    STAMPEDE_HTTP_COUNTERS(STAMPEDE_COUNT_FIELD)
#undef STAMPEDE_COUNT_FIELD
    ;

constexpr EventRing kRings[] = {EventRing::kService, EventRing::kDhcp, EventRing::kHttp};
static_assert(std::size(kRings) == kEventRings);

void Format(std::byte* bytes, uint32_t lcores) {
  auto* header = new (bytes) StatusHeader{};
  for (EventRing ring : kRings) FormatRing(RingBase(bytes, ring));
  new (HttpCountersIn(bytes)) http::HttpCounters{};
  new (DhcpCountersIn(bytes)) dhcp::DhcpCounters{};
  for (uint32_t i = 0; i < lcores; ++i) new (&Counters(bytes)[i]) port::LcoreCounters{};
  for (uint32_t i = 0; i < lcores; ++i) FormatRing(TftpRingBase(bytes, lcores, i));
  header->layout_version = kStatusLayoutVersion;
  header->event_slots = kEventSlots;
  header->record_bytes = kEventRecordBytes;
  header->lcore_count = lcores;
  header->counters_bytes = sizeof(port::LcoreCounters);
  header->http_counters_bytes = sizeof(http::HttpCounters);
  header->dhcp_counters_bytes = sizeof(dhcp::DhcpCounters);
  header->event_rings = kEventRings + lcores;
  header->pid = static_cast<uint32_t>(getpid());
  // The magic last: a reader that sees it sees a complete header.
  std::atomic_thread_fence(std::memory_order_release);
  header->magic = kStatusMagic;
}

}  // namespace

std::string StatusRegionPath(const std::string& instance) {
  return absl::StrCat("/dev/shm/stampede-", instance, "-status");
}

std::vector<std::string> CounterNames() {
  std::vector<std::string> names = {
#define STAMPEDE_COUNTER_NAME(name) #name,
      STAMPEDE_COUNTERS(STAMPEDE_COUNTER_NAME)
#undef STAMPEDE_COUNTER_NAME
  };
  for (std::string_view reason : net::kDropReasonNames)
    names.push_back("drop_" + std::string(reason));
  return names;
}

std::vector<std::string> HttpCounterNames() {
  return {
#define STAMPEDE_COUNTER_NAME(name) #name,
      STAMPEDE_HTTP_COUNTERS(STAMPEDE_COUNTER_NAME)
#undef STAMPEDE_COUNTER_NAME
          "connections_open",
      "listening_port",
  };
}

std::vector<std::string> DhcpCounterNames() {
  return {
#define STAMPEDE_COUNTER_NAME(name) #name,
      STAMPEDE_DHCP_COUNTERS(STAMPEDE_COUNTER_NAME)
#undef STAMPEDE_COUNTER_NAME
  };
}

const char* EventRingName(EventRing ring) {
  switch (ring) {
    case EventRing::kService:
      return "service";
    case EventRing::kDhcp:
      return "dhcp";
    case EventRing::kHttp:
      return "http";
  }
  return "unknown";
}

absl::StatusOr<StatusWriter> StatusWriter::Create(const std::string& path, uint32_t lcores) {
  if (lcores == 0 || lcores > kMaxStatusLcores) {
    return absl::InvalidArgumentError(absl::StrCat("status region for ", lcores, " lcores"));
  }
  size_t size = StatusRegionSize(lcores);
  // A new file replaces the old one, so a control plane still holding the
  // previous dataplane's mapping sees it is stale (inode changed) and reopens.
  std::string temporary = absl::StrCat(path, ".new");
  int fd = open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(temporary);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status status = Errno(temporary);
    close(fd);
    return status;
  }
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return Errno(temporary);
  auto* bytes = static_cast<std::byte*>(data);
  Format(bytes, lcores);
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    absl::Status status = Errno(path);
    munmap(data, size);
    unlink(temporary.c_str());
    return status;
  }
  return StatusWriter(bytes, size, lcores, true, path);
}

StatusWriter StatusWriter::Over(std::span<std::byte> memory, uint32_t lcores) {
  Format(memory.data(), lcores);
  return StatusWriter(memory.data(), memory.size(), lcores, false, "");
}

void StatusWriter::Remove() {
  if (!path_.empty()) unlink(path_.c_str());
}

StatusWriter::StatusWriter(StatusWriter&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(other.size_),
      lcores_(other.lcores_),
      owned_(other.owned_),
      path_(std::move(other.path_)) {}

StatusWriter::~StatusWriter() {
  if (owned_ && data_ != nullptr) munmap(data_, size_);
}

std::span<port::LcoreCounters> StatusWriter::counters() const { return {Counters(data_), lcores_}; }

http::HttpCounters& StatusWriter::http_counters() const { return *HttpCountersIn(data_); }
dhcp::DhcpCounters& StatusWriter::dhcp_counters() const { return *DhcpCountersIn(data_); }

namespace {

// A dropped event: counted in the total (every producer's, so atomic) and in
// `own`, which only this ring's producer writes.
void CountDrop(StatusHeader& header, std::atomic<uint64_t>& own) {
  header.events_dropped.fetch_add(1, std::memory_order_relaxed);
  own.store(own.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

bool StatusWriter::Push(std::span<const std::byte> event, EventRing ring) {
  if (PushTo(RingBase(data_, ring), event)) return true;
  CountDrop(header(), header().ring_events_dropped[static_cast<size_t>(ring)]);
  return false;
}

bool StatusWriter::PushTftp(std::span<const std::byte> event, uint32_t lcore) {
  if (lcore >= lcores_) return false;
  if (PushTo(TftpRingBase(data_, lcores_, lcore), event)) return true;
  CountDrop(header(), Counters(data_)[lcore].events_dropped);
  return false;
}

absl::StatusOr<StatusReader> StatusReader::Attach(std::span<std::byte> region) {
  if (region.size() < StatusRegionSize(0) ||
      reinterpret_cast<uintptr_t>(region.data()) % alignof(StatusHeader) != 0) {
    return absl::DataLossError("status region is smaller than its fixed part");
  }
  const auto* header = reinterpret_cast<const StatusHeader*>(region.data());
  if (header->magic != kStatusMagic) return absl::DataLossError("not a stampede status region");
  if (header->layout_version != kStatusLayoutVersion || header->event_slots != kEventSlots ||
      header->record_bytes != kEventRecordBytes ||
      header->counters_bytes != sizeof(port::LcoreCounters) ||
      header->http_counters_bytes != sizeof(http::HttpCounters) ||
      header->dhcp_counters_bytes != sizeof(dhcp::DhcpCounters) ||
      header->event_rings != kEventRings + header->lcore_count) {
    return absl::FailedPreconditionError(
        "status region layout differs from this build's (dataplane and control versions differ)");
  }
  uint32_t lcores = header->lcore_count;
  if (lcores > kMaxStatusLcores || StatusRegionSize(lcores) > region.size()) {
    return absl::DataLossError(absl::StrCat("status region too small for ", lcores, " lcores"));
  }
  return StatusReader(region.data(), region.size(), lcores, false, 0, "");
}

absl::StatusOr<StatusReader> StatusReader::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno(path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    return absl::DataLossError(absl::StrCat(path, ": empty"));
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return Errno(path);
  absl::StatusOr<StatusReader> attached = Attach({static_cast<std::byte*>(data), size});
  if (!attached.ok()) {
    munmap(data, size);
    return absl::Status(attached.status().code(),
                        absl::StrCat(path, ": ", attached.status().message()));
  }
  return StatusReader(static_cast<std::byte*>(data), size, attached->lcores_, true, st.st_ino,
                      path);
}

StatusReader::StatusReader(StatusReader&& other) noexcept { *this = std::move(other); }

StatusReader& StatusReader::operator=(StatusReader&& other) noexcept {
  if (this == &other) return *this;
  if (mapped_ && data_ != nullptr) munmap(data_, size_);
  data_ = std::exchange(other.data_, nullptr);
  size_ = other.size_;
  lcores_ = other.lcores_;
  mapped_ = std::exchange(other.mapped_, false);
  inode_ = other.inode_;
  path_ = std::move(other.path_);
  bad_records_ = other.bad_records_;
  return *this;
}

StatusReader::~StatusReader() {
  if (mapped_ && data_ != nullptr) munmap(data_, size_);
}

bool StatusReader::Stale() const {
  struct stat st {};
  return mapped_ && (stat(path_.c_str(), &st) != 0 || st.st_ino != inode_);
}

StatusSnapshot StatusReader::Snapshot() const {
  const StatusHeader& h = header();
  StatusSnapshot s;
  s.pid = h.pid;
  s.heartbeat_ns = h.heartbeat_ns.load(std::memory_order_acquire);
  s.policy_state =
      h.policy_state.load(std::memory_order_relaxed) == static_cast<uint32_t>(PolicyState::kServing)
          ? PolicyState::kServing
          : PolicyState::kNone;
  s.applied_generation = h.applied_generation.load(std::memory_order_relaxed);
  s.policies_applied = h.policies_applied.load(std::memory_order_relaxed);
  s.policies_refused = h.policies_refused.load(std::memory_order_relaxed);
  s.refused_generation = h.refused_generation.load(std::memory_order_relaxed);
  s.events_dropped = h.events_dropped.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kEventRings; ++i) {
    s.ring_events_dropped[i] = h.ring_events_dropped[i].load(std::memory_order_relaxed);
  }
  for (uint32_t i = 0; i < lcores_; ++i) {
    s.tftp_events_dropped += Counters(data_)[i].events_dropped.load(std::memory_order_relaxed);
  }
  s.lcores = lcores_;
  return s;
}

std::vector<std::vector<std::byte>> StatusReader::PopEvents(size_t max, EventRing ring) {
  if (static_cast<uint32_t>(ring) >= kEventRings) return {};
  return PopFrom(RingBase(data_, ring), max);
}

std::vector<std::vector<std::byte>> StatusReader::PopTftpEvents(size_t max, uint32_t lcore) {
  if (lcore >= lcores_) return {};
  return PopFrom(TftpRingBase(data_, lcores_, lcore), max);
}

std::vector<std::vector<std::byte>> StatusReader::PopFrom(std::byte* ring, size_t max) {
  std::vector<std::vector<std::byte>> events;
  uint64_t tail = Tail(ring).value.load(std::memory_order_relaxed);
  uint64_t head = Head(ring).value.load(std::memory_order_acquire);
  if (head - tail > kEventSlots) {
    // Impossible for a well-behaved producer: resynchronise rather than read garbage.
    ++bad_records_;
    tail = head;
  }
  while (tail != head && events.size() < max) {
    const EventRecord& record = Records(ring)[tail % kEventSlots];
    uint32_t length = record.length.load(std::memory_order_relaxed);
    if (length > kMaxEventBytes) {
      ++bad_records_;
    } else {
      events.emplace_back(record.data, record.data + length);
    }
    ++tail;
  }
  Tail(ring).value.store(tail, std::memory_order_release);
  return events;
}

std::vector<uint64_t> StatusReader::CounterValues(uint32_t lcore) const {
  std::vector<uint64_t> values;
  if (lcore >= lcores_) return values;
  values.reserve(kCounterFields + net::kDropReasonCount);
  const port::LcoreCounters& c = Counters(data_)[lcore];
#define STAMPEDE_COUNTER_VALUE(name) values.push_back(c.name.load(std::memory_order_relaxed));
  STAMPEDE_COUNTERS(STAMPEDE_COUNTER_VALUE)
#undef STAMPEDE_COUNTER_VALUE
  for (const auto& reason : c.drop_reasons)
    values.push_back(reason.load(std::memory_order_relaxed));
  return values;
}

std::vector<uint64_t> StatusReader::HttpCounterValues() const {
  std::vector<uint64_t> values;
  values.reserve(kHttpCounterFields);
  const http::HttpCounters& c = *HttpCountersIn(data_);
#define STAMPEDE_COUNTER_VALUE(name) values.push_back(c.name.load(std::memory_order_relaxed));
  STAMPEDE_HTTP_COUNTERS(STAMPEDE_COUNTER_VALUE)
#undef STAMPEDE_COUNTER_VALUE
  values.push_back(c.connections_open.load(std::memory_order_relaxed));
  values.push_back(c.listening_port.load(std::memory_order_relaxed));
  return values;
}

std::vector<uint64_t> StatusReader::DhcpCounterValues() const {
  std::vector<uint64_t> values;
  const dhcp::DhcpCounters& c = *DhcpCountersIn(data_);
#define STAMPEDE_COUNTER_VALUE(name) values.push_back(c.name.load(std::memory_order_relaxed));
  STAMPEDE_DHCP_COUNTERS(STAMPEDE_COUNTER_VALUE)
#undef STAMPEDE_COUNTER_VALUE
  return values;
}

}  // namespace stampede::policy
