// Memory for the DHCP worker's big tables (leases, clients, rate buckets):
// regions of 2 MiB and more in transparent huge pages, so a boot storm's
// random lookups walk few TLB entries and a table's growth takes a page
// fault per 2 MiB, not per 4 KiB. Smaller ones come from the heap.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

namespace stampede::dhcp {

// x86-64's huge page; tables smaller than this stay on the heap.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` aligned for any table entry (at least alignof(std::max_align_t)).
void* AllocateTableMemory(size_t bytes);
// Gives back what AllocateTableMemory(bytes) returned.
void FreeTableMemory(void* memory, size_t bytes) noexcept;

template <typename T>
class TableAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= alignof(std::max_align_t));

  TableAllocator() = default;
  template <typename U>
  TableAllocator(const TableAllocator<U>&) {}  // NOLINT(runtime/explicit): rebinding

  T* allocate(size_t n) { return static_cast<T*>(AllocateTableMemory(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { FreeTableMemory(p, n * sizeof(T)); }

  template <typename U>
  friend bool operator==(const TableAllocator&, const TableAllocator<U>&) {
    return true;
  }
};

// A hash map whose slots are in table memory.
template <typename K, typename V>
using TableMap = absl::flat_hash_map<K, V, absl::Hash<K>, std::equal_to<K>,
                                     TableAllocator<std::pair<const K, V>>>;

}  // namespace stampede::dhcp
