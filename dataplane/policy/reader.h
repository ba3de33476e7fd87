// Reads the latest policy bytes from a shared-memory region written by the
// publisher. Never trusts the region: every length, checksum and generation
// is checked, and a read racing a writer is retried a bounded number of times.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stampede::policy {

enum class ReadOutcome {
  kNew,        // a new generation was copied out
  kUnchanged,  // the generation is the one already applied
  kEmpty,      // nothing published yet
};

struct ReadResult {
  ReadOutcome outcome = ReadOutcome::kEmpty;
  uint64_t generation = 0;
  std::vector<std::byte> payload;  // when kNew
};

// How often a read that raced a writer is retried before it gives up.
inline constexpr int kReadRetries = 16;

// Reads from `region` (the whole mapped region). Errors (refused, counted by
// the caller): a bad magic/version/capacity, a length past the slot, a CRC
// mismatch, or a slot still changing after kReadRetries attempts.
absl::StatusOr<ReadResult> ReadRegion(std::span<const std::byte> region, uint64_t last_generation);

// A read-only mapping of an instance's region file.
class RegionMapping {
 public:
  static absl::StatusOr<RegionMapping> Open(const std::string& path);
  RegionMapping(RegionMapping&& other) noexcept;
  RegionMapping& operator=(RegionMapping&&) = delete;
  ~RegionMapping();

  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  RegionMapping(const std::byte* data, size_t size) : data_(data), size_(size) {}
  const std::byte* data_;
  size_t size_;
};

}  // namespace stampede::policy
