// The layout of the shared-memory policy region, shared by the publisher
// (stampede-control) and the reader (the dataplane's service thread):
//
//   RegionHeader | SlotHeader 0 | payload 0 | SlotHeader 1 | payload 1
//
// The writer fills the idle slot, stamps it, then publishes its generation in
// the header with release ordering. The reader copies the active slot and
// checks it afterwards (seqlock style), so a slot rewritten under it, a torn
// write from a killed writer, or scribbled bytes are refused, never applied.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace stampede::policy {

inline constexpr uint64_t kRegionMagic = 0x314c4f5044504d53;  // "SMPDPOL1" little-endian
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr size_t kSlotCount = 2;
// A policy for a large site (thousands of hosts, hundreds of images) is a few
// MiB serialized; 64 MiB per slot leaves room and bounds what a reader copies.
inline constexpr uint32_t kMaxSlotBytes = 64u << 20;

struct alignas(64) RegionHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t slot_capacity;  // payload bytes per slot
  // The latest complete generation; 0 before the first publish.
  std::atomic<uint64_t> generation;
  // Which slot holds `generation`.
  std::atomic<uint32_t> active_slot;
};

struct alignas(64) SlotHeader {
  // The generation this slot holds; 0 while it is being written.
  std::atomic<uint64_t> generation;
  // Atomics (relaxed) because a reader may look while the writer changes them.
  std::atomic<uint32_t> length;
  std::atomic<uint32_t> crc32c;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

constexpr size_t SlotStride(uint32_t capacity) {
  return sizeof(SlotHeader) + ((size_t{capacity} + 63) & ~size_t{63});
}
constexpr size_t RegionSize(uint32_t capacity) {
  return sizeof(RegionHeader) + kSlotCount * SlotStride(capacity);
}

// "/dev/shm/stampede-<instance>-policy".
std::string RegionPath(const std::string& instance);

}  // namespace stampede::policy
