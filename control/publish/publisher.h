// Publishes serialized policies into the shared-memory region the dataplane
// reads (see dataplane/policy/region.h). One publisher per region: it holds an
// exclusive lock on the file. A restarted publisher continues the generation
// count of the region it finds.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/policy/region.h"

namespace stampede::publish {

class Publisher {
 public:
  // Opens or creates the region at `path` with `capacity` payload bytes per
  // slot; an existing compatible region keeps its generation.
  static absl::StatusOr<Publisher> Open(const std::string& path, uint32_t capacity = 4u << 20);
  Publisher(Publisher&& other) noexcept;
  Publisher& operator=(Publisher&&) = delete;
  ~Publisher();

  // Writes `payload` into the idle slot and makes it the active generation.
  absl::StatusOr<uint64_t> Publish(std::span<const std::byte> payload);
  uint64_t generation() const;

 private:
  Publisher(int fd, std::byte* data, size_t size) : fd_(fd), data_(data), size_(size) {}
  policy::RegionHeader& header() const { return *reinterpret_cast<policy::RegionHeader*>(data_); }
  policy::SlotHeader& slot(uint32_t index) const;

  int fd_;
  std::byte* data_;
  size_t size_;
};

}  // namespace stampede::publish
