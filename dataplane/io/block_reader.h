// A worker's io_uring for cache misses: reads of 64 KiB blocks straight into
// the block cache's hugepage memory (registered buffers), from fixed files
// (each registry id is a slot of the ring's sparse file table, filled the
// first time the worker reads that file). Queued reads go to the kernel in
// one submit per poll; completions are reaped in the poll loop and never
// waited for.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/io/block_cache.h"
#include "dataplane/io/file_registry.h"

namespace stampede::io {

class BlockReader {
 public:
  // `entries`: reads in flight at most.
  static absl::StatusOr<std::unique_ptr<BlockReader>> Create(BlockCache& cache,
                                                             const FileRegistry& files,
                                                             unsigned entries);
  ~BlockReader();

  // Room for one more read this poll.
  bool HasRoom() const { return queued_ + in_flight_ < entries_; }
  // Queues the read of cache block `block` of file `id` into the cache's
  // `slot` (claimed by Acquire with load=true). Completes the slot as failed
  // at once if the read cannot even be queued.
  void Queue(uint32_t id, uint64_t block, uint32_t slot);
  // Hands what was queued to the kernel (one syscall).
  void Submit();
  // Completes finished reads in the cache; returns how many.
  uint32_t Reap();

  bool registered_buffers() const { return registered_buffers_; }
  uint64_t reads() const { return reads_; }
  uint64_t read_errors() const { return read_errors_; }

 private:
  BlockReader(BlockCache& cache, const FileRegistry& files, unsigned entries)
      : cache_(cache), files_(files), entries_(entries) {}

  BlockCache& cache_;
  const FileRegistry& files_;
  io_uring ring_{};
  bool ring_ready_ = false;
  unsigned entries_;
  unsigned queued_ = 0;
  unsigned in_flight_ = 0;
  bool registered_buffers_ = false;
  bool fixed_files_ = false;
  std::vector<uint8_t> file_registered_;
  // Expected length of each slot's read (a short read is an error).
  std::vector<uint32_t> expected_;
  uint64_t reads_ = 0;
  uint64_t read_errors_ = 0;
};

}  // namespace stampede::io
