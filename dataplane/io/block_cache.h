// The block cache shared by every worker: file bytes in fixed 64 KiB blocks
// in hugepage memory, so a thousand clients fetching one initrd read it from
// disk once. Set-associative (8 ways) with one spinlock per set, taken once
// per block a session moves into, never per packet. Each block's pin count is
// the reference count of its DPDK external-buffer descriptor: the cache holds
// one reference, a session pins while it builds frames, and every frame sent
// out of the block holds one until the driver frees it, so a block is only
// reused when nobody (no session, no frame in a TX ring) still points at it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <rte_mbuf_core.h>
#include <rte_spinlock.h>

namespace stampede::io {

inline constexpr uint32_t kCacheBlockBytes = 64 * 1024;

class BlockCache {
 public:
  static constexpr uint32_t kWays = 8;
  enum class State : uint8_t { kEmpty, kLoading, kReady, kFailed };

  // The IOVA of a byte of the cache's memory (rte_malloc_virt2iova), or
  // none (RTE_BAD_IOVA for every block: only virtual-address ports).
  using IovaOf = uint64_t (*)(const void*);
  // `memory` (kCacheBlockBytes-aligned, `bytes` long) holds the blocks; it
  // outlives the cache. A block whose read failed answers kFailed to
  // everyone for `failure_backoff_cycles` (TSC) before it is read again.
  BlockCache(std::byte* memory, size_t bytes, IovaOf iova_of = nullptr,
             uint64_t failure_backoff_cycles = 0);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Block `block` (64 KiB units) of registered file `uid`.
  static uint64_t Key(uint32_t uid, uint64_t block) { return uint64_t{uid} << 40 | block; }

  struct Pin {
    uint32_t slot;
    State state;
    bool load;  // a miss: the caller reads the block in and calls Complete()
  };
  // Pins the slot holding `key`, or claims one for it (kLoading, load=true)
  // evicting the least recently used unpinned block of its set. A failed
  // block nobody pins any more is claimed again (the read is retried).
  // nullopt: every way of the set is pinned or loading.
  std::optional<Pin> Acquire(uint64_t key);
  // The read of `slot` finished: `result` bytes, or -errno. Publishes the
  // bytes (release) and drops the loader's pin.
  void Complete(uint32_t slot, int32_t result);
  // A claimed slot (load=true) that will not be read after all: empty again.
  void Abandon(uint32_t slot);
  void Release(uint32_t slot);

  State state(uint32_t slot) const { return slots_[slot].state.load(std::memory_order_acquire); }
  uint32_t length(uint32_t slot) const { return slots_[slot].length; }
  std::byte* data(uint32_t slot) const { return memory_ + size_t{slot} * kCacheBlockBytes; }
  // The block's bus address: a block never crosses a hugepage, the cache
  // may (memory is not IOVA-contiguous), so each block has its own.
  uint64_t iova(uint32_t slot) const { return iovas_[slot]; }
  bool has_iova() const { return has_iova_; }
  rte_mbuf_ext_shared_info* shared(uint32_t slot) { return &slots_[slot].shared; }
  uint32_t slots() const { return slot_count_; }
  std::byte* memory() const { return memory_; }
  // Reads completed so far: a worker whose sessions wait on blocks looks
  // again when this moves.
  uint64_t completions() const { return completions_.load(std::memory_order_acquire); }
  size_t bytes() const { return size_t{slot_count_} * kCacheBlockBytes; }

 private:
  struct alignas(64) Slot {
    uint64_t key = UINT64_MAX;
    uint64_t last_use = 0;
    uint32_t length = 0;
    uint64_t failed_at = 0;  // TSC of the failed read
    std::atomic<State> state{State::kEmpty};
    rte_mbuf_ext_shared_info shared{};
  };
  struct alignas(64) Set {
    rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
    uint64_t clock = 0;
  };

  std::byte* memory_;
  uint32_t slot_count_;
  uint32_t set_count_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<Set[]> sets_;
  std::unique_ptr<uint64_t[]> iovas_;
  bool has_iova_ = false;
  uint64_t failure_backoff_cycles_;
  std::atomic<uint64_t> completions_{0};
};

}  // namespace stampede::io
