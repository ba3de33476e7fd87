#include "dataplane/dhcp/table_allocator.h"

#include <sys/mman.h>

#include <cstdint>

// Linux 5.14; older headers lack the name.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace stampede::dhcp {
namespace {

size_t RoundUp(size_t bytes) { return (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1); }

}  // namespace

void* AllocateTableMemory(size_t bytes) {
  if (bytes < kHugePageBytes) return ::operator new(bytes);
  // One huge page more than needed, then the ends cut off: the kernel only
  // backs 2 MiB-aligned ranges with huge pages.
  size_t length = RoundUp(bytes);
  void* mapped = mmap(nullptr, length + kHugePageBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  auto begin = reinterpret_cast<uintptr_t>(mapped);
  uintptr_t aligned = (begin + kHugePageBytes - 1) & ~uintptr_t{kHugePageBytes - 1};
  if (aligned > begin) munmap(mapped, aligned - begin);
  size_t tail = begin + length + kHugePageBytes - (aligned + length);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
  // Only a hint: with THP off, 4 KiB pages as before.
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  // Faulted in now, not by the inserts that follow: room made ahead of a
  // boot storm (LeaseTable::Reserve) then costs the storm no page fault.
  // Best effort: an older kernel leaves the faults to the first writes.
  madvise(reinterpret_cast<void*>(aligned), length, MADV_POPULATE_WRITE);
  return reinterpret_cast<void*>(aligned);
}

void FreeTableMemory(void* memory, size_t bytes) noexcept {
  if (bytes < kHugePageBytes) {
    ::operator delete(memory);
    return;
  }
  munmap(memory, RoundUp(bytes));
}

}  // namespace stampede::dhcp
