#include "dataplane/policy/reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/policy/crc32c.h"
#include "dataplane/policy/region.h"

namespace stampede::policy {

std::string RegionPath(const std::string& instance) {
  return absl::StrCat("/dev/shm/stampede-", instance, "-policy");
}

absl::StatusOr<ReadResult> ReadRegion(std::span<const std::byte> region, uint64_t last_generation) {
  if (region.size() < sizeof(RegionHeader) ||
      reinterpret_cast<uintptr_t>(region.data()) % alignof(RegionHeader) != 0) {
    return absl::DataLossError("policy region is smaller than its header");
  }
  const auto* header = reinterpret_cast<const RegionHeader*>(region.data());
  if (header->magic != kRegionMagic) {
    return absl::DataLossError("not a stampede policy region (bad magic)");
  }
  if (header->layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat("policy region layout ",
                                                      header->layout_version,
                                                      ", this dataplane reads ", kLayoutVersion));
  }
  uint32_t capacity = header->slot_capacity;
  if (capacity == 0 || capacity > kMaxSlotBytes || RegionSize(capacity) > region.size()) {
    return absl::DataLossError(
        absl::StrCat("policy region slot capacity ", capacity, " does not fit the region"));
  }
  for (int attempt = 0; attempt < kReadRetries; ++attempt) {
    uint64_t generation = header->generation.load(std::memory_order_acquire);
    if (generation == 0) return ReadResult{ReadOutcome::kEmpty, 0, {}};
    if (generation == last_generation) return ReadResult{ReadOutcome::kUnchanged, generation, {}};
    uint32_t index = header->active_slot.load(std::memory_order_acquire);
    if (index >= kSlotCount)
      return absl::DataLossError("policy region names a slot that is not there");
    const std::byte* base = region.data() + sizeof(RegionHeader) + index * SlotStride(capacity);
    const auto* slot = reinterpret_cast<const SlotHeader*>(base);
    if (slot->generation.load(std::memory_order_acquire) != generation) continue;  // mid-publish
    uint32_t length = slot->length.load(std::memory_order_relaxed);
    uint32_t crc = slot->crc32c.load(std::memory_order_relaxed);
    if (length > capacity) {
      if (slot->generation.load(std::memory_order_acquire) != generation) continue;
      return absl::DataLossError(absl::StrCat("policy generation ", generation, " claims ", length,
                                              " bytes in a slot of ", capacity));
    }
    ReadResult result{ReadOutcome::kNew, generation, std::vector<std::byte>(length)};
    // An empty vector's data() may be null, which memcpy must never get.
    if (length > 0) std::memcpy(result.payload.data(), base + sizeof(SlotHeader), length);
    // Seqlock check: the copy counts only if the slot was not restamped meanwhile.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot->generation.load(std::memory_order_relaxed) != generation) continue;
    if (Crc32c(result.payload) != crc) {
      return absl::DataLossError(
          absl::StrCat("policy generation ", generation, " fails its CRC32C (corrupt slot)"));
    }
    return result;
  }
  return absl::UnavailableError(
      absl::StrCat("policy region kept changing during ", kReadRetries, " reads"));
}

absl::StatusOr<RegionMapping> RegionMapping::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(RegionHeader))) {
    close(fd);
    return absl::DataLossError(absl::StrCat(path, ": too small for a policy region"));
  }
  void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (data == MAP_FAILED)
    return absl::InternalError(absl::StrCat(path, ": mmap: ", std::strerror(errno)));
  return RegionMapping(static_cast<const std::byte*>(data), static_cast<size_t>(st.st_size));
}

RegionMapping::RegionMapping(RegionMapping&& other) noexcept
    : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

RegionMapping::~RegionMapping() {
  if (data_ != nullptr) munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace stampede::policy
