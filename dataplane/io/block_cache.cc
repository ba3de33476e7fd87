#include "dataplane/io/block_cache.h"

#include <rte_cycles.h>
#include <rte_mbuf.h>

namespace stampede::io {
namespace {

// The cache's own reference: never dropped, so a block's memory is never
// handed to the external-buffer free callback.
void NeverFreed(void*, void*) {}

uint64_t Mix(uint64_t key) {
  // splitmix64's finaliser: neighbouring blocks of one file land in
  // different sets.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebULL;
  return key ^ (key >> 31);
}

}  // namespace

BlockCache::BlockCache(std::byte* memory, size_t bytes, IovaOf iova_of,
                       uint64_t failure_backoff_cycles)
    : memory_(memory),
      slot_count_(static_cast<uint32_t>(bytes / kCacheBlockBytes / kWays * kWays)),
      set_count_(slot_count_ / kWays),
      slots_(std::make_unique<Slot[]>(slot_count_)),
      sets_(std::make_unique<Set[]>(set_count_)),
      iovas_(std::make_unique<uint64_t[]>(slot_count_)),
      has_iova_(iova_of != nullptr),
      failure_backoff_cycles_(failure_backoff_cycles) {
  for (uint32_t i = 0; i < slot_count_; ++i) {
    iovas_[i] = iova_of != nullptr ? iova_of(data(i)) : RTE_BAD_IOVA;
    if (iovas_[i] == RTE_BAD_IOVA) has_iova_ = false;
    slots_[i].shared.free_cb = NeverFreed;
    slots_[i].shared.fcb_opaque = nullptr;
    rte_mbuf_ext_refcnt_set(&slots_[i].shared, 1);
  }
  for (uint32_t i = 0; i < set_count_; ++i) rte_spinlock_init(&sets_[i].lock);
}

std::optional<BlockCache::Pin> BlockCache::Acquire(uint64_t key) {
  if (set_count_ == 0) return std::nullopt;
  uint32_t set_index = static_cast<uint32_t>(Mix(key) % set_count_);
  Set& set = sets_[set_index];
  uint32_t first = set_index * kWays;
  rte_spinlock_lock(&set.lock);
  ++set.clock;
  uint32_t victim = UINT32_MAX;
  uint64_t oldest = UINT64_MAX;
  for (uint32_t slot = first; slot < first + kWays; ++slot) {
    Slot& s = slots_[slot];
    // Acquire: a block another worker completed is read after this.
    State state = s.state.load(std::memory_order_acquire);
    bool unpinned = rte_mbuf_ext_refcnt_read(&s.shared) == 1;
    // A failure stands for a while (every asker fails) before a new read.
    bool retry =
        state == State::kFailed && unpinned && rte_rdtsc() - s.failed_at >= failure_backoff_cycles_;
    if (s.key == key && !retry) {
      rte_mbuf_ext_refcnt_update(&s.shared, 1);
      s.last_use = set.clock;
      rte_spinlock_unlock(&set.lock);
      return Pin{slot, state, false};
    }
    if (state == State::kLoading || !unpinned) continue;
    uint64_t age = state == State::kEmpty || s.key == key ? 0 : s.last_use;
    if (age < oldest || victim == UINT32_MAX) {
      oldest = age;
      victim = slot;
    }
  }
  if (victim == UINT32_MAX) {
    rte_spinlock_unlock(&set.lock);
    return std::nullopt;
  }
  Slot& s = slots_[victim];
  s.key = key;
  s.length = 0;
  s.last_use = set.clock;
  s.state.store(State::kLoading, std::memory_order_relaxed);
  rte_mbuf_ext_refcnt_update(&s.shared, 1);
  rte_spinlock_unlock(&set.lock);
  return Pin{victim, State::kLoading, true};
}

void BlockCache::Complete(uint32_t slot, int32_t result) {
  Slot& s = slots_[slot];
  s.length = result > 0 ? static_cast<uint32_t>(result) : 0;
  if (result < 0) s.failed_at = rte_rdtsc();
  s.state.store(result >= 0 ? State::kReady : State::kFailed, std::memory_order_release);
  Release(slot);
  completions_.fetch_add(1, std::memory_order_release);
}

void BlockCache::Abandon(uint32_t slot) {
  Slot& s = slots_[slot];
  Set& set = sets_[slot / kWays];
  rte_spinlock_lock(&set.lock);
  s.key = UINT64_MAX;
  s.state.store(State::kEmpty, std::memory_order_relaxed);
  rte_mbuf_ext_refcnt_update(&s.shared, -1);
  rte_spinlock_unlock(&set.lock);
}

void BlockCache::Release(uint32_t slot) { rte_mbuf_ext_refcnt_update(&slots_[slot].shared, -1); }

}  // namespace stampede::io
