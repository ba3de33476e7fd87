#include "control/publish/publisher.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "absl/strings/str_cat.h"
#include "dataplane/policy/crc32c.h"

namespace stampede::publish {
namespace {

using policy::RegionHeader;
using policy::SlotHeader;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

bool Compatible(const std::byte* data, size_t size, uint32_t capacity) {
  if (size != policy::RegionSize(capacity)) return false;
  const auto* header = reinterpret_cast<const RegionHeader*>(data);
  return header->magic == policy::kRegionMagic &&
         header->layout_version == policy::kLayoutVersion && header->slot_capacity == capacity &&
         header->active_slot.load() < policy::kSlotCount;
}

// Failpoint for the crash tests (tests/integration/control_test.py): with
// STAMPEDE_FAILPOINT_PUBLISH_PAUSE_MS set, a publish stops half way through
// the slot for that long, so a test's SIGKILL can land in the middle of it.
// Unset (always, outside tests) it costs one getenv per publish.
void PauseForTests() {
  const char* pause = std::getenv("STAMPEDE_FAILPOINT_PUBLISH_PAUSE_MS");
  if (pause == nullptr) return;
  int ms = std::atoi(pause);
  if (ms > 0 && ms <= 10000) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

absl::StatusOr<Publisher> Publisher::Open(const std::string& path, uint32_t capacity) {
  if (capacity == 0 || capacity > policy::kMaxSlotBytes) {
    return absl::InvalidArgumentError(absl::StrCat("slot capacity ", capacity, " out of range"));
  }
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": another publisher (stampede-control) holds this region"));
  }
  struct stat st {};
  fstat(fd, &st);
  size_t size = policy::RegionSize(capacity);
  bool fresh = static_cast<size_t>(st.st_size) != size;
  if (fresh && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status status = Errno(path);
    close(fd);
    return status;
  }
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    absl::Status status = Errno(path);
    close(fd);
    return status;
  }
  auto* bytes = static_cast<std::byte*>(data);
  if (fresh || !Compatible(bytes, size, capacity)) {
    std::memset(bytes, 0, size);
    auto* header = new (bytes) RegionHeader{};
    header->layout_version = policy::kLayoutVersion;
    header->slot_capacity = capacity;
    header->generation.store(0);
    header->active_slot.store(0);
    std::atomic_thread_fence(std::memory_order_release);
    // The magic goes last: a reader never sees a half-initialised header as valid.
    header->magic = policy::kRegionMagic;
  }
  return Publisher(fd, bytes, size);
}

Publisher::Publisher(Publisher&& other) noexcept
    : fd_(other.fd_), data_(other.data_), size_(other.size_) {
  other.fd_ = -1;
  other.data_ = nullptr;
}

Publisher::~Publisher() {
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);  // releases the lock
}

SlotHeader& Publisher::slot(uint32_t index) const {
  return *reinterpret_cast<SlotHeader*>(data_ + sizeof(RegionHeader) +
                                        index * policy::SlotStride(header().slot_capacity));
}

uint64_t Publisher::generation() const { return header().generation.load(); }

absl::StatusOr<uint64_t> Publisher::Publish(std::span<const std::byte> payload) {
  RegionHeader& h = header();
  if (payload.size() > h.slot_capacity) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "policy of ", payload.size(), " bytes exceeds the slot capacity of ", h.slot_capacity));
  }
  uint64_t current = h.generation.load(std::memory_order_relaxed);
  uint64_t next = current + 1;
  uint32_t idle = current == 0 ? 0 : 1 - h.active_slot.load(std::memory_order_relaxed);
  SlotHeader& s = slot(idle);
  s.generation.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  if (!payload.empty()) {
    auto* out = reinterpret_cast<std::byte*>(&s) + sizeof(SlotHeader);
    size_t half = payload.size() / 2;
    std::memcpy(out, payload.data(), half);
    PauseForTests();
    std::memcpy(out + half, payload.data() + half, payload.size() - half);
  }
  s.length.store(static_cast<uint32_t>(payload.size()), std::memory_order_relaxed);
  s.crc32c.store(policy::Crc32c(payload), std::memory_order_relaxed);
  s.generation.store(next, std::memory_order_release);
  h.active_slot.store(idle, std::memory_order_release);
  h.generation.store(next, std::memory_order_release);
  return next;
}

}  // namespace stampede::publish
